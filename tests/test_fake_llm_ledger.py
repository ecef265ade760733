"""The ledger (fake_llm/ledger.py): one row per request in a fixed ring, in-flight counts, and the
server's monotonic clock."""

from __future__ import annotations

import time
from typing import Any

import pytest

from fake_llm.ledger import Ledger

FIELDS: dict[str, Any] = dict(provider="openai", model="m", task="chat", paper_ids=[], fingerprint="f",
                              attempt=1, stream=False, retry_count=None, api_key=None)


def test_ledger_is_a_bounded_ring_buffer():
    ledger = Ledger(capacity=3)
    fields = FIELDS
    for _ in range(5):
        ledger.close(ledger.open(**fields))
    snapshot = ledger.snapshot()
    assert [r["id"] for r in snapshot["rows"]] == [3, 4, 5]
    assert snapshot["dropped"] == 2 and snapshot["in_flight"] == 0
    ledger.clear()
    assert ledger.snapshot()["rows"] == []
    ledger.close(ledger.open(**fields))
    assert [r["id"] for r in ledger.snapshot()["rows"]] == [6]


def test_a_row_in_flight_keeps_its_values_when_the_ring_comes_round():
    ledger = Ledger(capacity=2)
    fields = FIELDS | {"paper_ids": ["P0001"]}
    slow = ledger.open(**fields)
    for _ in range(4):
        ledger.close(ledger.open(**(fields | {"paper_ids": ["P0002"]})))
    slow.status = 200
    ledger.close(slow)
    assert slow.id == 1 and slow.paper_ids == ("P0001",) and slow.finish_s is not None
    rows = ledger.snapshot()["rows"]
    assert [r["id"] for r in rows] == [4, 5] and all(r["paper_ids"] == ("P0002",) for r in rows)
    assert all(r["status"] is None for r in rows) and ledger.in_flight == 0


def test_a_row_counts_in_flight_from_open_to_close():
    ledger = Ledger(capacity=4)
    first = ledger.open(**FIELDS)
    second = ledger.open(**FIELDS)
    assert (first.in_flight, second.in_flight, ledger.in_flight) == (1, 2, 2)
    assert first.finish_s is None
    ledger.close(first)
    assert ledger.in_flight == 1 and first.finish_s is not None and first.finish_s >= first.arrival_s


def test_a_row_closes_with_the_finish_it_was_handed_over_at():
    ledger = Ledger(capacity=2)
    row = ledger.open(**FIELDS)
    handed_s = ledger.now_s()
    time.sleep(0.01)
    ledger.close(row, finish_s=handed_s)
    assert row.finish_s == handed_s and ledger.in_flight == 0


def test_arrival_is_when_the_bytes_came_on_the_monotonic_clock():
    ledger = Ledger(capacity=2)
    received = time.monotonic() - 0.5
    row = ledger.open(received_at=received, **FIELDS)
    assert row.arrival_s == pytest.approx(received - ledger.started_at)
    assert ledger.now_s() - row.arrival_s >= 0.5


def test_snapshot_since_an_id_gives_only_later_rows():
    ledger = Ledger(capacity=5)
    for _ in range(4):
        ledger.close(ledger.open(**FIELDS))
    assert [r["id"] for r in ledger.snapshot(since_id=2)["rows"]] == [3, 4]
    assert ledger.snapshot(since_id=99)["rows"] == []


def test_paper_ids_are_stored_as_a_tuple_and_repeated_strings_shared():
    ledger = Ledger(capacity=3)
    one = ledger.open(**(FIELDS | {"paper_ids": ["P0001"], "fingerprint": "".join(["ab", "cd"])}))
    two = ledger.open(**(FIELDS | {"paper_ids": ["P0001"], "fingerprint": "".join(["a", "bcd"])}))
    assert one.paper_ids == ("P0001",) and one.fingerprint is two.fingerprint


def test_a_ledger_needs_room_for_a_row():
    with pytest.raises(ValueError, match="at least 1 row"):
        Ledger(capacity=0)
