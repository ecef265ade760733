"""The batch sliding-window check's criterion (graders.checks.scenario.slot_reuse): a batch that
starts the next paper when a call ends shows it even when a loaded machine starts each call up to
0.2 s late (twice a fast call; 0.25 s can hide it), and one in fixed groups never does, however late
each call starts."""

from __future__ import annotations

import heapq

from hypothesis import given
from hypothesis import strategies as st

from graders.checks.scenario import slot_reuse

PAPERS = 12
SLOW_S, FAST_S = 0.6, 0.1  # every fourth paper is slow, as in the check


def duration(index: int) -> float:
    return SLOW_S if index % 4 == 0 else FAST_S


def row(index: int, start: float) -> dict[str, object]:
    return {"id": index + 1, "paper_ids": (f"P{61 + index:04d}",), "arrival_s": start,
            "finish_s": start + duration(index)}


def sliding(cap: int, lags: list[float]) -> list[dict[str, object]]:
    """A window of ``cap``: each call ending lets the next paper start, ``lags[i]`` late."""
    rows, ends = [], []
    for index in range(PAPERS):
        free_at = 0.0 if len(ends) < cap else heapq.heappop(ends)
        started = free_at + lags[index]
        rows.append(row(index, started))
        heapq.heappush(ends, started + duration(index))
    return rows


def groups(cap: int, lags: list[float]) -> list[dict[str, object]]:
    """Fixed groups of ``cap``: a group starts once every call of the one before has ended."""
    rows, group_start = [], 0.0
    for first in range(0, PAPERS, cap):
        members = [row(i, group_start + lags[i]) for i in range(first, min(first + cap, PAPERS))]
        rows += members
        group_start = max(float(m["finish_s"]) for m in members)  # type: ignore[arg-type]
    return rows


@given(st.sampled_from([3, 4]), st.lists(st.floats(min_value=0.0, max_value=0.2), min_size=PAPERS,
                                          max_size=PAPERS))
def test_a_sliding_window_shows_a_freed_slot_used(cap, lags):
    assert slot_reuse(sliding(cap, lags), cap) is not None


@given(st.sampled_from([3, 4]), st.lists(st.floats(min_value=0.0, max_value=5.0), min_size=PAPERS,
                                          max_size=PAPERS))
def test_fixed_groups_never_do_however_late_each_call_starts(cap, lags):
    assert slot_reuse(groups(cap, lags), cap) is None


def test_the_reuse_is_named_and_an_unfinished_call_is_no_freed_slot():
    rows = sliding(4, [0.0] * PAPERS)
    assert slot_reuse(rows, 4) == ("8 calls started while the call for P0061 ran "
                                   "(fixed groups of 4: at most 3)")
    assert slot_reuse([{**r, "finish_s": None} for r in rows], 4) is None
