"""The ledger: one row per request, in arrival order, in a bounded ring buffer.

Times are seconds on the server's monotonic clock (``arrival_s``, ``finish_s``), so a grader can
measure gaps between attempts without trusting any client clock. Token counts are those the
response reported to the client (0 for errors and for streams cut before their usage arrived);
``usage_reported`` says whether the client was told.
"""

from __future__ import annotations

import time
from collections import deque
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
    paper_ids: list[str]
    fingerprint: str
    attempt: int
    stream: bool
    in_flight: int
    retry_count: int | None
    api_key: str | None
    fault: str = "none"
    delay_ms: float = 0.0
    status: int | None = None
    finish_s: float | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    usage_reported: bool = False
    cost_usd: float = 0.0
    client_gone: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Ledger:
    """A ring buffer of rows plus the count of rows it has dropped, and the in-flight count."""

    capacity: int = DEFAULT_CAPACITY
    started_at: float = field(default_factory=time.monotonic)
    rows: deque[LedgerRow] = field(init=False)
    dropped: int = 0
    in_flight: int = 0
    _next_id: int = 1

    def __post_init__(self) -> None:
        self.rows = deque(maxlen=self.capacity)

    def now_s(self) -> float:
        """Seconds since the server started, on the monotonic clock."""
        return time.monotonic() - self.started_at

    def open(self, **fields: Any) -> LedgerRow:
        """Record a request's arrival; it counts as in flight until :meth:`close`."""
        self.in_flight += 1
        row = LedgerRow(id=self._next_id, arrival_s=self.now_s(), in_flight=self.in_flight, **fields)
        self._next_id += 1
        if len(self.rows) == self.capacity:
            self.dropped += 1
        self.rows.append(row)
        return row

    def close(self, row: LedgerRow) -> None:
        """Record a request's end."""
        self.in_flight -= 1
        row.finish_s = self.now_s()

    def clear(self) -> None:
        self.rows.clear()
        self.dropped = 0

    def snapshot(self, since_id: int = 0) -> dict[str, Any]:
        rows = [row.as_dict() for row in self.rows if row.id > since_id]
        return {"now_s": self.now_s(), "dropped": self.dropped, "in_flight": self.in_flight,
                "rows": rows}
