"""litreview.agent: the review loop against a scripted model (httpx.MockTransport).

The scripted model answers each chat request with the next reply of its script; the embeddings
endpoint gives every text a vector of word counts, so a query naming a paper's title words finds
that paper first.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from litreview.agent.loop import Review, ReviewAgent
from litreview.agent.tools import FETCH, SEARCH
from litreview.app import build_agent
from litreview.clock import ManualClock
from litreview.config import Settings
from litreview.errors import AgentStuck, BudgetExceeded, LLMInvalidOutput
from litreview.llm.gateway import Gateway
from litreview.llm.openai import OpenAIProvider
from litreview.papers import PaperStore
from litreview.policy import Policy

PAPERS = PaperStore.load()
TARGET = PAPERS.get("P0042")
DIMENSIONS = 64
Step = Callable[[dict[str, Any]], dict[str, Any]]


def vector(text: str) -> list[float]:
    out = [0.0] * DIMENSIONS
    for word in re.findall(r"[a-z]+", text.lower()):
        out[sum(map(ord, word)) % DIMENSIONS] += 1.0
    return out


def call(name: str, arguments: str, call_id: str = "c1") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def calls(*tool_calls: dict[str, Any]) -> Step:
    message = {"role": "assistant", "content": None, "tool_calls": list(tool_calls)}
    return lambda body: {"choices": [{"finish_reason": "tool_calls", "message": message}],
                         "usage": {"prompt_tokens": 100, "completion_tokens": 10}}


def answer(text: str) -> Step:
    message = {"role": "assistant", "content": text}
    return lambda body: {"choices": [{"finish_reason": "stop", "message": message}],
                         "usage": {"prompt_tokens": 200, "completion_tokens": 20}}


def search(query: str = TARGET.title, call_id: str = "s1") -> Step:
    return calls(call(SEARCH, json.dumps({"query": query}), call_id))


def fetch(*paper_ids: str) -> Step:
    return calls(*(call(FETCH, json.dumps({"paper_id": p}), f"f{p}") for p in paper_ids))


class Model:
    """The scripted upstream: chat replies in order (the last repeats), embeddings by word count."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.chats: list[dict[str, Any]] = []
        self.embeds: list[dict[str, Any]] = []

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path.endswith("/embeddings"):
            self.embeds.append(body)
            data = [{"index": i, "embedding": vector(t)} for i, t in enumerate(body["input"])]
            return httpx.Response(200, json={"data": data, "usage": {"prompt_tokens": 7}})
        self.chats.append(body)
        step = self.steps[min(len(self.chats), len(self.steps)) - 1]
        return httpx.Response(200, json={"model": "sim-gpt-large", **step(body)})

    def query_embeds(self) -> int:
        return sum(1 for body in self.embeds if len(body["input"]) == 1)

    def tool_messages(self, chat: int) -> list[str]:
        return [m["content"] for m in self.chats[chat]["messages"] if m["role"] == "tool"]


def run(model: Model, question: str = "Which paper?", budget: int = 20_000,
        policy: Policy | None = None) -> Review:
    async def go() -> Review:
        async with httpx.AsyncClient(transport=httpx.MockTransport(model.handle)) as http:
            clock = ManualClock()
            primary = OpenAIProvider(http, "http://llm/v1", "sk", "sim-gpt-large")
            gateway = Gateway(primary, None, policy=policy or Policy(), clock=clock,
                              rng=random.Random(0), token_budget=4000)
            agent: ReviewAgent = build_agent(gateway, PAPERS, Settings(), clock)
            ctx = gateway.new_context(gateway.policy.review_deadline_s, budget)
            return await agent.review(question, ctx)

    return asyncio.run(go())


def test_a_review_cites_only_the_papers_it_fetched() -> None:
    model = Model(search(), fetch(TARGET.paper_id), answer(
        f"It helped [{TARGET.paper_id}]. Others agree [P0001]. Again [{TARGET.paper_id}]."))
    review = run(model)
    assert review.citations == [TARGET.paper_id]
    assert "[P0001]" not in review.answer and review.answer.count(f"[{TARGET.paper_id}]") == 2
    assert review.steps == 3
    found = model.tool_messages(1)[0]
    assert found.splitlines()[1].startswith(f"{TARGET.paper_id}:"), "the nearest paper comes first"
    assert len(found.splitlines()) == 1 + Policy().review_search_results
    assert model.query_embeds() == 1 and len(model.embeds) == 2  # the query, then the corpus


def test_every_call_of_a_reply_is_answered_with_its_id() -> None:
    model = Model(search(), fetch("P0001", "P0002"), answer("Both [P0001] [P0002]."))
    review = run(model)
    assert review.citations == ["P0001", "P0002"]
    ids = [m["tool_call_id"] for m in model.chats[2]["messages"] if m["role"] == "tool"]
    assert ids == ["s1", "fP0001", "fP0002"]


@pytest.mark.parametrize(("name", "arguments", "problem"), [
    (FETCH, '{"paper_id": "P00', "not JSON"),
    (FETCH, '{"paper_id": "P0001", "extra": true}', "schema"),
    (FETCH, '{"paper_id": 42}', "schema"),
    (FETCH, "{}", "schema"),
    ("fetch_paper_v2", '{"paper_id": "P0001"}', "no tool named"),
])
def test_a_malformed_call_is_not_run_but_re_asked(name: str, arguments: str, problem: str) -> None:
    model = Model(search(), calls(call(name, arguments, "bad")), fetch("P0001"),
                  answer("Found [P0001]."))
    review = run(model)
    assert review.citations == ["P0001"] and review.steps == 4
    assert problem in model.tool_messages(2)[-1]


def test_malformed_calls_after_the_re_asks_end_the_review() -> None:
    model = Model(search(), calls(call(FETCH, "not json", "bad")))
    with pytest.raises(LLMInvalidOutput):
        run(model)
    assert len(model.chats) == 1 + Policy().review_max_tool_reasks + 1


def test_a_repeated_call_is_not_run_and_the_step_limit_ends_the_loop() -> None:
    model = Model(search())
    with pytest.raises(AgentStuck):
        run(model)
    assert len(model.chats) == Policy().review_max_steps
    assert model.query_embeds() == 1
    assert "already made" in model.tool_messages(2)[-1]


def test_the_budget_stops_the_review_before_the_next_call() -> None:
    model = Model(search(), fetch("P0001"), answer("Found [P0001]."))
    with pytest.raises(BudgetExceeded):
        run(model, budget=110)  # the first step spends 110
    assert len(model.chats) == 1 and model.query_embeds() == 0


def test_an_answer_with_only_unfounded_markers_is_invalid() -> None:
    model = Model(search(), answer("[P0001]"))
    with pytest.raises(LLMInvalidOutput):
        run(model)
