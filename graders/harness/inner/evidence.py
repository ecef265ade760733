"""The ``evidence`` fixture: what a check injected, what it observed, and the LLM calls it saw.

The plugin turns an :class:`Evidence` into the check's record once the check has ended, so a
check only says what it did; the ledger rows it looked at (and every row of the check, fetched
again at its end) become the report's timeline.
"""

from __future__ import annotations

from typing import Any, Protocol

TIMELINE_ROWS_MAX = 400
_ROW_KEYS = ("id", "arrival_s", "finish_s", "provider", "model", "task", "paper_ids", "attempt",
             "fault", "status", "client_gone", "in_flight", "retry_count", "stream", "tokens_in",
             "tokens_out", "cost_usd", "fingerprint")


class LedgerSource(Protocol):
    """What Evidence needs from the fake LLM's admin client (fake_llm.runner.Admin fits)."""

    def ledger(self, since_id: int = 0) -> list[dict[str, Any]]: ...

    def ledger_snapshot(self, since_id: int = 0) -> dict[str, Any]: ...


def _trim(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row.get(key) for key in _ROW_KEYS}


class Evidence:
    """Collects one check's evidence. The fake LLM was reset just before the check started."""

    def __init__(self, admin: LedgerSource) -> None:
        self._admin = admin
        self.injected_notes: list[str] = []
        self.observed_notes: list[str] = []
        self.credit_share: float = 1.0
        self._rows: dict[int, dict[str, Any]] = {}
        self.now_s: float | None = None  # the server's clock at the last capture

    def injected(self, text: str) -> None:
        """Say what the check made the fake LLM (or the client) do, in plain words."""
        self.injected_notes.append(str(text))

    def observed(self, text: str) -> None:
        """Say what the app did: statuses, attempts, timings on the server's clock."""
        self.observed_notes.append(str(text))

    def credit(self, share: float) -> None:
        """Partial credit: a passing check earns ``share`` (0..1) of its points (default 1)."""
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"credit share must be within 0..1, got {share!r}")
        self.credit_share = float(share)

    def ledger(self) -> list[dict[str, Any]]:
        """Every ledger row since this check started, in arrival order (full rows).

        The rows are also kept for the report's timeline.
        """
        rows = self._admin.ledger()
        self._remember(rows)
        return rows

    def _remember(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self._rows[int(row["id"])] = _trim(row)

    def capture(self) -> None:
        """Fetch the ledger once more at the check's end, so the timeline shows every call."""
        snapshot = self._admin.ledger_snapshot()
        self._remember(snapshot["rows"])
        self.now_s = float(snapshot["now_s"])

    def timeline_rows(self) -> tuple[list[dict[str, Any]], int]:
        """The rows for the timeline (by id, at most TIMELINE_ROWS_MAX) and how many were dropped."""
        rows = [self._rows[key] for key in sorted(self._rows)]
        return rows[:TIMELINE_ROWS_MAX], max(0, len(rows) - TIMELINE_ROWS_MAX)
