"""The anthropic SDK against the fake (calm): tools, the tool-result turn, and the
``messages.stream`` helper, with text and with tool use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_llm.corpus import get_paper
from fake_llm.runner import FakeLLM

anthropic = pytest.importorskip("anthropic")

pytestmark = pytest.mark.compat

FETCH = {"name": "get_paper", "description": "Fetch one paper by id.",
         "input_schema": {"type": "object", "properties": {"paper_id": {"type": "string"}},
                          "required": ["paper_id"]}}
ASK = [{"role": "user", "content": "Summarize paper P0042."}]


@pytest.fixture
def client(fake: FakeLLM) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key="test-key", max_retries=0) as client:
        yield client


def test_tools_then_the_tool_result_turn(client):
    first = client.messages.create(model="sim-claude-large", max_tokens=500, messages=ASK, tools=[FETCH])
    assert first.stop_reason == "tool_use"
    [block] = first.content
    assert (block.type, block.name, block.input) == ("tool_use", "get_paper", {"paper_id": "P0042"})
    final = client.messages.create(
        model="sim-claude-large", max_tokens=500, tools=[FETCH],
        messages=[*ASK, {"role": "assistant", "content": first.content},
                  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id,
                                                "content": "P0042: the paper"}]}])
    assert final.stop_reason == "end_turn"
    assert final.content[0].text == get_paper("P0042").summary()


def test_a_forced_tool_is_structured_output(client):
    record = {"name": "record_extraction", "input_schema": {"type": "object", "properties": {
        "sample_size": {"type": "integer"}, "outcome": {"type": "string"}}}}
    message = client.messages.create(
        model="sim-claude-mini", max_tokens=500, tools=[FETCH, record],
        tool_choice={"type": "tool", "name": "record_extraction"},
        messages=[{"role": "user", "content": "Extract the fields of P0042."}])
    paper = get_paper("P0042")
    assert message.content[0].input == {"sample_size": paper.sample_size, "outcome": paper.outcome}


def test_the_stream_helper_with_text(client):
    with client.messages.stream(model="sim-claude-large", max_tokens=500, messages=ASK) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == get_paper("P0042").summary() == final.content[0].text
    assert final.usage.output_tokens > 0


def test_the_stream_helper_with_tool_use(client):
    with client.messages.stream(model="sim-claude-large", max_tokens=500, messages=ASK,
                                tools=[FETCH]) as stream:
        partial = "".join(event.partial_json for event in stream if event.type == "input_json")
        final = stream.get_final_message()
    assert partial == '{"paper_id": "P0042"}'
    assert final.stop_reason == "tool_use"
    assert final.content[0].input == {"paper_id": "P0042"}
