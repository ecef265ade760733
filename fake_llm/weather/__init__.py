"""Weather with time structure: latency regimes, outages and rate-limit storms on a clock.

:mod:`~fake_llm.weather.phases` holds the phase kinds, :mod:`~fake_llm.weather.schedule` places
them on the clock from the seed, :mod:`~fake_llm.weather.clock` says who moves the clock.
"""

from fake_llm.weather.clock import CLOCK_MODES, ClockMode, Weather
from fake_llm.weather.phases import Phase, phase_kinds
from fake_llm.weather.schedule import CLEAR, Schedule, Segment, Sky, WeatherKnobs, Window

__all__ = ["CLEAR", "CLOCK_MODES", "ClockMode", "Phase", "Schedule", "Segment", "Sky", "Weather",
           "WeatherKnobs", "Window", "phase_kinds"]
