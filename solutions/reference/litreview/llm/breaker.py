"""A circuit breaker per provider: stop calling a provider that keeps failing, then probe it.

Closed: calls flow; ``failure_threshold`` consecutive failed calls open it. Open: no calls for
``cooldown_s``. Then one probe call goes through (half-open): success closes the breaker, failure
opens it for another cooldown. Only the provider's own failures count (transient errors other
than an unreadable 200: see ``AttemptError.provider_down``); a call that ends without a verdict
(cancelled) just frees the probe slot.
"""

from __future__ import annotations

from enum import Enum

from litreview.clock import Clock


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """The breaker for one provider. Not thread-safe: use it from one event loop."""

    def __init__(self, clock: Clock, failure_threshold: int = 5, cooldown_s: float = 2.0) -> None:
        self._clock = clock
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """Closed, open (cooling down, or a probe is out), or half-open (ready for a probe)."""
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._probing or self._clock.now() - self._opened_at < self.cooldown_s:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def allows_call(self) -> bool:
        """Whether a call may start now (does not change the state)."""
        return self.state is not BreakerState.OPEN

    def call_started(self) -> bool:
        """A call is starting (check allows_call first); returns whether it is the one probe."""
        if self.state is BreakerState.HALF_OPEN:
            self._probing = True
            return True
        return False

    def record_success(self) -> None:
        """The provider answered: close the breaker and forget past failures."""
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        """The provider failed a call: count it, or re-open if the breaker is not closed."""
        self._probing = False
        if self._opened_at is not None:
            self._opened_at = self._clock.now()
            return
        self._failures += 1
        if self._failures >= self.failure_threshold:
            self._opened_at = self._clock.now()

    def record_abandoned(self, was_probe: bool) -> None:
        """A call ended without a verdict (cancelled); if it was the probe, the next call probes."""
        if was_probe:
            self._probing = False
