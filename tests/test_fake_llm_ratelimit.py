"""The rate limiter (fake_llm/ratelimit.py): per-key request and token buckets that refill by the
minute, an in-flight cap, and truthful headers; on a clock the test controls."""

from __future__ import annotations

import httpx

from fake_llm.profiles import RateLimitKnobs
from fake_llm.ratelimit import RateLimiter
from fake_llm.runner import FakeLLM

KEY = ("sk-a", "openai")
ASK = {"model": "sim-gpt-mini", "messages": [{"role": "user", "content": "Extract P0007 fields"}]}


class Clock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def ask(fake: FakeLLM) -> httpx.Response:
    return httpx.post(f"{fake.openai_base_url}/chat/completions", json=ASK, timeout=10)


def test_the_request_bucket_refuses_when_empty_and_says_how_long_to_wait():
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    knobs = RateLimitKnobs(requests_per_minute=2)
    first, second, third = (limiter.admit(KEY, knobs, 10) for _ in range(3))
    assert (first.allowed, second.allowed, third.allowed) == (True, True, False)
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert second.headers["x-ratelimit-remaining-requests"] == "0"
    assert third.retry_after_ms == 30_000  # one request refills in 60 s / 2
    clock.now_s += 30.0
    assert limiter.admit(KEY, knobs, 10).allowed


def test_the_token_bucket_counts_prompt_tokens():
    limiter = RateLimiter(clock=Clock())
    knobs = RateLimitKnobs(tokens_per_minute=100)
    assert limiter.admit(KEY, knobs, 80).allowed
    refused = limiter.admit(KEY, knobs, 80)
    assert not refused.allowed and refused.retry_after_ms == 36_000  # 60 missing tokens at 100/min
    assert refused.headers["x-ratelimit-limit-tokens"] == "100"


def test_keys_have_their_own_buckets():
    limiter = RateLimiter(clock=Clock())
    knobs = RateLimitKnobs(requests_per_minute=1)
    assert limiter.admit(KEY, knobs, 1).allowed
    assert limiter.admit(("sk-b", "openai"), knobs, 1).allowed
    assert limiter.admit(("sk-a", "anthropic"), knobs, 1).allowed
    assert not limiter.admit(KEY, knobs, 1).allowed


def test_the_in_flight_cap_admits_again_once_a_request_leaves():
    limiter = RateLimiter(clock=Clock())
    knobs = RateLimitKnobs(max_in_flight=1)
    assert limiter.admit(KEY, knobs, 1).allowed
    limiter.enter(KEY)
    assert not limiter.admit(KEY, knobs, 1).allowed
    limiter.leave(KEY)
    assert limiter.admit(KEY, knobs, 1).allowed


def test_a_refused_request_takes_nothing_from_the_buckets():
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    knobs = RateLimitKnobs(requests_per_minute=1, tokens_per_minute=1000)
    limiter.admit(KEY, knobs, 10)
    for _ in range(3):
        assert not limiter.admit(KEY, knobs, 10).allowed
    clock.now_s += 60.0
    assert limiter.admit(KEY, knobs, 10).headers["x-ratelimit-remaining-tokens"] == "990"


def test_reset_fills_the_buckets():
    limiter = RateLimiter(clock=Clock())
    knobs = RateLimitKnobs(requests_per_minute=1)
    limiter.admit(KEY, knobs, 1)
    limiter.reset()
    assert limiter.admit(KEY, knobs, 1).allowed


def test_rate_limit_buckets_send_truthful_429s():
    with FakeLLM(profile="calm", settings={"rate_limit.requests_per_minute": 2,
                                           "latency.median_ms": 0}) as server:
        statuses = [ask(server) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[1].headers["x-ratelimit-remaining-requests"] == "0"
    assert int(statuses[2].headers["retry-after-ms"]) > 0
    assert statuses[2].headers["x-fake-llm-fault"] == "rate_limit"
