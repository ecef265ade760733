"""litreview.llm.gateway: attempts, retries, deadlines, breakers and fallback, per the contract."""

from __future__ import annotations

import asyncio

import pytest
from upstream import Upstream, anthropic_ok, hang, openai_ok, raw, status

from litreview.clock import ManualClock, SystemClock
from litreview.errors import (
    CircuitOpen,
    LLMInvalidOutput,
    LLMRejected,
    LLMTimeout,
    LLMUnavailable,
    RateLimited,
)
from litreview.llm.gateway import Gateway
from litreview.llm.types import ChatMessage, Completion, Usage
from litreview.policy import Policy

MESSAGES: list[ChatMessage] = [{"role": "user", "content": "Summarise paper P0042."}]


def complete(gateway: Gateway, *, fallback: bool = False, budget: int | None = None) -> Completion:
    ctx = gateway.new_context(gateway.policy.request_deadline_s, budget)
    return asyncio.run(gateway.complete(MESSAGES, ctx, fallback=fallback))


def test_transient_failures_are_retried_with_jittered_backoff() -> None:
    upstream = Upstream(openai=[status(503), status(502), openai_ok()])
    clock = ManualClock()
    completion = complete(upstream.gateway(clock=clock))
    assert completion.text == "A fine answer."
    assert upstream.calls("openai") == 3
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 0.1 and 0 <= clock.sleeps[1] <= 0.2


def test_a_rejection_is_final_and_never_falls_back() -> None:
    upstream = Upstream(openai=[status(400)])
    with pytest.raises(LLMRejected):
        complete(upstream.gateway(), fallback=True)
    assert (upstream.calls("openai"), upstream.calls("anthropic")) == (1, 0)


@pytest.mark.parametrize(("code", "error"), [(503, LLMUnavailable), (529, LLMUnavailable),
                                             (429, RateLimited)])
def test_at_most_four_attempts_then_the_right_error(code: int, error: type[Exception]) -> None:
    upstream = Upstream(openai=[status(code, **{"retry-after-ms": "10"})])
    with pytest.raises(error):
        complete(upstream.gateway())
    assert upstream.calls("openai") == 4


def test_retry_after_is_waited_at_least() -> None:
    upstream = Upstream(openai=[status(429, **{"retry-after-ms": "300"}), openai_ok()])
    clock = ManualClock()
    complete(upstream.gateway(clock=clock))
    assert clock.sleeps[0] >= 0.3


def test_a_retry_after_beyond_the_deadline_fails_now() -> None:
    upstream = Upstream(openai=[status(429, **{"retry-after": "30"})])
    clock = ManualClock()
    with pytest.raises(RateLimited):
        complete(upstream.gateway(clock=clock))
    assert upstream.calls("openai") == 1
    assert clock.sleeps == []


def test_x_should_retry_false_stops_retries() -> None:
    upstream = Upstream(openai=[status(503, **{"x-should-retry": "false"})])
    with pytest.raises(LLMUnavailable):
        complete(upstream.gateway())
    assert upstream.calls("openai") == 1


def test_x_should_retry_true_retries_a_4xx() -> None:
    upstream = Upstream(openai=[status(400, **{"x-should-retry": "true"}), openai_ok()])
    complete(upstream.gateway())
    assert upstream.calls("openai") == 2


@pytest.mark.parametrize("body", [b"", b"<html>Just a moment...</html>", b'{"choices": []}'])
def test_an_unreadable_200_is_retried(body: bytes) -> None:
    upstream = Upstream(openai=[raw(200, body), openai_ok("Second time lucky.")])
    completion = complete(upstream.gateway(), fallback=True)
    assert completion.text == "Second time lucky." and not completion.fallback
    assert upstream.calls("openai") == 2


@pytest.mark.parametrize("body", [b"", b"<html>Just a moment...</html>", b'{"choices": []}'])
def test_unreadable_200s_to_the_end_are_invalid_output_without_fallback(body: bytes) -> None:
    upstream = Upstream(openai=[raw(200, body)])
    gateway = upstream.gateway()
    with pytest.raises(LLMInvalidOutput):
        complete(gateway, fallback=True)
    assert (upstream.calls("openai"), upstream.calls("anthropic")) == (4, 0)
    assert gateway.breakers["openai"].allows_call()


