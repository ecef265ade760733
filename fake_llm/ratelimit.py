"""Real per-key rate limits: requests and tokens per minute (token buckets) and an in-flight cap.

Unlike the other faults this one is stateful, so it depends on timing: the shipped levels leave it
off except ``hurricane``. Its 429s carry truthful ``x-ratelimit-*`` headers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from fake_llm.profiles import RateLimitKnobs


@dataclass
class _Bucket:
    capacity: float
    level: float
    updated_s: float

    def refill(self, now_s: float) -> None:
        rate_per_s = self.capacity / 60
        self.level = min(self.capacity, self.level + (now_s - self.updated_s) * rate_per_s)
        self.updated_s = now_s

    def wait_ms(self, amount: float) -> int:
        missing = amount - self.level
        return 0 if missing <= 0 else math.ceil(missing / (self.capacity / 60) * 1000)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a request may go ahead, how long to wait if not, and the headers to send."""

    allowed: bool
    retry_after_ms: int
    headers: dict[str, str]
    release: Callable[[], None] | None = None  # ends an admitted request's time in flight


@dataclass
class RateLimiter:
    """Buckets per (API key, provider)."""

    clock: Callable[[], float] = time.monotonic
    _requests: dict[tuple[str, str], _Bucket] = field(default_factory=dict)
    _tokens: dict[tuple[str, str], _Bucket] = field(default_factory=dict)
    _in_flight: dict[tuple[str, str], int] = field(default_factory=dict)

    def reset(self) -> None:
        self._requests.clear()
        self._tokens.clear()

    def admit(self, key: tuple[str, str], knobs: RateLimitKnobs, tokens: int) -> Verdict:
        """Take one request (and its prompt tokens) from the key's buckets, if they allow."""
        now = self.clock()
        headers: dict[str, str] = {}
        wait_ms = 0
        taken: list[tuple[_Bucket, float]] = []
        for name, store, capacity, amount in (
            ("requests", self._requests, knobs.requests_per_minute, 1.0),
            ("tokens", self._tokens, knobs.tokens_per_minute, float(tokens)),
        ):
            if not capacity:
                continue
            bucket = store.setdefault(key, _Bucket(capacity, capacity, now))
            bucket.capacity = capacity
            bucket.refill(now)
            bucket_wait = bucket.wait_ms(amount)
            wait_ms = max(wait_ms, bucket_wait)
            taken.append((bucket, amount))
            remaining = max(0, math.floor(bucket.level - (amount if not bucket_wait else 0)))
            headers[f"x-ratelimit-limit-{name}"] = str(capacity)
            headers[f"x-ratelimit-remaining-{name}"] = str(remaining)
            headers[f"x-ratelimit-reset-{name}"] = f"{max(bucket_wait, 1)}ms"
        in_flight = self._in_flight.get(key, 0)
        if knobs.max_in_flight and in_flight >= knobs.max_in_flight:
            wait_ms = max(wait_ms, 100)
        if wait_ms:
            return Verdict(False, wait_ms, headers)
        for bucket, amount in taken:
            bucket.level -= amount
        return Verdict(True, 0, headers)

    def take(self, key: tuple[str, str], knobs: RateLimitKnobs, tokens: int) -> Verdict | None:
        """Admit one request or refuse it, counting an admitted one in flight until ``release``
        (``verdict.release``) is called; None when the knobs set no limit at all."""
        if not (knobs.requests_per_minute or knobs.tokens_per_minute or knobs.max_in_flight):
            return None
        verdict = self.admit(key, knobs, tokens)
        if not verdict.allowed:
            return verdict
        self.enter(key)
        return replace(verdict, release=lambda: self.leave(key))

    def enter(self, key: tuple[str, str]) -> None:
        self._in_flight[key] = self._in_flight.get(key, 0) + 1

    def leave(self, key: tuple[str, str]) -> None:
        left = self._in_flight.get(key, 1) - 1
        if left:
            self._in_flight[key] = left
        else:
            self._in_flight.pop(key, None)
