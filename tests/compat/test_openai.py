"""The openai SDK against the fake (calm): chat, ``chat.completions.parse`` with a pydantic model,
and tools, plain and streamed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from fake_llm.corpus import get_paper
from fake_llm.runner import FakeLLM
from tests.compat.extraction import Extraction, truth

openai = pytest.importorskip("openai")

pytestmark = pytest.mark.compat

FETCH = {"type": "function", "function": {
    "name": "get_paper", "description": "Fetch one paper by id.",
    "parameters": {"type": "object", "properties": {"paper_id": {"type": "string"}},
                   "required": ["paper_id"], "additionalProperties": False}}}



@pytest.fixture
def client(fake: FakeLLM) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake.openai_base_url, api_key="test-key", max_retries=0) as client:
        yield client


def test_chat_completion(client):
    completion = client.chat.completions.create(
        model="sim-gpt-large", messages=[{"role": "user", "content": "Summarize paper P0042."}])
    assert completion.choices[0].message.content == get_paper("P0042").summary()
    assert completion.usage.completion_tokens > 0


def test_parse_with_a_pydantic_model_gets_the_ground_truth(client):
    completion = client.chat.completions.parse(
        model="sim-gpt-large", response_format=Extraction,
        messages=[{"role": "user", "content": "Extract the fields of P0042."}])
    parsed = completion.choices[0].message.parsed
    assert parsed == truth()


def test_parse_on_a_prompt_the_model_does_not_recognise_still_follows_the_schema(client):
    completion = client.chat.completions.parse(
        model="sim-gpt-mini", response_format=Extraction,
        messages=[{"role": "user", "content": "Tell me something."}])
    assert isinstance(completion.choices[0].message.parsed, Extraction)


def test_tools_plain_then_the_tool_result_turn(client):
    messages: list = [{"role": "user", "content": "Summarize paper P0042."}]
    first = client.chat.completions.create(model="sim-gpt-large", messages=messages, tools=[FETCH])
    assert first.choices[0].finish_reason == "tool_calls"
    [call] = first.choices[0].message.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_paper", {"paper_id": "P0042"})
    messages += [first.choices[0].message,
                 {"role": "tool", "tool_call_id": call.id, "content": "P0042: the paper"}]
    final = client.chat.completions.create(model="sim-gpt-large", messages=messages, tools=[FETCH])
    assert final.choices[0].message.content == get_paper("P0042").summary()


def test_tools_streamed_with_the_stream_helper(client):
    with client.chat.completions.stream(
            model="sim-gpt-large", tools=[{**FETCH, "function": {**FETCH["function"], "strict": True}}],
            messages=[{"role": "user", "content": "Summarize paper P0042."}]) as stream:
        completion = stream.get_final_completion()
    [call] = completion.choices[0].message.tool_calls
    assert call.function.parsed_arguments == {"paper_id": "P0042"}
    assert completion.choices[0].finish_reason == "tool_calls"


def test_tools_streamed_raw_chunks_add_up_to_the_call(client):
    chunks = client.chat.completions.create(
        model="sim-gpt-large", tools=[FETCH], stream=True,
        messages=[{"role": "user", "content": "Summarize paper P0042."}])
    arguments, finish = "", None
    for chunk in chunks:
        choice = chunk.choices[0]
        for delta in choice.delta.tool_calls or ():
            arguments += delta.function.arguments or ""
        finish = choice.finish_reason or finish
    assert json.loads(arguments) == {"paper_id": "P0042"} and finish == "tool_calls"
