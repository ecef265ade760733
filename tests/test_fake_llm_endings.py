"""The fake's stream endings (``stream_end``) on both wire formats, and its scripted answer text
(``answer_text``), read off the raw bytes the client receives."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from fake_llm.corpus import get_paper
from fake_llm.faults import make_fault
from fake_llm.runner import FakeLLM

SUMMARY = [{"role": "user", "content": "Summarize paper P0042."}]


def _frames(fake: FakeLLM, provider: str) -> list[tuple[str | None, str]]:
    """One streamed summary of P0042 as (event name, data) frames, in order."""
    if provider == "openai":
        url = f"{fake.openai_base_url}/chat/completions"
        body: dict[str, Any] = {"model": "sim-gpt-large", "messages": SUMMARY, "stream": True,
                                "stream_options": {"include_usage": True}}
    else:
        url = f"{fake.anthropic_base_url}/v1/messages"
        body = {"model": "sim-claude-large", "max_tokens": 1000, "messages": SUMMARY, "stream": True}
    response = httpx.post(url, json=body, headers={"authorization": "Bearer k", "x-api-key": "k"},
                          timeout=10.0)
    assert response.status_code == 200, response.text
    frames = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        event = None
        data = ""
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = line.removeprefix("data: ")
        frames.append((event, data))
    return frames


def _openai_ending(frames: list[tuple[str | None, str]]) -> tuple[str, list[str | None], bool, bool]:
    """The text, the finish reasons seen, whether usage came, whether [DONE] came last."""
    text, reasons, usage = [], [], False
    for _, data in frames:
        if data == "[DONE]":
            continue
        chunk = json.loads(data)
        usage = usage or bool(chunk.get("usage"))
        for choice in chunk["choices"]:
            text.append(choice["delta"].get("content") or "")
            if choice["finish_reason"] is not None:
                reasons.append(choice["finish_reason"])
    return "".join(text), reasons, usage, frames[-1][1] == "[DONE]"


def _anthropic_ending(frames: list[tuple[str | None, str]]) -> tuple[str, list[Any], bool]:
    """The text, the stop reasons of message_delta events, whether message_stop came last."""
    text, reasons = [], []
    for event, data in frames:
        payload = json.loads(data)
        if event == "content_block_delta":
            text.append(payload["delta"]["text"])
        elif event == "message_delta":
            reasons.append(payload["delta"]["stop_reason"])
    return "".join(text), reasons, frames[-1][0] == "message_stop"


def _script(fake: FakeLLM, **params: Any) -> None:
    fake.admin.script([{"fault": {"kind": "stream_end", **params}, "times": 1}])


FULL = get_paper("P0042").summary()
OPENAI_CASES = [  # (params, finish reasons seen, [DONE] last)
    ({}, ["stop"], True),
    ({"end_marker": False}, ["stop"], False),
    ({"finish_reason": None}, [], True),
    ({"finish_reason": None, "end_marker": False}, [], False),
    ({"finish_reason": "length"}, ["length"], True),
    ({"finish_reason": "content_filter"}, ["content_filter"], True),
]


@pytest.mark.parametrize(("params", "reasons", "done"), OPENAI_CASES)
def test_openai_stream_endings(fake: FakeLLM, params: dict[str, Any], reasons: list[str],
                               done: bool) -> None:
    _script(fake, **params)
    text, seen, usage, done_last = _openai_ending(_frames(fake, "openai"))
    assert text == FULL, "every ending carries the whole answer"
    assert seen == reasons and done_last == done and usage
    assert all(data != "[DONE]" for _, data in _frames(fake, "openai")[:-1])


ANTHROPIC_CASES = [  # (params, stop reasons in message_delta, message_stop last)
    ({}, ["end_turn"], True),
    ({"end_marker": False}, ["end_turn"], False),
    ({"finish_reason": None}, [None], True),
    ({"finish_reason": "length"}, ["max_tokens"], True),
]


@pytest.mark.parametrize(("params", "reasons", "stop"), ANTHROPIC_CASES)
def test_anthropic_stream_endings(fake: FakeLLM, params: dict[str, Any], reasons: list[Any],
                                  stop: bool) -> None:
    _script(fake, **params)
    text, seen, stop_last = _anthropic_ending(_frames(fake, "anthropic"))
    assert text == FULL and seen == reasons and stop_last == stop


def test_content_filter_is_openai_only(fake: FakeLLM) -> None:
    """On an Anthropic stream the rule does not apply: the stream is the usual complete one,
    and the rule waits for an OpenAI stream."""
    _script(fake, finish_reason="content_filter")
    assert _anthropic_ending(_frames(fake, "anthropic")) == (FULL, ["end_turn"], True)
    assert _openai_ending(_frames(fake, "openai"))[1] == ["content_filter"]


def test_stream_end_leaves_plain_requests_alone(fake: FakeLLM) -> None:
    _script(fake, end_marker=False)
    response = httpx.post(f"{fake.openai_base_url}/chat/completions", timeout=10.0,
                          json={"model": "sim-gpt-large", "messages": SUMMARY},
                          headers={"authorization": "Bearer k"})
    assert response.json()["choices"][0]["finish_reason"] == "stop"
    assert _openai_ending(_frames(fake, "openai"))[3] is False


def test_stream_end_rejects_unknown_reasons() -> None:
    with pytest.raises(ValidationError):
        make_fault({"kind": "stream_end", "finish_reason": "tool_calls"})


ANSWER = [{"role": "user", "content": "Question: does it work?\nSources:\n[1] P0001: a\n[2] P0002: b"}]


def test_answer_text_is_sent_verbatim(fake: FakeLLM) -> None:
    text = "[7]Tutoring helped.  [0] It did\n[2] not [9],\tmuch [1]."
    fake.admin.script([{"fault": {"kind": "answer_text", "text": text}, "times": 1}])
    response = httpx.post(f"{fake.openai_base_url}/chat/completions", timeout=10.0,
                          json={"model": "sim-gpt-large", "messages": ANSWER},
                          headers={"authorization": "Bearer k"})
    assert response.json()["choices"][0]["message"]["content"] == text


def test_answer_text_waits_for_an_answer_and_needs_text(fake: FakeLLM) -> None:
    fake.admin.script([{"fault": {"kind": "answer_text", "text": "No sources [3]."}, "times": 1}])
    summary = httpx.post(f"{fake.openai_base_url}/chat/completions", timeout=10.0,
                         json={"model": "sim-gpt-large", "messages": SUMMARY},
                         headers={"authorization": "Bearer k"})
    assert summary.json()["choices"][0]["message"]["content"] == FULL
    with pytest.raises(ValidationError):
        make_fault({"kind": "answer_text", "text": ""})
    with pytest.raises(ValidationError):
        make_fault({"kind": "answer_text"})
