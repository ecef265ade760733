"""The weather's schedule: which phases hold at which tick of the weather clock.

The clock counts **ticks**. Ticks fall into cycles of ``cycle_ticks``; in every cycle, each phase
of the profile holds for ``length_ticks`` consecutive ticks, from its ``start_tick`` when the
profile gives one, else from a start drawn from ``(seed, the weather knobs' digest, cycle, the
phase's index)``. So the schedule is a pure function of the seed, the knobs and the tick: the
same tick always has the same phases, whoever asks and whenever. Phases may overlap.

Who moves the clock is :class:`WeatherClock`'s business; what a request meets under the phases of
its tick is :class:`Sky`'s.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from fake_llm.faults import HttpError, Plan, RequestContext
from fake_llm.faults.timing import Latency
from fake_llm.weather.phases import Outage, Phase, RateLimitStorm, StormHolds

CLEAR = "clear"
_CACHED_CYCLES = 64


@dataclass(frozen=True, slots=True)
class WeatherKnobs:
    """A profile's ``[weather]`` table, validated: the cycle's length and its phases."""

    cycle_ticks: int = 100
    phases: tuple[Phase, ...] = ()
    digest: str = ""


@dataclass(frozen=True, slots=True)
class Window:
    """One phase holding from ``start_tick`` up to, not including, ``end_tick``."""

    start_tick: int
    end_tick: int
    phase: Phase

    def describe(self) -> dict[str, Any]:
        return {**self.phase.describe(), "start_tick": self.start_tick, "end_tick": self.end_tick}


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of ticks under the same phases (none: clear weather)."""

    start_tick: int
    end_tick: int
    windows: tuple[Window, ...]

    @property
    def label(self) -> str:
        return label_of(self.windows)

    def describe(self) -> dict[str, Any]:
        return {"start_tick": self.start_tick, "end_tick": self.end_tick, "phase": self.label,
                "phases": [window.describe() for window in self.windows]}


def label_of(windows: tuple[Window, ...]) -> str:
    """The phases' labels joined by `` + ``, or ``clear``."""
    return " + ".join(window.phase.label() for window in windows) or CLEAR


class Schedule:
    """The phases at every tick, for one seed and one profile's weather knobs."""

    def __init__(self, knobs: WeatherKnobs, seed: int) -> None:
        self.knobs = knobs
        self.seed = seed
        self._cycles: dict[int, tuple[Window, ...]] = {}

    def windows(self, cycle: int) -> tuple[Window, ...]:
        """Every phase's window in one cycle, in the profile's order."""
        cached = self._cycles.get(cycle)
        if cached is None:
            if len(self._cycles) >= _CACHED_CYCLES:
                self._cycles.clear()
            cached = self._cycles[cycle] = self._place(cycle)
        return cached

    def _place(self, cycle: int) -> tuple[Window, ...]:
        size = self.knobs.cycle_ticks
        out = []
        for index, phase in enumerate(self.knobs.phases):
            start = phase.start_tick
            if start is None:
                key = f"{self.seed}|{self.knobs.digest}|{cycle}|{index}".encode()
                rng = random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))
                start = rng.randrange(size - phase.length_ticks + 1)
            first = cycle * size + start
            out.append(Window(first, first + phase.length_ticks, phase))
        return tuple(out)

    def active(self, tick: int) -> tuple[Window, ...]:
        """The windows that hold at ``tick``."""
        cycle = tick // self.knobs.cycle_ticks
        return tuple(w for w in self.windows(cycle) if w.start_tick <= tick < w.end_tick)

    def segments(self, from_tick: int, to_tick: int) -> list[Segment]:
        """``[from_tick, to_tick)`` cut into stretches of unchanging phases."""
        out: list[Segment] = []
        for tick in self._edges(from_tick, to_tick):
            windows = self.active(tick)
            if out and out[-1].windows == windows:
                continue
            if out:
                out[-1] = Segment(out[-1].start_tick, tick, out[-1].windows)
            out.append(Segment(tick, to_tick, windows))
        return out

    def _edges(self, from_tick: int, to_tick: int) -> list[int]:
        """``from_tick`` and every tick in the range where a window starts or ends."""
        size = self.knobs.cycle_ticks
        edges = {from_tick}
        for cycle in range(from_tick // size, (max(to_tick, 1) - 1) // size + 1):
            edges.add(cycle * size)
            for window in self.windows(cycle):
                edges.update((window.start_tick, window.end_tick))
        return sorted(e for e in edges if from_tick <= e < to_tick)


@dataclass(frozen=True, slots=True)
class Sky:
    """The weather one request meets: the windows of its tick, and what decides its storm 429.

    ``draw`` is uniform in [0, 1), from the request's own seed, fingerprint and attempt.
    """

    tick: int
    windows: tuple[Window, ...]
    fingerprint: str
    draw: float
    now_s: float
    holds: StormHolds

    @property
    def label(self) -> str:
        return label_of(self.windows)

    def latency(self, latency: Latency, ctx: RequestContext) -> Latency:
        """The latency in force for this request (every covering regime applied)."""
        for window in self.windows:
            if window.phase.covers(ctx.provider, ctx.model):
                latency = window.phase.shift(latency)
        return latency

    def overrule(self, plan: Plan, ctx: RequestContext) -> Plan:
        """The plan, or an outage's or a storm's error in its place (an outage goes first)."""
        covering = [w.phase for w in self.windows if w.phase.covers(ctx.provider, ctx.model)]
        for phase in covering:
            if isinstance(phase, Outage):
                return _failed(plan, phase.kind, phase.error(ctx, self.draw), plan.delay_s)
        storms = [phase for phase in covering if isinstance(phase, RateLimitStorm)]
        if not storms:
            return plan
        waiting_ms = self.holds.waiting_ms(self.fingerprint, self.now_s)
        if waiting_ms == 0:  # it waited as it was told: it passes the storm
            return plan
        storm = storms[0]
        if waiting_ms is not None:
            return _failed(plan, storm.kind, HttpError(429, waiting_ms), 0.0)
        error = storm.error(ctx, self.draw)
        if error is None:
            return plan
        self.holds.hold(self.fingerprint, self.now_s, storm.retry_after_ms)
        return _failed(plan, storm.kind, error, 0.0)


def _failed(plan: Plan, kind: str, error: HttpError | None, delay_s: float) -> Plan:
    if error is None:
        return plan
    return Plan(delay_s=delay_s, chunk_interval_s=plan.chunk_interval_s, http_error=error, faults=[kind])
