"""HTTP faults: the provider answers, with an error status."""

from __future__ import annotations

import random

from pydantic import Field, field_validator

from fake_llm.faults.base import Fault, HttpError, Plan, RequestContext


class HttpErrorFault(Fault):
    """An error status with the provider's own body and headers.

    ``status`` fixes the status; without it one of ``statuses`` is drawn. A 429 carries
    ``retry-after``/``retry-after-ms`` from ``retry_after_ms``; ``should_retry`` sets
    ``x-should-retry``. A 502 is an HTML gateway page, as a proxy in front of the API sends it.
    """

    kind = "http_error"
    family = "http"

    status: int | None = Field(default=None, ge=400, le=599)
    statuses: tuple[int, ...] = (429, 500, 502, 503)
    retry_after_ms: int | None = Field(default=None, ge=0)
    should_retry: bool | None = None

    @field_validator("statuses")
    @classmethod
    def _statuses_are_errors(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(not 400 <= s <= 599 for s in value):
            raise ValueError("statuses must be a non-empty list of 4xx/5xx codes")
        return value

    def forms(self) -> dict[str, Fault]:
        if self.status is not None:
            return {"": self}
        return {str(status): self.model_copy(update={"status": status}) for status in self.statuses}

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        status = self.status if self.status is not None else rng.choice(self.statuses)
        retry_after_ms = self.retry_after_ms
        if retry_after_ms is None and status == 429:
            retry_after_ms = 1000
        plan.http_error = HttpError(status, retry_after_ms, self.should_retry)


class RateLimit(Fault):
    """A 429 as the rate limiter sends it (remaining 0), without touching the real buckets.

    The real per-key buckets are the profile's ``[rate_limit]`` table; this kind lets a script or
    a probability produce the same response on demand.
    """

    kind = "rate_limit"
    family = "http"

    retry_after_ms: int = Field(default=1000, ge=0)

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.http_error = HttpError(429, self.retry_after_ms)
