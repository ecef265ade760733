"""The shared request path: a new route reuses it whole, the rate limiter decides inside the fate,
and each request's ledger row is closed once with how it ended."""

from __future__ import annotations

import random
from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import Response
from starlette.testclient import TestClient

from fake_llm.app import create_app
from fake_llm.conversation import Reply
from fake_llm.ledger import Ledger, Outcome
from fake_llm.model import Prompt
from fake_llm.pricing import ModelInfo
from fake_llm.runner import FakeLLM, make_state
from fake_llm.wire import Answer, OpenAIWire, ParsedRequest

BODY = {"model": "sim-gpt-large", "messages": [{"role": "user", "content": "Summarize paper P0042."}]}


class EchoWire(OpenAIWire):
    """A wire whose answer is not the chat model's: it echoes the request's text."""

    def reply(self, parsed: ParsedRequest, prompt: Prompt, rng: random.Random) -> Reply:
        return Reply(f"echo: {parsed.text}", data=len(parsed.text))

    def body(self, model: ModelInfo, answer: Answer) -> dict[str, Any]:
        return {**super().body(model, answer), "echoed_chars": answer.data}


def test_a_new_route_reuses_the_pipeline_with_its_faults_and_ledger():
    state = make_state("calm", seed=3, settings={"latency.median_ms": 0})
    app = create_app(state)
    wire = EchoWire()

    @app.post("/v1/echo")
    async def echo(request: Request) -> Response:
        return await app.state.pipeline.handle(wire, request)

    with TestClient(app) as client:
        first = client.post("/v1/echo", json=BODY)
        assert first.json()["choices"][0]["message"]["content"] == "echo: Summarize paper P0042."
        assert first.json()["echoed_chars"] == len("Summarize paper P0042.")
        client.post("/_chaos/script", json={"rules": [{"fault": {"kind": "http_error", "status": 503}}]})
        assert client.post("/v1/echo", json=BODY).status_code == 503
        bad = client.post("/v1/echo", json={"model": "sim-gpt-large"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "messages"
    rows = state.ledger.rows
    assert [(r.status, r.fault, r.attempt) for r in rows] == [(200, "none", 1), (503, "http_error", 2)]
    assert all(r.finish_s is not None for r in rows) and state.ledger.in_flight == 0


def test_a_request_the_rate_limiter_refuses_leaves_the_scripted_rule_for_the_next():
    with FakeLLM(settings={"latency.median_ms": 0, "rate_limit.requests_per_minute": 1}) as fake:
        with httpx.Client(base_url=fake.openai_base_url, timeout=10) as client:
            assert client.post("/chat/completions", json=BODY).status_code == 200
            fake.admin.script([{"fault": {"kind": "http_error", "status": 503}}])
            refused = client.post("/chat/completions", json=BODY)
        assert refused.status_code == 429 and refused.headers["x-fake-llm-fault"] == "rate_limit"
        assert refused.headers["x-ratelimit-remaining-requests"] == "0"
        assert [rule["remaining"] for rule in fake.admin.profile()["rules"]] == [1]
        assert [row["fault"] for row in fake.admin.ledger()] == ["none", "rate_limit"]


def test_closing_a_row_writes_its_outcome_and_ends_its_flight():
    ledger = Ledger(capacity=4)
    row = ledger.open(provider="openai", model="sim-gpt-large", task="chat", paper_ids=(),
                      fingerprint="f", attempt=1, stream=False, retry_count=None, api_key="k")
    assert ledger.in_flight == 1 and row.finish_s is None
    ledger.close(row, Outcome(200, 10, 20, 0.5, True, False, ("get_paper",)))
    assert (row.status, row.tokens_in, row.tokens_out, row.cost_usd, row.usage_reported,
            row.client_gone, row.tool_calls) == (200, 10, 20, 0.5, True, False, ("get_paper",))
    assert row.finish_s is not None and ledger.in_flight == 0
