"""The server's mutable state, and the one place a request's fate is decided from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fake_llm.fate import Fate, Fates, fate_rng, fingerprint, rate_limited, weather_draw
from fake_llm.faults import RequestContext
from fake_llm.ledger import DEFAULT_CAPACITY, Ledger
from fake_llm.profiles import Profile
from fake_llm.ratelimit import RateLimiter
from fake_llm.weather import ClockMode, Weather


@dataclass
class ChaosState:
    """The server's mutable state: profile, seed, scripted rules, attempt counters, ledger.

    ``grading``: the server runs under a grader, so nothing tells the app which fault it met or
    that it is graded: no ``x-fake-llm-*`` response headers, and ``/health`` says only that it is up.
    ``clock``: who moves the weather clock (:mod:`fake_llm.weather.clock`); in a grading, by
    default, only the graders do.
    """

    profile: Profile
    seed: int
    ledger_capacity: int = DEFAULT_CAPACITY
    admin_open: bool = False
    admin_token: str | None = None
    grading: bool = False
    clock: ClockMode | None = None
    fates: Fates = field(init=False)
    ledger: Ledger = field(init=False)
    weather: Weather = field(init=False)
    limiter: RateLimiter = field(default_factory=RateLimiter)

    def __post_init__(self) -> None:
        self.fates = Fates(self.seed)
        self.ledger = Ledger(self.ledger_capacity)
        mode: ClockMode = self.clock or ("driven" if self.grading else "requests")
        self.weather = Weather(self.profile.weather, self.seed, mode)

    def reset(self) -> None:
        """Clear the ledger, attempt counters, scripts and rate-limit buckets; the weather clock
        goes back to tick 0."""
        self.fates.reset()
        self.ledger.clear()
        self.limiter.reset()
        self.weather.reset()

    def decide(self, body: dict[str, Any], ctx: RequestContext, api_key: str, prompt_tokens: int,
               arrived_s: float) -> Fate:
        """The request's fate: its attempt number and the weather of its tick (the clock moves on
        in ``requests`` mode), then the rate limiter's verdict, then (if it was admitted) the
        scripted rule or the profile's draw under that weather."""
        fp = fingerprint(ctx.provider, body)
        attempt = self.fates.next_attempt(fp)
        knobs = self.profile.knobs(ctx.model)
        rng = fate_rng(self.seed, self.profile.digest, fp, attempt)
        sky = self.weather.sky(fp, weather_draw(self.seed, self.profile.digest, fp, attempt), arrived_s)
        admission = self.limiter.take((api_key, ctx.provider), knobs.rate_limit, prompt_tokens)
        if admission is not None and not admission.allowed:
            plan = rate_limited(admission)
        else:
            plan = self.fates.decide(ctx, knobs, rng, sky)
        return Fate(fp, attempt, knobs, rng, plan, admission, sky)
