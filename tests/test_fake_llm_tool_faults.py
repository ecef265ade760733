"""Every tool-call fault kind breaks the model's calls in its documented way, on both wire
formats, and only where a reply calls tools."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from fake_llm.faults import fault_kinds
from fake_llm.runner import FakeLLM

FETCH = {"type": "object", "properties": {"paper_id": {"type": "string"}, "max_chars": {"type": "integer"}},
         "required": ["paper_id", "max_chars"]}
ASK = [{"role": "user", "content": "Summarise P0042."}]
Calls = list[tuple[str, str]]  # (name, arguments text)


def openai_calls(fake: FakeLLM, messages: list[dict[str, Any]], stream: bool = False) -> Calls:
    body = {"model": "sim-gpt-large", "messages": messages, "stream": stream,
            "tools": [{"type": "function", "function": {"name": "get_paper", "parameters": FETCH}}]}
    response = httpx.post(f"{fake.openai_base_url}/chat/completions", json=body, timeout=10)
    if not stream:
        return [(c["function"]["name"], c["function"]["arguments"])
                for c in response.json()["choices"][0]["message"].get("tool_calls") or []]
    calls: dict[int, list[str]] = {}
    for line in response.text.splitlines():
        if line.startswith("data: {"):
            for delta in json.loads(line[6:])["choices"][0]["delta"].get("tool_calls") or []:
                name, args = calls.setdefault(delta["index"], ["", ""])
                calls[delta["index"]] = [name + delta["function"].get("name", ""),
                                         args + delta["function"].get("arguments", "")]
    return [(name, args) for name, args in calls.values()]


def anthropic_calls(fake: FakeLLM, messages: list[dict[str, Any]], stream: bool = False) -> Calls:
    body = {"model": "sim-claude-large", "max_tokens": 500, "messages": messages, "stream": stream,
            "tools": [{"name": "get_paper", "input_schema": FETCH}]}
    response = httpx.post(f"{fake.anthropic_base_url}/v1/messages", json=body, timeout=10)
    if not stream:
        return [(b["name"], json.dumps(b["input"])) for b in response.json()["content"]
                if b["type"] == "tool_use"]
    calls: list[list[str]] = []
    for line in response.text.splitlines():
        if not line.startswith("data: {"):
            continue
        event = json.loads(line[6:])
        if event["type"] == "content_block_start" and event["content_block"]["type"] == "tool_use":
            calls.append([event["content_block"]["name"], ""])
        elif event["type"] == "content_block_delta" and event["delta"]["type"] == "input_json_delta":
            calls[-1][1] += event["delta"]["partial_json"]
    return [(name, args) for name, args in calls]


def not_json(calls: Calls) -> bool:
    try:
        json.loads(calls[0][1])
    except ValueError:
        return True
    return False


def breaks_schema(calls: Calls) -> bool:
    args = json.loads(calls[0][1])
    return (set(args) != set(FETCH["required"]) or not isinstance(args["paper_id"], str)
            or not isinstance(args["max_chars"], int))


# kind -> (params, what must hold of the calls, wire formats it applies to)
CASES: dict[str, tuple[dict[str, Any], Callable[[Calls], bool]]] = {
    "tool_args_not_json": ({}, not_json),
    "tool_args_schema": ({"variant": "missing_key"}, breaks_schema),
    "tool_unknown_name": ({}, lambda calls: calls[0][0] == "get_paper_v2"),
    "tool_parallel_calls": ({"copies": 3}, lambda calls: len(calls) == 3 and len(set(calls)) == 1),
}
WIRES = {"openai": openai_calls, "anthropic": anthropic_calls}


def test_the_table_covers_every_tool_fault_kind():
    tools = {kind for kind, cls in fault_kinds().items() if cls.family == "tools"}
    assert tools == {*CASES, "tool_loop"}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("wire", list(WIRES))
@pytest.mark.parametrize("kind", list(CASES))
def test_each_tool_fault_breaks_the_calls_as_documented(fake, kind, wire, stream):
    params, holds = CASES[kind]
    fake.admin.script([{"fault": {"kind": kind, **params}}])
    calls = WIRES[wire](fake, ASK, stream)
    if kind == "tool_args_not_json" and wire == "anthropic" and not stream:
        assert not not_json(calls), "a plain Anthropic reply always carries a parsed input"
        assert fake.admin.ledger()[-1]["fault"] == "none"
        return
    assert fake.admin.ledger()[-1]["fault"] == kind
    assert holds(calls), calls
    clean = WIRES[wire](fake, ASK, stream)
    assert clean == [("get_paper", clean[0][1])] and not breaks_schema(clean)


@pytest.mark.parametrize("variant", ["missing_key", "wrong_type", "extra_key"])
def test_every_schema_variant_breaks_the_schema(fake, variant):
    fake.admin.script([{"fault": {"kind": "tool_args_schema", "variant": variant}}])
    assert breaks_schema(openai_calls(fake, ASK))


@pytest.mark.parametrize("variant", ["truncated", "single_quotes", "prose"])
def test_every_not_json_variant_is_not_json(fake, variant):
    fake.admin.script([{"fault": {"kind": "tool_args_not_json", "variant": variant}}])
    assert not_json(openai_calls(fake, ASK))


def test_tool_loop_repeats_the_last_call_without_end_instead_of_answering(fake):
    first = httpx.post(f"{fake.openai_base_url}/chat/completions", timeout=10, json={
        "model": "sim-gpt-large", "messages": ASK,
        "tools": [{"type": "function", "function": {"name": "get_paper", "parameters": FETCH}}]}).json()
    call = first["choices"][0]["message"]["tool_calls"][0]
    messages = [*ASK, first["choices"][0]["message"],
                {"role": "tool", "tool_call_id": call["id"], "content": "the paper"}]
    assert openai_calls(fake, messages) == [], "without the fault the model answers"
    fake.admin.script([{"fault": {"kind": "tool_loop"}, "times": None}])
    for _ in range(3):
        assert openai_calls(fake, messages) == [("get_paper", call["function"]["arguments"])]


def test_tool_faults_never_touch_a_text_reply_and_text_faults_never_a_tool_call(fake):
    fake.admin.script([{"fault": {"kind": "tool_unknown_name"}}])
    body = {"model": "sim-gpt-large", "messages": [{"role": "user", "content": "Summarise P0042."}]}
    plain = httpx.post(f"{fake.openai_base_url}/chat/completions", json=body, timeout=10)
    assert plain.headers["x-fake-llm-fault"] == "none"
    fake.admin.clear_script()
    fake.admin.script([{"fault": {"kind": "empty_content"}}])
    assert openai_calls(fake, ASK)[0][0] == "get_paper"
    assert fake.admin.ledger()[-1]["fault"] == "none"


def test_a_refusal_replaces_the_calls(fake):
    fake.admin.script([{"fault": {"kind": "refusal"}}])
    assert openai_calls(fake, ASK) == []


@pytest.mark.parametrize("kind", ["tool_args_not_json", "tool_args_schema"])
def test_strict_tools_never_get_broken_arguments(fake, kind):
    fake.admin.script([{"fault": {"kind": kind}, "times": None}])
    tool = {"type": "function", "function": {"name": "get_paper", "parameters": FETCH, "strict": True}}
    response = httpx.post(f"{fake.openai_base_url}/chat/completions", timeout=10, json={
        "model": "sim-gpt-large", "messages": ASK, "tools": [tool]})
    assert response.headers["x-fake-llm-fault"] == "none"
    arguments = response.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    assert not breaks_schema([("get_paper", arguments)])
