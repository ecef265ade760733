"""The reliability policy around the providers: one place that decides every retry.

For each user request (:class:`RequestContext`) the gateway makes attempts at a provider until
one succeeds or the policy says stop:

- before each attempt: the token budget, the attempt cap (per provider), the deadline, the
  provider's circuit breaker, and for a retry the app-wide retry budget;
- each attempt gets ``min(attempt_timeout_s, time left)``;
- after a transient failure it waits a jittered backoff (at least the provider's
  ``retry-after``), unless the wait does not fit before the deadline: then it gives up at once;
- a provider's refusal (non-429 4xx) is final: no retry, no fallback;
- an unreadable 200 is retried, but it is no sign the provider is down: it does not count against
  the breaker, and when the attempts run out it is ``llm_invalid_output``, with no fallback.

With ``fallback=True`` a primary that is unavailable (exhausted, timed out, breaker open) hands
over to the secondary, which gets the time the primary was not allowed to use.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TypeVar

from litreview.clock import Clock, Deadline
from litreview.errors import (
    AttemptError,
    CircuitOpen,
    LLMError,
    LLMIncomplete,
    LLMInvalidOutput,
    LLMRejected,
    LLMTimeout,
    LLMUnavailable,
    RateLimited,
)
from litreview.llm.breaker import CircuitBreaker
from litreview.llm.context import RequestContext, UsageMeter
from litreview.llm.retry import Backoff, RetryBudget, retry_delay_s
from litreview.llm.types import ChatMessage, Completion, Provider
from litreview.policy import Policy

logger = logging.getLogger(__name__)

T = TypeVar("T")
Attempt = Callable[[Provider, Deadline], Awaitable[T]]
# What makes a primary "unavailable" for fallback purposes; a refusal or the budget never is.
FALLBACK_ON = (LLMUnavailable, LLMTimeout, RateLimited)


class Gateway:
    """Calls the primary provider, and the secondary where the caller allows fallback.

    One gateway serves the whole app: its breakers and retry budget are app-wide state.
    """

    def __init__(
        self, primary: Provider, secondary: Provider | None, *, policy: Policy, clock: Clock,
        rng: random.Random, token_budget: int,
    ) -> None:
        self.primary = primary
        self.secondary = secondary
        self.policy = policy
        self.clock = clock
        self.token_budget = token_budget
        self.retry_budget = RetryBudget(policy.retry_budget_capacity, policy.retry_budget_deposit)
        self.backoff = Backoff(policy.backoff_base_s, policy.backoff_cap_s, rng)
        threshold, cooldown_s = policy.breaker_failure_threshold, policy.breaker_cooldown_s
        self.breakers = {
            p.name: CircuitBreaker(clock, threshold, cooldown_s)
            for p in (primary, secondary) if p is not None
        }

    def new_context(
        self, deadline_s: float, token_budget: int | None = None, *,
        meter: UsageMeter | None = None, not_after: Deadline | None = None,
    ) -> RequestContext:
        """A context whose deadline is ``deadline_s`` from now less the safety margin (and never
        after ``not_after``), spending on ``meter`` or on a new meter of ``token_budget`` tokens
        (default: the app's budget)."""
        deadline = Deadline.after(self.clock, deadline_s - self.policy.deadline_margin_s)
        if not_after is not None:
            deadline = deadline.capped_by(not_after)
        return RequestContext(deadline, meter or UsageMeter(token_budget or self.token_budget))

    def providers(self, *, fallback: bool) -> list[Provider]:
        """The providers to try, in order."""
        if fallback and self.secondary is not None:
            return [self.primary, self.secondary]
        return [self.primary]

    def can_attempt(self, ctx: RequestContext, *, fallback: bool) -> bool:
        """Whether any provider still has attempts left under the cap for this request."""
        cap = self.policy.max_attempts
        return any(ctx.attempts[p.name] < cap for p in self.providers(fallback=fallback))

    async def complete(
        self, messages: list[ChatMessage], ctx: RequestContext, *, fallback: bool
    ) -> Completion:
        """The whole answer, by the policy above; usage lands on ``ctx.meter``."""

        async def attempt(provider: Provider, deadline: Deadline) -> Completion:
            timeout_s = min(self.policy.attempt_timeout_s, deadline.remaining())
            return await provider.complete(messages, timeout_s)

        completion, provider = await self.across_providers(
            ctx, attempt, fallback=fallback, reserve_s=self.policy.fallback_reserve_s
        )
        ctx.meter.add(completion.usage)
        return replace(completion, fallback=provider is not self.primary)

    async def across_providers(
        self, ctx: RequestContext, attempt: Attempt[T], *, fallback: bool, reserve_s: float
    ) -> tuple[T, Provider]:
        """``attempt`` with retries at the primary, then (if allowed) at the secondary.

        When a secondary follows, the primary must give up ``reserve_s`` before the deadline, or
        halfway through the time left if that is shorter (a late batch item still tries both).
        """
        *earlier, last = self.providers(fallback=fallback)
        for provider in earlier:
            try:
                reserve = min(reserve_s, ctx.deadline.remaining() / 2)
                deadline = ctx.deadline.shortened_by(reserve)
                return await self.with_retries(provider, ctx, deadline, attempt), provider
            except FALLBACK_ON as exc:
                logger.warning("falling back from %s: %s", provider.name, exc)
        return await self.with_retries(last, ctx, ctx.deadline, attempt), last

    async def with_retries(
        self, provider: Provider, ctx: RequestContext, deadline: Deadline, attempt: Attempt[T]
    ) -> T:
        """``attempt`` at one provider until it succeeds or the policy says stop."""
        breaker = self.breakers[provider.name]
        last: AttemptError | None = None
        retries = 0
        while True:
            self._admit(provider, ctx, deadline, last)
            is_probe = breaker.call_started()
            ctx.attempts[provider.name] += 1
            try:
                result = await attempt(provider, deadline)
            except AttemptError as error:
                ctx.meter.add(error.usage)
                if error.provider_down:
                    breaker.record_failure()
                else:  # the provider answered (a refusal, an unreadable body): it is up
                    breaker.record_success()
                last = error
                await self._wait_before_retry(provider, ctx, error, retries, deadline)
                retries += 1
                continue
            except BaseException:
                breaker.record_abandoned(is_probe)
                raise
            breaker.record_success()
            return result

    def record_failure(self, provider: Provider) -> None:
        """A call that had started well failed later (a stream cut mid-way)."""
        self.breakers[provider.name].record_failure()

    def _admit(
        self, provider: Provider, ctx: RequestContext, deadline: Deadline, last: AttemptError | None
    ) -> None:
        """Raise unless another attempt at ``provider`` may start now."""
        ctx.meter.check()
        if ctx.attempts[provider.name] >= self.policy.max_attempts or deadline.expired:
            raise self._give_up(last, deadline) from last
        if not self.breakers[provider.name].allows_call():
            if last is None:
                raise CircuitOpen(f"{provider.name} is failing; calls are paused")
            raise self._give_up(last, deadline) from last
        if last is None:
            if ctx.attempts[provider.name] == 0:  # re-asks neither earn nor spend retry tokens
                self.retry_budget.record_first_attempt()
        elif not self.retry_budget.try_spend():
            raise self._give_up(last, deadline) from last

    async def _wait_before_retry(
        self, provider: Provider, ctx: RequestContext, error: AttemptError, retry_index: int,
        deadline: Deadline,
    ) -> None:
        """Sleep before the next attempt, or raise if there must not be one."""
        if ctx.attempts[provider.name] >= self.policy.max_attempts:
            raise self._give_up(error, deadline) from error
        delay_s = retry_delay_s(error, retry_index, self.backoff)
        if delay_s is None:
            raise self._give_up(error, deadline) from error
        if delay_s + self.policy.min_attempt_s > deadline.remaining():
            raise self._give_up(error, deadline, out_of_time=True) from error
        await self.clock.sleep(delay_s)

    def _give_up(
        self, last: AttemptError | None, deadline: Deadline, *, out_of_time: bool = False
    ) -> LLMError:
        """The user-facing error once no further attempt will be made: the first rule that fits.

        ``out_of_time``: another attempt would not fit before the deadline; after a timed-out
        attempt that is the deadline running out while waiting for the model.
        """
        timed_out = last is not None and last.kind == "timeout" and out_of_time
        if deadline.expired or timed_out:
            return LLMTimeout(f"no answer before the deadline ({last or 'no attempt made'})")
        if last is None:
            return LLMUnavailable("no attempts left for this request")
        if last.rejected:
            return LLMRejected(str(last))
        if last.kind == "unreadable":
            return LLMInvalidOutput(str(last))
        if last.kind in ("cut", "broken"):
            return LLMIncomplete(str(last))
        if last.upstream_status == 429:
            return RateLimited(str(last))
        return LLMUnavailable(str(last))
