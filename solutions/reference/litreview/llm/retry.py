"""When to retry and how long to wait: backoff with full jitter, and the app-wide retry budget."""

from __future__ import annotations

import random

from litreview.errors import AttemptError


class Backoff:
    """Capped exponential backoff with full jitter.

    The wait before retry number ``n`` (0 for the first retry) is drawn uniformly from
    ``[0, min(cap_s, base_s * 2**n)]``, so clients that failed together do not retry together.
    """

    def __init__(self, base_s: float, cap_s: float, rng: random.Random) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self._rng = rng

    def ceiling_s(self, retry_index: int) -> float:
        """The longest wait before retry number ``retry_index``."""
        return min(self.cap_s, self.base_s * 2.0 ** min(retry_index, 32))

    def delay_s(self, retry_index: int) -> float:
        """A random wait before retry number ``retry_index``."""
        return self._rng.uniform(0.0, self.ceiling_s(retry_index))


class RetryBudget:
    """A token bucket shared by the whole app that caps retries at a fraction of traffic.

    It holds at most ``capacity`` tokens and starts full. Each first attempt deposits
    ``deposit`` tokens; each retry needs, and spends, one whole token. So in steady state retries
    add at most ``deposit`` (a share of the first attempts) to the load, while a burst of bad
    luck can still retry. Both numbers are the policy's.
    """

    def __init__(self, capacity: float, deposit: float) -> None:
        self.capacity = capacity
        self.deposit = deposit
        self.tokens = capacity

    def record_first_attempt(self) -> None:
        """A first attempt was made: earn a fraction of a retry."""
        self.tokens = min(self.capacity, self.tokens + self.deposit)

    def try_spend(self) -> bool:
        """Take one token for a retry; False (and nothing taken) when there is no whole token."""
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def retry_delay_s(error: AttemptError, retry_index: int, backoff: Backoff) -> float | None:
    """How long to wait before retrying after ``error``; None when it must not be retried.

    The jittered backoff, but never less than the provider's ``retry-after``: waiting less would
    only meet the same refusal.
    """
    if not error.retryable:
        return None
    return max(backoff.delay_s(retry_index), error.retry_after_s or 0.0)
