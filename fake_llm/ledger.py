"""The ledger: one row per request, in arrival order, in a bounded ring buffer.

Times are seconds on the server's monotonic clock (``arrival_s``, ``finish_s``), so a grader can
measure gaps between attempts without trusting any client clock. ``finish_s`` is the moment the
response's last message was handed to the transport, never later (a response cut short, or a
request whose client left: when the exchange ended), so a wait measured from it to the next
arrival holds no time the server spent after the client could have the response. Token counts
are those the response reported to the client (0 for errors and for streams cut before their
usage arrived); ``usage_reported`` says whether the client was told.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_CAPACITY = 10_000


@dataclass(slots=True)
class LedgerRow:
    """One request as the server saw it."""

    id: int
    arrival_s: float
    provider: str
    model: str
    task: str
    paper_ids: tuple[str, ...]
    fingerprint: str
    attempt: int
    stream: bool
    in_flight: int
    retry_count: int | None
    api_key: str | None
    tick: int = 0
    phase: str = "clear"
    fault: str = "none"
    delay_ms: float = 0.0
    status: int | None = None
    finish_s: float | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    usage_reported: bool = False
    cost_usd: float = 0.0
    client_gone: bool = False
    tool_calls: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a request ended, as its response left it; :meth:`Ledger.close` writes it to the row.

    ``status`` None: the server sent no status (a reset, a hang, or a client gone before it).
    """

    status: int | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    usage_reported: bool = False
    client_gone: bool = False
    tool_calls: tuple[str, ...] = ()  # the names of the tools the reply called, in order


NO_OUTCOME = Outcome()
"""The outcome of a request that ended before its response began (status None)."""


def _blank_row() -> LedgerRow:
    """A closed, empty row, ready to be reused."""
    return LedgerRow(id=0, arrival_s=0.0, provider="", model="", task="", paper_ids=(), fingerprint="",
                     attempt=0, stream=False, in_flight=0, retry_count=None, api_key=None, finish_s=0.0)


@dataclass
class Ledger:
    """A ring buffer of rows plus the count of rows it has dropped, and the in-flight count.

    The ring's rows are allocated up front and reused in place once closed, so the ledger's
    memory is fixed when the server starts rather than growing until the ring is full. A row
    still in flight when its slot comes round again is left to its request and replaced.
    """

    capacity: int = DEFAULT_CAPACITY
    started_at: float = field(default_factory=time.monotonic)
    dropped: int = 0
    in_flight: int = 0
    _slots: list[LedgerRow] = field(init=False)
    _first_id: int = 1  # the oldest id the ring still holds
    _next_id: int = 1

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"the ledger needs room for at least 1 row, not {self.capacity}")
        self._slots = [_blank_row() for _ in range(self.capacity)]

    @property
    def rows(self) -> list[LedgerRow]:
        """The rows the ring holds, oldest first."""
        return [self._slots[i % self.capacity] for i in range(self._first_id, self._next_id)]

    def now_s(self) -> float:
        """Seconds since the server started, on the monotonic clock."""
        return time.monotonic() - self.started_at

    def open(self, received_at: float | None = None, **fields: Any) -> LedgerRow:
        """Record a request's arrival; it counts as in flight until :meth:`close`.

        ``received_at`` is when its bytes reached the server (``time.monotonic()``); default now.
        """
        self.in_flight += 1
        # A row's strings repeat from row to row: interned, the ring holds one copy of each.
        for key in ("fingerprint", "api_key"):
            if isinstance(fields.get(key), str):
                fields[key] = sys.intern(fields[key])
        fields["paper_ids"] = tuple(map(sys.intern, fields.get("paper_ids", ())))
        arrival_s = self.now_s() if received_at is None else received_at - self.started_at
        row_id = self._next_id
        self._next_id += 1
        if row_id - self._first_id == self.capacity:
            self._first_id += 1
            self.dropped += 1
        index = row_id % self.capacity
        row = self._slots[index]
        if row.finish_s is None:  # still in flight: its request keeps it, the ring takes a new one
            row = self._slots[index] = LedgerRow(id=row_id, arrival_s=arrival_s,
                                                 in_flight=self.in_flight, **fields)
        else:
            LedgerRow.__init__(row, id=row_id, arrival_s=arrival_s, in_flight=self.in_flight, **fields)
        return row

    def close(self, row: LedgerRow, outcome: Outcome = NO_OUTCOME, finish_s: float | None = None) -> None:
        """Record a request's end and how it ended: the one place a row is written after it opens.

        ``finish_s`` is when the response's end was handed over, on this ledger's clock (default:
        now); the row counts as in flight until this call all the same.
        """
        self.in_flight -= 1
        row.status, row.usage_reported, row.client_gone = (outcome.status, outcome.usage_reported,
                                                           outcome.client_gone)
        row.tokens_in, row.tokens_out, row.cost_usd = outcome.tokens_in, outcome.tokens_out, outcome.cost_usd
        row.tool_calls = outcome.tool_calls
        row.finish_s = self.now_s() if finish_s is None else finish_s

    def clear(self) -> None:
        """Forget every row (ids carry on from where they were)."""
        self._first_id = self._next_id
        self.dropped = 0

    def snapshot(self, since_id: int = 0) -> dict[str, Any]:
        rows = [row.as_dict() for row in self.rows if row.id > since_id]
        return {"now_s": self.now_s(), "dropped": self.dropped, "in_flight": self.in_flight,
                "rows": rows}
