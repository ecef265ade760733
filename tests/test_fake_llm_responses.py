"""The Responses API (``POST /v1/responses``): the same model, faults, ledger and fates as chat
completions, in the Responses shapes, plain and streamed as typed events."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from fake_llm.corpus import get_paper
from fake_llm.faults.content import REFUSAL_TEXT
from fake_llm.runner import FakeLLM

SUMMARY = "Summarize paper P0042."
EVENTS = ["response.created", "response.in_progress", "response.output_item.added",
          "response.content_part.added"]
ENDING = ["response.output_text.done", "response.content_part.done", "response.output_item.done"]


def post(fake: FakeLLM, **body: Any) -> httpx.Response:
    body = {"model": "sim-gpt-large", "input": SUMMARY, **body}
    return httpx.post(f"{fake.openai_base_url}/responses", json=body, timeout=10.0,
                      headers={"authorization": "Bearer k"})


def events(response: httpx.Response) -> list[dict[str, Any]]:
    """The stream's events, each checked to name its type in both its SSE event and its data."""
    out = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        data = json.loads(lines["data"])
        assert lines["event"] == data["type"]
        out.append(data)
    return out


def script(fake: FakeLLM, kind: str, **params: Any) -> None:
    fake.admin.script([{"fault": {"kind": kind, **params}, "times": 1}])


def test_plain_answer_is_ground_truth_with_usage_and_a_ledger_row(fake):
    response = post(fake, instructions="You are terse.")
    body = response.json()
    assert response.status_code == 200
    assert body["object"] == "response" and body["status"] == "completed"
    assert body["id"].startswith("resp_") and body["instructions"] == "You are terse."
    [item] = body["output"]
    assert item["type"] == "message" and item["role"] == "assistant" and item["id"].startswith("msg_")
    assert item["content"] == [{"type": "output_text", "text": get_paper("P0042").summary(),
                                "annotations": [], "logprobs": []}]
    usage = body["usage"]
    [row] = fake.admin.ledger()
    assert (row["task"], row["paper_ids"], row["status"]) == ("summary", ["P0042"], 200)
    assert (usage["input_tokens"], usage["output_tokens"]) == (row["tokens_in"], row["tokens_out"])
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    assert response.headers["x-request-id"] == f"req_{row['id']}"


def test_input_as_messages_reads_every_text_part(fake):
    messages = [{"role": "developer", "content": "Answer briefly."},
                {"type": "message", "role": "user",
                 "content": [{"type": "input_text", "text": "Please summarize"},
                             {"type": "input_text", "text": "paper P0007."}]}]
    body = post(fake, input=messages).json()
    assert body["output"][0]["content"][0]["text"] == get_paper("P0007").summary()


def test_stream_sends_the_typed_events_in_order_with_sequence_numbers(fake):
    stream = events(post(fake, stream=True))
    kinds = [e["type"] for e in stream]
    deltas = [e for e in stream if e["type"] == "response.output_text.delta"]
    assert kinds == [*EVENTS, *["response.output_text.delta"] * len(deltas), *ENDING,
                     "response.completed"]
    assert [e["sequence_number"] for e in stream] == list(range(len(stream)))
    text = "".join(e["delta"] for e in deltas)
    assert len(deltas) > 1 and text == get_paper("P0042").summary()
    assert stream[-4]["text"] == text
    final = stream[-1]["response"]
    assert final["output"][0]["content"][0]["text"] == text
    assert final["usage"]["output_tokens"] == fake.admin.ledger()[0]["tokens_out"]
    assert stream[0]["response"]["status"] == "in_progress" and stream[0]["response"]["usage"] is None


def test_max_output_tokens_cuts_the_answer_and_marks_it_incomplete(fake):
    body = post(fake, max_output_tokens=16).json()
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["usage"]["output_tokens"] == 16
    stream = events(post(fake, max_output_tokens=16, stream=True))
    assert stream[-1]["type"] == "response.incomplete"


def test_max_output_tokens_below_the_minimum_is_refused(fake):
    error = post(fake, max_output_tokens=15).json()["error"]
    assert (error["param"], error["code"]) == ("max_output_tokens", "integer_below_min_value")


def test_a_refusal_is_a_refusal_part_plain_and_streamed(fake):
    script(fake, "refusal")
    assert post(fake).json()["output"][0]["content"] == [{"type": "refusal", "refusal": REFUSAL_TEXT}]
    script(fake, "refusal")
    stream = events(post(fake, stream=True))
    kinds = {e["type"] for e in stream}
    assert "response.refusal.delta" in kinds and "response.refusal.done" in kinds
    assert "response.output_text.delta" not in kinds


