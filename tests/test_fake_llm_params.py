"""Request features the fake does not emulate get a 400 in the provider's shape naming them; what
only tunes sampling or bookkeeping is accepted; unknown parameters get the provider's own 400."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from fake_llm.runner import FakeLLM
from fake_llm.wire.params import TABLES, Api

DOC = (Path(__file__).parents[1] / "docs" / "fake-llm.md").read_text()
USER = [{"role": "user", "content": "Summarize paper P0042."}]


def chat(fake: FakeLLM, **body: Any) -> httpx.Response:
    return httpx.post(f"{fake.openai_base_url}/chat/completions", timeout=10.0,
                      json={"model": "sim-gpt-large", "messages": USER, **body})


def messages(fake: FakeLLM, **body: Any) -> httpx.Response:
    return httpx.post(f"{fake.anthropic_base_url}/v1/messages", timeout=10.0,
                      json={"model": "sim-claude-large", "max_tokens": 100, "messages": USER, **body})


@pytest.mark.parametrize(("param", "value", "feature"), [
    ("n", 2, "several choices"),
    ("logprobs", True, "log probabilities"),
    ("top_logprobs", 3, "log probabilities"),
    ("audio", {"voice": "alloy", "format": "wav"}, "audio output"),
    ("modalities", ["text", "audio"], "modalities other than text"),
    ("prediction", {"type": "content", "content": "x"}, "predicted outputs"),
    ("web_search_options", {}, "web search"),
    ("reasoning_effort", "low", "reasoning"),
    ("functions", [{"name": "f", "parameters": {}}], "legacy function calling"),
])
def test_openai_unemulated_features_are_refused_by_name(fake, param, value, feature):
    response = chat(fake, **{param: value})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error", param, "unsupported_parameter")
    assert feature in error["message"]
    assert fake.admin.ledger() == []


@pytest.mark.parametrize(("part", "feature"), [
    ({"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}, "image input"),
    ({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}, "audio input"),
    ({"type": "file", "file": {"file_id": "f"}}, "file input"),
])
def test_openai_unemulated_content_parts_are_refused_by_name(fake, part, feature):
    content = [{"type": "text", "text": "What is this?"}, part]
    error = chat(fake, messages=[{"role": "user", "content": content}]).json()["error"]
    assert (error["param"], error["code"]) == ("messages[0].content[1]", "unsupported_value")
    assert feature in error["message"]


@pytest.mark.parametrize(("param", "value", "feature"), [
    ("thinking", {"type": "enabled", "budget_tokens": 1024}, "extended thinking"),
    ("mcp_servers", [{"type": "url", "url": "https://x", "name": "x"}], "MCP servers"),
    ("container", "c1", "code execution containers"),
])
def test_anthropic_unemulated_features_are_refused_by_name(fake, param, value, feature):
    response = messages(fake, **{param: value})
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith(f"{param}: {feature}")


@pytest.mark.parametrize(("block", "feature"), [
    ({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
     "image input"),
    ({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}},
     "document input"),
])
def test_anthropic_unemulated_blocks_are_refused_by_name(fake, block, feature):
    content = [block, {"type": "text", "text": "Summarize paper P0042."}]
    error = messages(fake, messages=[{"role": "user", "content": content}]).json()["error"]
    assert error["message"].startswith(f"messages.0.content.0: {feature}")


def test_unknown_parameters_get_each_providers_own_400(fake):
    error = chat(fake, frobnicate=1).json()["error"]
    assert (error["param"], error["code"]) == ("frobnicate", "unknown_parameter")
    body = messages(fake, frobnicate=1).json()
    assert body["error"]["message"] == "frobnicate: Extra inputs are not permitted"


def test_defaults_of_refused_parameters_are_accepted(fake):
    assert chat(fake, n=1, logprobs=False, top_logprobs=None, modalities=["text"]).status_code == 200
    assert messages(fake, thinking={"type": "disabled"}, mcp_servers=[]).status_code == 200


def test_sampling_and_bookkeeping_parameters_are_accepted_and_change_nothing(fake):
    plain = chat(fake).json()["choices"][0]["message"]["content"]
    tuned = chat(fake, temperature=0.1, top_p=0.5, seed=7, user="u", metadata={"k": "v"}, stop=["\n"],
                 presence_penalty=0.5, frequency_penalty=0.5, store=False, service_tier="auto")
    assert tuned.status_code == 200
    assert tuned.json()["choices"][0]["message"]["content"] == plain
    assert messages(fake, temperature=0.1, top_p=0.5, top_k=5, stop_sequences=["x"],
                    metadata={"user_id": "u"}).status_code == 200


def doc_rows(api: Api) -> list[str]:
    """The rows of docs/fake-llm.md's parameter table for one API, derived from its table."""
    table = TABLES[api]

    def names(items: Iterable[str]) -> str:
        return ", ".join(f"`{name}`" for name in items) or "—"

    refused = "; ".join(f"`{name}` ({rule.when}): {rule.feature}" for name, rule in table.refused.items())
    blocks = "; ".join(f"`{kind}`: {feature}" for kind, feature in table.blocks.items())
    return [f"| {api} | emulated | {names(table.handled)} |",
            f"| {api} | accepted and ignored | {names(table.ignored)} |",
            f"| {api} | refused: 400 naming the feature | {refused or '—'} |",
            f"| {api} | refused content parts and blocks | {blocks or '—'} |"]


@pytest.mark.parametrize("api", list(TABLES))
def test_the_docs_table_of_parameters_is_the_code_table(api):
    for row in doc_rows(api):
        assert row in DOC, row
