"""Timing faults: the model is slow, very slow, or never answers."""

from __future__ import annotations

import math
import random

from pydantic import Field

from fake_llm.faults.base import Fault, Plan, RequestContext


class Latency(Fault):
    """Delay before the answer: ``delay_ms`` exactly, or lognormal around ``median_ms`` with spikes.

    Every request meets the profile's latency; a scripted ``latency`` rule replaces it.
    """

    kind = "latency"
    family = "timing"

    delay_ms: float | None = Field(default=None, ge=0)
    median_ms: float = Field(default=20.0, ge=0)
    sigma: float = Field(default=0.3, ge=0, le=3)
    spike_probability: float = Field(default=0.0, ge=0, le=1)
    spike_factor: float = Field(default=10.0, ge=1)
    max_ms: float = Field(default=60_000.0, gt=0)

    def draw_s(self, rng: random.Random) -> float:
        """The delay for one request, in seconds."""
        if self.delay_ms is not None:
            return self.delay_ms / 1000
        delay_ms = self.median_ms * math.exp(rng.gauss(0.0, self.sigma)) if self.median_ms else 0.0
        if rng.random() < self.spike_probability:
            delay_ms *= self.spike_factor
        return min(delay_ms, self.max_ms) / 1000

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.delay_s += self.draw_s(rng)


class Hang(Fault):
    """Never answer: hold the request open until the client gives up (or ``max_hang_s``)."""

    kind = "hang"
    family = "timing"

    max_hang_s: float = Field(default=300.0, gt=0, le=3600)

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.hang_s = self.max_hang_s


class SlowFirstToken(Fault):
    """A long wait before the first token (for a plain request: before the answer)."""

    kind = "slow_first_token"
    family = "timing"

    delay_ms: float = Field(default=3000.0, ge=0)

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        if ctx.stream:
            plan.first_token_delay_s += self.delay_ms / 1000
        else:
            plan.delay_s += self.delay_ms / 1000


class Stall(Fault):
    """A stream pauses for ``pause_ms`` after ``after_chunks`` chunks, then carries on."""

    kind = "stall"
    family = "timing"

    after_chunks: int = Field(default=3, ge=0)
    pause_ms: float = Field(default=5000.0, ge=0)

    def applies_to(self, ctx: RequestContext) -> bool:
        return ctx.stream

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.stall_after_chunks = self.after_chunks
        plan.stall_s = self.pause_ms / 1000


class Drip(Fault):
    """A stream that sends every chunk ``chunk_interval_ms`` apart: alive, but very slow."""

    kind = "drip"
    family = "timing"

    chunk_interval_ms: float = Field(default=500.0, ge=0)

    def applies_to(self, ctx: RequestContext) -> bool:
        return ctx.stream

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.chunk_interval_s = self.chunk_interval_ms / 1000


class Trickle(Fault):
    """A plain answer whose body arrives in ``pieces`` pieces, ``interval_ms`` apart: the status
    and headers at once, then a little of the body at a time (the plain form of ``drip``)."""

    kind = "trickle"
    family = "timing"

    pieces: int = Field(default=20, ge=2, le=10_000)
    interval_ms: float = Field(default=200.0, ge=0)

    def applies_to(self, ctx: RequestContext) -> bool:
        return not ctx.stream

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.body_pieces = self.pieces
        plan.body_interval_s = self.interval_ms / 1000
