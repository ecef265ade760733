"""The weather clock and the server's weather: schedule, clock, storm holds, change reports.

The clock counts ticks and has two modes:

- ``requests`` (``serve``, the candidate's own tests): every model request the server accepts
  meets the current tick, then moves the clock on by one. A client that sends its requests one
  after another meets the same phases on every run; concurrent clients meet them in their
  arrival order.
- ``driven`` (the graders): only the admin API moves the clock (``POST /_chaos/clock``), so which
  requests meet which phase is decided by whoever drives it, not by arrival order or speed.

A reset puts the clock back at tick 0 and forgets the storm holds; it keeps the mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fake_llm.weather.phases import StormHolds
from fake_llm.weather.schedule import Schedule, Segment, Sky, WeatherKnobs, Window, label_of

ClockMode = Literal["requests", "driven"]
CLOCK_MODES: tuple[ClockMode, ...] = ("requests", "driven")
PhaseListener = Callable[[int, Segment], None]
MAX_VIEW_TICKS = 100_000


class Weather:
    """One server's weather. ``on_change(tick, segment)`` hears of every change of phase."""

    def __init__(self, knobs: WeatherKnobs, seed: int, mode: ClockMode = "requests",
                 on_change: PhaseListener | None = None) -> None:
        self.schedule = Schedule(knobs, seed)
        self.mode: ClockMode = mode
        self.tick = 0
        self.holds = StormHolds()
        self.on_change = on_change
        self._last: tuple[Window, ...] = ()

    def rebuild(self, knobs: WeatherKnobs, seed: int) -> None:
        """A new profile or seed: a new schedule, the clock where it was."""
        self.schedule = Schedule(knobs, seed)
        self._note(self.tick)

    def sky(self, fingerprint: str, draw: float, now_s: float) -> Sky:
        """The weather one arriving request meets; in ``requests`` mode the clock then moves on."""
        tick = self.tick
        windows = self._note(tick)
        if self.mode == "requests":
            self.tick += 1
        return Sky(tick, windows, fingerprint, draw, now_s, self.holds)

    def set_clock(self, *, tick: int | None = None, advance: int | None = None,
                  mode: ClockMode | None = None) -> None:
        """Move the clock to ``tick`` or on by ``advance``; either one makes it ``driven`` unless
        ``mode`` says otherwise."""
        if tick is not None or advance is not None:
            self.mode = "driven"
        if mode is not None:
            self.mode = mode
        if tick is not None:
            self.tick = tick
        if advance is not None:
            self.tick += advance
        self._note(self.tick)

    def reset(self) -> None:
        self.tick = 0
        self.holds.clear()
        self._note(0)

    def _note(self, tick: int) -> tuple[Window, ...]:
        windows = self.schedule.active(tick)
        if windows != self._last:
            self._last = windows
            if self.on_change is not None:
                self.on_change(tick, self.segment_at(tick))
        return windows

    def segment_at(self, tick: int) -> Segment:
        """The stretch of unchanging phases that ``tick`` lies in, from ``tick`` on."""
        horizon = tick + 2 * self.schedule.knobs.cycle_ticks
        return self.schedule.segments(tick, horizon)[0]

    def view(self, from_tick: int | None = None, to_tick: int | None = None) -> dict[str, Any]:
        """The clock, the current phase and the schedule (default: this cycle and the next)."""
        size = self.schedule.knobs.cycle_ticks
        start = (self.tick // size) * size if from_tick is None else from_tick
        end = start + 2 * size if to_tick is None else to_tick
        if not 0 <= start < end or end - start > MAX_VIEW_TICKS:
            raise ValueError(f"from_tick and to_tick must give 0 <= from_tick < to_tick, at most "
                             f"{MAX_VIEW_TICKS} ticks apart (got {start}, {end})")
        return {
            "mode": self.mode, "tick": self.tick, "cycle_ticks": size,
            "phase": label_of(self.schedule.active(self.tick)),
            "phases": [phase.describe() for phase in self.schedule.knobs.phases],
            "schedule": [segment.describe() for segment in self.schedule.segments(start, end)],
        }
