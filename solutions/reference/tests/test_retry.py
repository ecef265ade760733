"""litreview.llm.retry: backoff with full jitter, the retry budget, and when to retry."""

from __future__ import annotations

import random
import statistics

import pytest

from litreview.errors import AttemptError
from litreview.llm.retry import Backoff, RetryBudget, retry_delay_s


def backoff(seed: int = 1) -> Backoff:
    return Backoff(base_s=0.1, cap_s=1.0, rng=random.Random(seed))


@pytest.mark.parametrize(
    ("retry_index", "ceiling_s"), [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (50, 1.0)]
)
def test_the_ceiling_doubles_from_100ms_up_to_1s(retry_index: int, ceiling_s: float) -> None:
    assert backoff().ceiling_s(retry_index) == pytest.approx(ceiling_s)


@pytest.mark.parametrize("retry_index", [0, 1, 2, 3, 4])
def test_waits_are_spread_over_the_whole_range(retry_index: int) -> None:
    """Full jitter: uniform over [0, ceiling], so both ends and the middle occur."""
    policy = backoff(seed=retry_index)
    ceiling = policy.ceiling_s(retry_index)
    waits = [policy.delay_s(retry_index) for _ in range(2000)]
    assert all(0.0 <= wait <= ceiling for wait in waits)
    assert min(waits) < 0.05 * ceiling
    assert max(waits) > 0.95 * ceiling
    assert statistics.mean(waits) == pytest.approx(ceiling / 2, rel=0.1)


def test_the_same_seed_gives_the_same_waits() -> None:
    assert [backoff(3).delay_s(2) for _ in range(5)] == [backoff(3).delay_s(2) for _ in range(5)]


def test_the_budget_starts_full_and_allows_ten_retries() -> None:
    budget = RetryBudget(capacity=10, deposit=0.2)
    assert [budget.try_spend() for _ in range(11)] == [True] * 10 + [False]


def test_five_first_attempts_earn_one_retry() -> None:
    budget = RetryBudget(capacity=10, deposit=0.2)
    while budget.try_spend():
        pass
    for _ in range(4):
        budget.record_first_attempt()
    assert not budget.try_spend()
    budget.record_first_attempt()
    assert budget.try_spend()
    assert not budget.try_spend()


def test_deposits_never_overfill_the_bucket() -> None:
    budget = RetryBudget(capacity=10, deposit=0.2)
    for _ in range(100):
        budget.record_first_attempt()
    assert budget.tokens == 10


def failure(
    status: int | None = 503, *, transient: bool = True, should_retry: bool | None = None,
    retry_after_s: float | None = None,
) -> AttemptError:
    return AttemptError(
        "boom", provider="openai", kind="http" if status else "connection", transient=transient,
        should_retry=should_retry, upstream_status=status, retry_after_s=retry_after_s,
    )


def test_a_transient_failure_waits_a_jittered_backoff() -> None:
    delay = retry_delay_s(failure(), 2, backoff())
    assert delay is not None
    assert 0.0 <= delay <= 0.4


def test_a_rejection_is_not_retried() -> None:
    assert retry_delay_s(failure(400, transient=False), 0, backoff()) is None


@pytest.mark.parametrize(
    ("transient", "header", "retried"),
    [(True, False, False), (False, True, True), (True, None, True), (False, None, False)],
)
def test_x_should_retry_overrides_the_status(
    transient: bool, header: bool | None, retried: bool
) -> None:
    error = failure(503 if transient else 400, transient=transient, should_retry=header)
    assert (retry_delay_s(error, 0, backoff()) is not None) is retried


def test_retry_after_is_a_lower_bound() -> None:
    assert retry_delay_s(failure(429, retry_after_s=0.7), 0, backoff()) == 0.7


def test_a_backoff_longer_than_retry_after_is_kept() -> None:
    policy = Backoff(base_s=5.0, cap_s=5.0, rng=random.Random(0))
    delay = retry_delay_s(failure(429, retry_after_s=0.01), 0, policy)
    assert delay is not None
    assert delay > 0.01
