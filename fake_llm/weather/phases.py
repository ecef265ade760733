"""Weather phases: what holds for a stretch of the weather clock, one small class per kind.

A phase is a frozen pydantic model registered by its ``kind``: its typed, unit-named knobs, and
what it does to a request it covers. Where a phase lies on the clock is the schedule's business
(:mod:`fake_llm.weather.schedule`), and whether a request meets it at all (scripted rules come
first) the fate's (:mod:`fake_llm.fate`).

- ``latency_regime`` shifts the latency's p50 and p90 by a factor: the lognormal's median is
  multiplied by ``p50_factor`` and its sigma widened so that the p90 moves by ``p90_factor``;
- ``outage`` answers every request to one provider or one model with an error status;
- ``rate_limit_storm`` answers a ``share`` of requests with a 429 whose retry-after is truthful:
  the same request retried after it passes the storm (see :class:`StormHolds`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fake_llm.faults import HttpError, RequestContext
from fake_llm.faults.timing import Latency
from fake_llm.pricing import MODELS, PROVIDERS

_Z90 = 1.2815515655446004  # the standard normal's 90th percentile
OUTAGE_STATUSES = (500, 502, 503, 504, 529)

_REGISTRY: dict[str, type[Phase]] = {}


class Phase(BaseModel):
    """One kind of weather phase. ``length_ticks`` long; at ``start_tick`` of every cycle when
    given, else where the seed puts it; for every request, or one ``provider``'s or ``model``'s."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    kind: ClassVar[str]

    length_ticks: int = Field(ge=1)
    start_tick: int | None = Field(default=None, ge=0)
    provider: str | None = None
    model: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind is not None:
            if kind in _REGISTRY:
                raise TypeError(f"weather phase kind {kind!r} is registered twice")
            _REGISTRY[kind] = cls

    @model_validator(mode="after")
    def _known_target(self) -> Phase:
        if self.provider is not None and self.provider not in PROVIDERS:
            raise ValueError(f"unknown provider {self.provider!r}; allowed: {', '.join(PROVIDERS)}")
        if self.model is not None and self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; allowed: {', '.join(MODELS)}")
        if self.provider is not None and self.model is not None:
            raise ValueError("give a provider or a model, not both")
        return self

    def covers(self, provider: str, model: str) -> bool:
        """Whether a request to this provider and model is under this phase."""
        return (self.provider is None or self.provider == provider) and (
            self.model is None or self.model == model)

    @property
    def target(self) -> str:
        return self.model or self.provider or ""

    def label(self) -> str:
        """A few words for people: the serve console, the ledger, the admin API."""
        raise NotImplementedError

    def shift(self, latency: Latency) -> Latency:
        """The latency in force under this phase (default: unchanged)."""
        return latency

    def error(self, ctx: RequestContext, draw: float) -> HttpError | None:
        """The error this phase answers with (default none); ``draw`` is uniform in [0, 1)."""
        return None

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.model_dump(exclude_none=True), "label": self.label()}


class LatencyRegime(Phase):
    """The level's latency, slower: p50 times ``p50_factor``, p90 times ``p90_factor``."""

    kind = "latency_regime"

    p50_factor: float = Field(gt=0, le=100)
    p90_factor: float | None = Field(default=None, gt=0, le=1000)

    @model_validator(mode="after")
    def _tail_not_narrower(self) -> LatencyRegime:
        if self.p90_factor is not None and self.p90_factor < self.p50_factor:
            raise ValueError(f"p90_factor ({self.p90_factor}) must be at least p50_factor "
                             f"({self.p50_factor})")
        return self

    def label(self) -> str:
        p90 = self.p50_factor if self.p90_factor is None else self.p90_factor
        where = f" on {self.target}" if self.target else ""
        return f"latency x{self.p50_factor:g} p50, x{p90:g} p90{where}"

    def shift(self, latency: Latency) -> Latency:
        p90 = self.p50_factor if self.p90_factor is None else self.p90_factor
        if latency.delay_ms is not None:
            return latency.model_copy(update={"delay_ms": latency.delay_ms * self.p50_factor})
        sigma = min(3.0, latency.sigma + math.log(p90 / self.p50_factor) / _Z90)
        return latency.model_copy(update={"median_ms": latency.median_ms * self.p50_factor,
                                          "sigma": sigma})


class Outage(Phase):
    """Every request to ``provider`` (or ``model``) gets ``status``: the provider is down."""

    kind = "outage"

    status: int = 503

    @model_validator(mode="after")
    def _one_target(self) -> Outage:
        if self.provider is None and self.model is None:
            raise ValueError("an outage needs a provider or a model "
                             f"(providers: {', '.join(PROVIDERS)}; models: {', '.join(MODELS)})")
        if self.status not in OUTAGE_STATUSES:
            raise ValueError(f"status {self.status} is not an outage's; allowed: "
                             f"{', '.join(map(str, OUTAGE_STATUSES))}")
        return self

    def label(self) -> str:
        return f"{self.target} outage ({self.status})"

    def error(self, ctx: RequestContext, draw: float) -> HttpError | None:
        return HttpError(self.status)


class RateLimitStorm(Phase):
    """A ``share`` of requests get a 429 that says to retry after ``retry_after_ms``."""

    kind = "rate_limit_storm"

    share: float = Field(gt=0, le=1)
    retry_after_ms: int = Field(default=500, ge=1, le=60_000)

    def label(self) -> str:
        where = f" on {self.target}" if self.target else ""
        return (f"rate-limit storm{where} ({self.share:.0%} get 429, "
                f"retry after {self.retry_after_ms} ms)")

    def error(self, ctx: RequestContext, draw: float) -> HttpError | None:
        return HttpError(429, self.retry_after_ms) if draw < self.share else None


def phase_kinds() -> dict[str, type[Phase]]:
    """Every weather phase kind, by name."""
    return dict(_REGISTRY)


class StormHolds:
    """What makes a storm's retry-after truthful: a request refused by a storm is held until its
    retry-after has passed. The same request (same fingerprint) sent again before then is refused
    again, with the time still to wait; sent after, it passes the storm (and meets the rest of its
    fate as usual). A request met by no storm yet draws afresh.

    Bounded: the oldest holds are forgotten first.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._until: dict[str, float] = {}
        self._capacity = capacity

    def waiting_ms(self, fp: str, now_s: float) -> int | None:
        """None: this request is held by no storm. 0: its hold has run out (and is dropped now:
        this request passes the storm). Else the milliseconds it still has to wait."""
        until = self._until.get(fp)
        if until is None:
            return None
        if now_s >= until:
            del self._until[fp]
            return 0
        return max(1, math.ceil((until - now_s) * 1000))

    def hold(self, fp: str, now_s: float, wait_ms: int) -> None:
        if len(self._until) >= self._capacity:
            self._until.pop(next(iter(self._until)))
        self._until[fp] = now_s + wait_ms / 1000

    def clear(self) -> None:
        self._until.clear()
