"""litreview.llm.breaker: open after 5 consecutive failures, cool down 2 s, then one probe."""

from __future__ import annotations

from litreview.clock import ManualClock
from litreview.llm.breaker import BreakerState, CircuitBreaker


def breaker(clock: ManualClock) -> CircuitBreaker:
    return CircuitBreaker(clock, failure_threshold=5, cooldown_s=2.0)


def fail(b: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert b.allows_call()
        b.call_started()
        b.record_failure()


def test_four_failures_keep_it_closed_the_fifth_opens_it() -> None:
    b = breaker(ManualClock())
    fail(b, 4)
    assert b.state is BreakerState.CLOSED
    fail(b, 1)
    assert b.state is BreakerState.OPEN  # type: ignore[comparison-overlap]  # mypy narrows
    assert not b.allows_call()


def test_a_success_resets_the_count() -> None:
    b = breaker(ManualClock())
    fail(b, 4)
    b.record_success()
    fail(b, 4)
    assert b.state is BreakerState.CLOSED


def test_after_the_cooldown_exactly_one_probe_goes_through() -> None:
    clock = ManualClock()
    b = breaker(clock)
    fail(b, 5)
    clock.advance(1.99)
    assert not b.allows_call()
    clock.advance(0.01)
    assert b.allows_call()
    assert b.call_started() is True
    assert not b.allows_call(), "others still see it open while the probe is out"


def test_a_successful_probe_closes_it() -> None:
    clock = ManualClock()
    b = breaker(clock)
    fail(b, 5)
    clock.advance(2.0)
    b.call_started()
    b.record_success()
    assert b.state is BreakerState.CLOSED
    fail(b, 4)
    assert b.state is BreakerState.CLOSED


def test_a_failed_probe_opens_it_for_another_cooldown() -> None:
    clock = ManualClock()
    b = breaker(clock)
    fail(b, 5)
    clock.advance(2.0)
    b.call_started()
    b.record_failure()
    assert b.state is BreakerState.OPEN
    clock.advance(1.9)
    assert not b.allows_call()
    clock.advance(0.1)
    assert b.allows_call()


def test_an_abandoned_probe_lets_the_next_call_probe() -> None:
    clock = ManualClock()
    b = breaker(clock)
    fail(b, 5)
    clock.advance(2.0)
    was_probe = b.call_started()
    b.record_abandoned(was_probe)
    assert b.allows_call()


def test_an_abandoned_ordinary_call_does_not_free_the_probe_slot() -> None:
    clock = ManualClock()
    b = breaker(clock)
    fail(b, 5)
    clock.advance(2.0)
    b.call_started()
    b.record_abandoned(was_probe=False)
    assert not b.allows_call()
