"""Proofs that flaws the hidden checks miss are real flaws (each names the flawed solution).

Not a candidate test: the kit copies this file into a materialized solution and runs it there
(``tests/test_flaw_proofs.py``). The reference passes every test; ``flawed/<name>`` fails the
test named ``test_<name>`` (dashes as underscores). The tests use the reference's own fixtures,
mock upstream (``tests/upstream.py``) and unit seams, so they run in seconds.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from upstream import Reply, Upstream, openai_frames, openai_ok, status

from litreview.citations import resolve_citations
from litreview.clock import ManualClock, SystemClock
from litreview.errors import AttemptError, LLMError, LLMInvalidOutput, LLMTimeout
from litreview.generation import generate, whole_text
from litreview.llm.breaker import CircuitBreaker
from litreview.llm.gateway import Gateway
from litreview.llm.http import SSEMessage
from litreview.llm.openai import _ChunkReader
from litreview.llm.types import ChatMessage, Completion, Usage
from litreview.policy import Policy
from litreview.schemas import PaperRequest
from litreview.structured import parse_extraction

MESSAGES: list[ChatMessage] = [{"role": "user", "content": "Summarise P0042."}]


def complete(gateway: Gateway) -> Completion:
    async def run() -> Completion:
        return await gateway.complete(MESSAGES, gateway.new_context(4.0), fallback=False)

    return asyncio.run(run())


def test_retries_all_5xx() -> None:
    upstream = Upstream(openai=[status(501)])
    with pytest.raises(LLMError):
        complete(upstream.gateway())
    assert upstream.calls("openai") == 1  # 501 is not in the brief's list: never retried


def test_ignores_retry_after_ms() -> None:
    upstream = Upstream(openai=[status(429, **{"retry-after-ms": "700"}), openai_ok()])
    clock = ManualClock()
    complete(upstream.gateway(clock=clock))
    assert clock.sleeps and clock.sleeps[0] >= 0.7


def test_retry_after_only_429() -> None:
    upstream = Upstream(openai=[status(503, **{"retry-after": "0.7"}), openai_ok()])
    clock = ManualClock()
    complete(upstream.gateway(clock=clock))
    assert clock.sleeps and clock.sleeps[0] >= 0.7


@pytest.mark.parametrize("budget", ["500", 500.0, True])
def test_lax_token_budget(budget: Any) -> None:
    with pytest.raises(ValidationError):
        PaperRequest.model_validate({"paper_id": "P0042", "token_budget": budget})


def test_effect_direction_synonyms() -> None:
    text = ('{"paper_id": "P0042", "population": "a", "intervention": "b", "outcome": "c", '
            '"sample_size": 12, "effect_direction": "positive"}')
    with pytest.raises(LLMInvalidOutput):
        parse_extraction(Completion(text, "openai", "m", Usage(), "stop"), "P0042")


def test_breaker_many_probes() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(clock, failure_threshold=1, cooldown_s=2.0)
    breaker.record_failure()
    clock.advance(2.5)
    assert breaker.allows_call() and breaker.call_started()  # the probe
    assert not breaker.allows_call()  # everyone else still sees it open


def test_stream_stop_without_done() -> None:
    reader = _ChunkReader("openai")
    for frame in openai_frames(done=False):  # the stop chunk and usage, then no [DONE]
        reader.feed(SSEMessage(None, frame.removeprefix("data: ").strip()))
    with pytest.raises(LLMError):
        reader.end()


def test_reask_spends_retry_budget() -> None:
    upstream = Upstream(openai=[openai_ok(finish="length"), openai_ok()])
    gateway = upstream.gateway()
    gateway.retry_budget.tokens = 0.0  # an outage drained the bucket

    async def run() -> str:
        text, _ = await generate(gateway, MESSAGES, gateway.new_context(4.0), whole_text,
                                 fallback=False)
        return text

    assert asyncio.run(run()) == "A fine answer."


class _TimingOut:
    """A primary whose every call times out after exactly the timeout it was given (on a manual
    clock), so the clock shows when the app would have answered."""

    name = "openai"
    model = "sim-gpt-large"

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock

    async def complete(self, messages: list[ChatMessage], timeout_s: float) -> Completion:
        self.clock.advance(timeout_s)
        raise AttemptError(f"no answer within {timeout_s} s", provider=self.name, kind="timeout",
                           transient=True)

    def stream(self, messages: list[ChatMessage]) -> Any:
        raise NotImplementedError


def test_attempt_timeout_not_capped() -> None:
    clock = ManualClock()
    policy = Policy()
    gateway = Gateway(_TimingOut(clock), None, policy=policy, clock=clock,
                      rng=random.Random(0), token_budget=4000)
    with pytest.raises(LLMTimeout):
        complete(gateway)
    assert clock.now() <= policy.request_deadline_s  # every wait fits in the request's 4 s


def test_citations_strips_all_whitespace() -> None:
    answer, _ = resolve_citations("Helped [1].\n[4] Small  [5] effects.", ["P0042", "P0007"])
    assert answer == "Helped [1].\n Small  effects."  # one space at most goes with a marker


def _trickle(gap_s: float = 0.05, pieces: int = 40) -> Reply:
    """A 200 whose completion arrives in small pieces, ``gap_s`` apart (about 2 s in all)."""
    body = json.dumps({"model": "sim-gpt-large", "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Ok."}}
    ]}).encode()
    size = -(-len(body) // pieces)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), size):
            await asyncio.sleep(gap_s)
            yield body[start:start + size]

    return lambda: httpx.Response(200, content=chunks())


def test_deadline_httpx_timeout_only() -> None:
    upstream = Upstream(openai=[_trickle()])
    policy = Policy(request_deadline_s=0.6, attempt_timeout_s=0.3)
    with pytest.raises(LLMError):  # each whole call is bounded, not each piece of it
        complete(upstream.gateway(policy=policy, clock=SystemClock()))


PAPERS = ["P0001", "P0002", "P0003", "P0004", "P0005", "P0006"]


def test_batch_dedup_ids(client: httpx.Client) -> None:
    ids = ["P0001", "P0002", "P0001"]
    items = client.post("/summaries/batch", json={"paper_ids": ids}).json()["items"]
    assert [item["paper_id"] for item in items] == ids


def test_batch_shared_budget(client: httpx.Client) -> None:
    # Each item is its own request with this budget: its first call is always made.
    reply = client.post("/summaries/batch", json={"paper_ids": PAPERS, "token_budget": 1})
    assert [item["status"] for item in reply.json()["items"]] == ["ok"] * len(PAPERS)
