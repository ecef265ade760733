"""Structured outputs: the answer follows the requested schema, filled from ground truth, and
meets only the faults a real provider could produce for that kind of output."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from fake_llm.corpus import get_paper
from fake_llm.runner import FakeLLM
from fake_llm.structured import Hints, fill

EXTRACTION = {"type": "object", "additionalProperties": False, "required": [
    "paper_id", "population", "intervention", "outcome", "sample_size", "effect_direction"],
    "properties": {"paper_id": {"type": "string"}, "population": {"type": "string"},
                   "intervention": {"type": "string"}, "outcome": {"type": "string"},
                   "sample_size": {"type": "integer"},
                   "effect_direction": {"type": "string", "enum": ["increase", "decrease", "no_effect"]}}}
EXTRACT = [{"role": "user", "content": "Extract the fields of P0042 as JSON."}]


def schema_format(schema: dict[str, Any], strict: bool = True) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "extraction", "schema": schema, "strict": strict}}


def chat(fake: FakeLLM, messages: list[dict[str, Any]], **body: Any) -> httpx.Response:
    return httpx.post(f"{fake.openai_base_url}/chat/completions", timeout=10,
                      json={"model": "sim-gpt-large", "messages": messages, **body})


def content(response: httpx.Response) -> str:
    return response.json()["choices"][0]["message"]["content"]


def test_a_json_schema_answer_is_the_papers_ground_truth(fake):
    response = chat(fake, EXTRACT, response_format=schema_format(EXTRACTION))
    assert json.loads(content(response)) == {"paper_id": "P0042", **get_paper("P0042").truth()}


def test_an_unknown_prompt_gets_values_of_the_schemas_types_the_same_every_time(fake):
    schema = {"type": "object", "properties": {
        "title": {"type": "string"}, "count": {"type": "integer", "minimum": 3, "maximum": 5},
        "score": {"type": "number"}, "flag": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "kind": {"enum": ["a", "b"]}, "maybe": {"anyOf": [{"type": "null"}, {"type": "integer"}]}}}
    prompt = [{"role": "user", "content": "Say something."}]
    first = json.loads(content(chat(fake, prompt, response_format=schema_format(schema))))
    again = json.loads(content(chat(fake, [*prompt, {"role": "user", "content": "again"}],
                                    response_format=schema_format(schema))))
    assert first == again
    assert isinstance(first["title"], str) and 3 <= first["count"] <= 5
    assert isinstance(first["score"], float) and first["flag"] is True
    assert len(first["tags"]) == 2 and first["kind"] == "a" and isinstance(first["maybe"], int)


def test_refs_and_defs_are_followed():
    schema = {"$defs": {"Finding": {"type": "object", "properties": {"sample_size": {"type": "integer"}}}},
              "type": "object", "properties": {"finding": {"$ref": "#/$defs/Finding"},
                                               "paper_id": {"type": "string"}}}
    paper = get_paper("P0042")
    value = fill(schema, Hints(paper, ("P0042",)))
    assert value == {"finding": {"sample_size": paper.sample_size}, "paper_id": "P0042"}


def test_json_object_answers_the_tasks_json(fake):
    extraction = json.loads(content(chat(fake, EXTRACT, response_format={"type": "json_object"})))
    assert extraction == {"paper_id": "P0042", **get_paper("P0042").truth()}
    summary = json.loads(content(chat(fake, [{"role": "user", "content": "Summarise P0042 as JSON."}],
                                      response_format={"type": "json_object"})))
    assert summary == {"paper_id": "P0042", "summary": get_paper("P0042").summary()}


@pytest.mark.parametrize("kind", ["json_fences", "json_single_quotes", "json_trailing_comma",
                                  "json_prose_wrap", "schema_drift", "empty_content"])
def test_strict_json_schema_never_meets_a_malformed_json_fault(fake, kind):
    fake.admin.script([{"fault": {"kind": kind}, "times": None}])
    strict = chat(fake, EXTRACT, response_format=schema_format(EXTRACTION))
    assert strict.headers["x-fake-llm-fault"] == "none"
    assert json.loads(content(strict))["paper_id"] == "P0042"


@pytest.mark.parametrize("fmt", [{"type": "json_object"}, schema_format(EXTRACTION, strict=False)])
def test_json_object_and_non_strict_schemas_may_meet_malformed_json(fake, fmt):
    fake.admin.script([{"fault": {"kind": "json_fences"}}])
    response = chat(fake, EXTRACT, response_format=fmt)
    assert response.headers["x-fake-llm-fault"] == "json_fences"
    assert content(response).startswith("```json")


def test_strict_outputs_meet_refusals_and_length_cut_offs(fake):
    fake.admin.script([{"fault": {"kind": "refusal"}}, {"fault": {"kind": "json_truncated"}}])
    refused = chat(fake, EXTRACT, response_format=schema_format(EXTRACTION)).json()["choices"][0]
    assert refused["message"]["content"] is None and refused["message"]["refusal"]
    cut = chat(fake, EXTRACT, response_format=schema_format(EXTRACTION)).json()["choices"][0]
    assert cut["finish_reason"] == "length"
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut["message"]["content"])


def test_max_tokens_cuts_a_structured_answer_with_finish_reason_length(fake):
    cut = chat(fake, EXTRACT, response_format=schema_format(EXTRACTION), max_tokens=5).json()["choices"][0]
    assert cut["finish_reason"] == "length" and len(cut["message"]["content"]) == 20


def test_a_streamed_structured_answer_is_the_same_json(fake):
    response = chat(fake, EXTRACT, response_format=schema_format(EXTRACTION), stream=True)
    text = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
                   for line in response.text.splitlines()
                   if line.startswith("data: {"))
    assert json.loads(text) == {"paper_id": "P0042", **get_paper("P0042").truth()}


def test_response_format_needs_a_named_schema(fake):
    response = chat(fake, EXTRACT, response_format={"type": "json_schema", "json_schema": {"schema": {}}})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "response_format.json_schema.name"