def test_http_faults_and_content_faults_apply_as_on_chat_completions(fake):
    script(fake, "http_error", status=503)
    response = post(fake)
    assert response.status_code == 503 and response.json()["error"]["type"] == "server_error"
    fake.admin.script([{"fault": {"kind": "json_fences"}, "times": 1}])
    body = post(fake, input="Extract the fields of paper P0042 as JSON.").json()
    assert body["output"][0]["content"][0]["text"].startswith("```json")
    assert [row["fault"] for row in fake.admin.ledger()] == ["http_error", "json_fences"]


def test_error_event_sends_error_then_response_failed(fake):
    script(fake, "error_event", after_chunks=1)
    stream = events(post(fake, stream=True))
    kinds = [e["type"] for e in stream]
    assert kinds[-2:] == ["error", "response.failed"]
    assert stream[-1]["response"]["status"] == "failed"
    assert stream[-1]["response"]["error"]["code"] == "server_error"
    assert "response.completed" not in kinds


def test_truncate_ends_the_stream_without_a_terminal_event(fake):
    script(fake, "truncate", keep_fraction=0.5)
    kinds = [e["type"] for e in events(post(fake, stream=True))]
    assert kinds[-1] == "response.output_text.delta"
    assert fake.admin.ledger()[0]["usage_reported"] is False


@pytest.mark.parametrize(("body", "param", "code"), [
    ({"input": None}, "input", "missing_required_parameter"),
    ({"input": []}, "input", "invalid_type"),
    ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role", "invalid_value"),
    ({"input": [{"type": "function_call_output", "call_id": "c", "output": "x"}]}, "input[0].type",
     "unsupported_value"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
     "input[0].content[0]", "unsupported_value"),
    ({"model": "sim-embed-small"}, "model", "invalid_value"),
    ({"model": "nope"}, None, "model_not_found"),
    ({"stream_options": {"include_obfuscation": False}}, "stream_options", "invalid_value"),
    ({"text": {"format": {"type": "json_object"}}}, "text", "unsupported_parameter"),
    ({"tools": [{"type": "function", "name": "f", "parameters": {}}]}, "tools", "unsupported_parameter"),
    ({"previous_response_id": "resp_1"}, "previous_response_id", "unsupported_parameter"),
    ({"reasoning": {"effort": "high"}}, "reasoning", "unsupported_parameter"),
    ({"frobnicate": 1}, "frobnicate", "unknown_parameter"),
])
def test_bad_and_unemulated_requests_get_a_400_naming_the_parameter(fake, body, param, code):
    response = post(fake, **body)
    error = response.json()["error"]
    assert response.status_code in (400, 404)
    assert (error["param"], error["code"]) == (param, code)
    assert fake.admin.ledger() == []


def test_sampling_and_bookkeeping_parameters_are_accepted(fake):
    response = post(fake, temperature=0.2, top_p=0.9, metadata={"a": "b"}, store=False, user="u",
                    truncation="disabled", text={"format": {"type": "text"}}, tools=[],
                    reasoning={"effort": None})
    assert response.status_code == 200
    assert response.json()["metadata"] == {"a": "b"}


@pytest.mark.parametrize(("params", "last", "reason"), [
    ({"finish_reason": "stop"}, "response.completed", None),
    ({"finish_reason": "length"}, "response.incomplete", "max_output_tokens"),
    ({"finish_reason": "content_filter"}, "response.incomplete", "content_filter"),
    ({"finish_reason": None}, "response.incomplete", None),
    ({"finish_reason": "stop", "end_marker": False}, "response.output_item.done", None),
])
def test_stream_endings(fake, params, last, reason):
    script(fake, "stream_end", **params)
    stream = events(post(fake, stream=True))
    assert stream[-1]["type"] == last
    if "response" in stream[-1]:
        details = stream[-1]["response"]["incomplete_details"]
        assert (details or {}).get("reason") == reason
        assert stream[-1]["response"]["usage"]["output_tokens"] > 0


def test_corrupt_chunk_cuts_one_delta_events_json(fake):
    script(fake, "corrupt_chunk", chunk_index=1)
    response = post(fake, stream=True)
    broken = []
    for block in filter(None, response.text.split("\n\n")):
        data = block.partition("data: ")[2]
        try:
            json.loads(data)
        except json.JSONDecodeError:
            broken.append(block)
    assert len(broken) == 1 and "response.output_text.delta" in broken[0]