def test_an_unavailable_primary_falls_back_and_says_so() -> None:
    upstream = Upstream(openai=[status(503)], anthropic=[anthropic_ok("From B.", usage=(7, 3))])
    completion = complete(upstream.gateway(), fallback=True)
    assert (completion.provider, completion.model, completion.fallback) == (
        "anthropic", "sim-claude-large", True)
    assert completion.text == "From B."
    assert upstream.calls("openai") == 4
    sent = upstream.bodies("anthropic")[0]
    assert sent["max_tokens"] > 0 and sent["messages"][0]["role"] == "user"


def test_no_fallback_where_it_is_not_allowed() -> None:
    upstream = Upstream(openai=[status(503)])
    with pytest.raises(LLMUnavailable):
        complete(upstream.gateway(), fallback=False)
    assert upstream.calls("anthropic") == 0


def test_the_breaker_opens_after_five_failed_calls_and_probes_after_the_cooldown() -> None:
    upstream = Upstream(openai=[status(503)])
    clock = ManualClock()
    gateway = upstream.gateway(clock=clock)
    with pytest.raises(LLMUnavailable):
        complete(gateway)  # four failed calls
    with pytest.raises(LLMUnavailable):
        complete(gateway)  # the fifth opens the breaker
    assert upstream.calls("openai") == 5
    with pytest.raises(CircuitOpen):
        complete(gateway)
    assert upstream.calls("openai") == 5, "no call while open"
    upstream.queues["openai"] = [openai_ok()]
    clock.advance(2.0)
    assert complete(gateway).provider == "openai"
    assert upstream.calls("openai") == 6


def test_an_open_breaker_sends_summaries_straight_to_the_secondary() -> None:
    upstream = Upstream(openai=[status(503)])
    gateway = upstream.gateway()
    for _ in range(2):
        with pytest.raises(LLMUnavailable):
            complete(gateway)
    assert complete(gateway, fallback=True).provider == "anthropic"
    assert upstream.calls("openai") == 5


def test_the_retry_budget_caps_retries_across_requests() -> None:
    policy = Policy(retry_budget_capacity=2.0, breaker_failure_threshold=100)
    upstream = Upstream(openai=[status(503)])
    gateway = upstream.gateway(policy=policy)
    with pytest.raises(LLMUnavailable):
        complete(gateway)
    assert upstream.calls("openai") == 3, "the first attempt and two paid retries"
    with pytest.raises(LLMUnavailable):
        complete(gateway)
    assert upstream.calls("openai") == 4, f"{policy.retry_budget_deposit} token buys no retry"


def test_a_hanging_provider_meets_the_deadline() -> None:
    policy = Policy(request_deadline_s=0.4, deadline_margin_s=0.0, attempt_timeout_s=0.1)
    upstream = Upstream(openai=[hang()])
    with pytest.raises(LLMTimeout):
        complete(upstream.gateway(policy=policy, clock=SystemClock()))
    assert 1 <= upstream.calls("openai") <= 4


def test_usage_adds_up_across_providers() -> None:
    upstream = Upstream(openai=[status(503)], anthropic=[anthropic_ok(usage=(7, 3))])
    gateway = upstream.gateway()
    ctx = gateway.new_context(4.0)
    asyncio.run(gateway.complete(MESSAGES, ctx, fallback=True))
    asyncio.run(gateway.complete(MESSAGES, ctx, fallback=True))
    assert ctx.meter.usage == Usage(input_tokens=14, output_tokens=6)


def test_a_refused_openai_reply_is_marked_as_a_refusal() -> None:
    upstream = Upstream(openai=[openai_ok(refusal="I can't help with that.")])
    completion = complete(upstream.gateway())
    assert (completion.finish_reason, completion.text) == ("refusal", "I can't help with that.")
