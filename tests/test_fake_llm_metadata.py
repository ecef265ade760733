"""Anthropic's models list and token counting, and OpenAI's models list: free, immediate, outside
the ledger."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fake_llm.pricing import models_of


def get(fake, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{fake.anthropic_base_url}{path}", params=params, timeout=10.0)


def count(fake, **body: Any) -> httpx.Response:
    return httpx.post(f"{fake.anthropic_base_url}/v1/messages/count_tokens", json=body, timeout=10.0)


def test_anthropic_models_list_has_the_list_shape(fake):
    body = get(fake, "/v1/models").json()
    names = [m.name for m in models_of("anthropic")]
    assert [m["id"] for m in body["data"]] == names
    assert all(m["type"] == "model" and m["display_name"] and m["created_at"].endswith("Z")
               for m in body["data"])
    assert (body["has_more"], body["first_id"], body["last_id"]) == (False, names[0], names[-1])


def test_anthropic_models_list_pages(fake):
    first = get(fake, "/v1/models", limit=1).json()
    assert len(first["data"]) == 1 and first["has_more"] is True
    second = get(fake, "/v1/models", limit=1, after_id=first["last_id"]).json()
    assert second["data"][0]["id"] != first["data"][0]["id"] and second["has_more"] is False
    back = get(fake, "/v1/models", limit=1, before_id=second["first_id"]).json()
    assert back["data"] == first["data"] and back["has_more"] is False


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": "many"}, {"after_id": "nope"}])
def test_anthropic_models_list_refuses_bad_pages(fake, params):
    response = get(fake, "/v1/models", **params)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"


def test_anthropic_model_by_id(fake):
    assert get(fake, "/v1/models/sim-claude-mini").json()["id"] == "sim-claude-mini"
    missing = get(fake, "/v1/models/sim-gpt-large")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"


@pytest.mark.parametrize("system", [None, "You are a careful reviewer."])
def test_count_tokens_equals_the_usage_of_the_same_request(fake, system):
    messages = [{"role": "user", "content": "Summarize paper P0042."},
                {"role": "assistant", "content": [{"type": "text", "text": "Which part?"}]},
                {"role": "user", "content": "All of it, please."}]
    request: dict[str, Any] = {"model": "sim-claude-large", "messages": messages}
    if system:
        request["system"] = system
    counted = count(fake, **request).json()
    usage = httpx.post(f"{fake.anthropic_base_url}/v1/messages", timeout=10.0,
                       json={**request, "max_tokens": 200}).json()["usage"]
    assert counted == {"input_tokens": usage["input_tokens"]}
    assert [row["task"] for row in fake.admin.ledger()] == ["summary"]  # counting is not billed


@pytest.mark.parametrize(("body", "needle"), [
    ({"messages": [{"role": "user", "content": "x"}]}, "model: Field required"),
    ({"model": "sim-claude-large"}, "messages: Field required"),
    ({"model": "sim-claude-large", "messages": [{"role": "user", "content": "x"}], "temperature": 1},
     "temperature: Extra inputs are not permitted"),
    ({"model": "sim-claude-large", "messages": [{"role": "user", "content": "x"}],
      "thinking": {"type": "enabled", "budget_tokens": 2000}}, "thinking: extended thinking"),
])
def test_count_tokens_validates_like_messages(fake, body, needle):
    response = count(fake, **body)
    assert response.status_code == 400 and needle in response.json()["error"]["message"]


def test_count_tokens_of_an_unknown_model_is_a_404(fake):
    response = count(fake, model="nope", messages=[{"role": "user", "content": "x"}])
    assert response.status_code == 404 and response.json()["error"]["type"] == "not_found_error"


def test_openai_models_list_has_chat_and_embedding_models(fake):
    body = httpx.get(f"{fake.openai_base_url}/models", timeout=10.0).json()
    assert {m["id"] for m in body["data"]} == {m.name for m in models_of("openai")}
    assert {"sim-embed-small", "sim-gpt-mini"} <= {m["id"] for m in body["data"]}
