"""Time, passed in: a clock to read and sleep on, and deadlines measured on it.

Everything that waits or measures takes a :class:`Clock`, so tests drive time by hand
(:class:`ManualClock`) instead of sleeping.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds and a way to wait on them."""

    def now(self) -> float:
        """Seconds on a monotonic scale (only differences mean anything)."""

    async def sleep(self, seconds: float) -> None:
        """Return after ``seconds`` have passed on this clock."""


class SystemClock:
    """The real monotonic clock."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to; ``sleep`` moves it at once. For tests."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._now += seconds
        await asyncio.sleep(0)  # still yield to the loop, as a real sleep would


@dataclass(frozen=True, slots=True)
class Deadline:
    """A moment on a clock by which something must be done."""

    clock: Clock
    at: float

    @classmethod
    def after(cls, clock: Clock, seconds: float) -> Deadline:
        """The deadline ``seconds`` from now."""
        return cls(clock, clock.now() + seconds)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - self.clock.now())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def shortened_by(self, seconds: float) -> Deadline:
        """This deadline moved ``seconds`` earlier (to keep time in reserve for a plan B)."""
        return Deadline(self.clock, self.at - seconds)

    def capped_by(self, other: Deadline) -> Deadline:
        """Whichever of the two deadlines comes first."""
        return self if self.at <= other.at else other
