"""Tool calls on both wire formats: what the model calls, with which arguments, plain and streamed,
and the answer after the tool results."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from fake_llm.corpus import get_paper
from fake_llm.runner import FakeLLM

SEARCH = {"name": "search_papers", "description": "Search the corpus.",
          "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                         "required": ["query"]}}
FETCH = {"name": "get_paper", "description": "Fetch one paper.",
         "parameters": {"type": "object", "properties": {"paper_id": {"type": "string"}},
                        "required": ["paper_id"]}}
QUESTION = "Does mindfulness help people sleep?"


def oai_tools(*tools: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": tool} for tool in tools]


def ant_tools(*tools: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": t["name"], "description": t["description"], "input_schema": t["parameters"]}
            for t in tools]


def chat(fake: FakeLLM, messages: list[dict[str, Any]], **body: Any) -> httpx.Response:
    return httpx.post(f"{fake.openai_base_url}/chat/completions", timeout=10,
                      json={"model": "sim-gpt-large", "messages": messages, **body})


def message(fake: FakeLLM, messages: list[dict[str, Any]], **body: Any) -> httpx.Response:
    return httpx.post(f"{fake.anthropic_base_url}/v1/messages", timeout=10,
                      json={"model": "sim-claude-large", "max_tokens": 1000, "messages": messages, **body})


def sse_data(response: httpx.Response) -> list[Any]:
    return [json.loads(line[6:]) for line in response.text.splitlines()
            if line.startswith("data: ") and line != "data: [DONE]"]


def calls_of(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    choice = response.json()["choices"][0]
    return [(c["function"]["name"], json.loads(c["function"]["arguments"]))
            for c in choice["message"].get("tool_calls") or []]


def test_a_paper_id_tool_is_called_with_the_paper_the_prompt_names(fake):
    response = chat(fake, [{"role": "user", "content": "Summarise P0042 please."}],
                    tools=oai_tools(SEARCH, FETCH))
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert calls_of(response) == [("get_paper", {"paper_id": "P0042"})]
    assert choice["message"]["tool_calls"][0]["id"].startswith("call_")


def test_a_query_tool_is_called_with_the_question(fake):
    response = chat(fake, [{"role": "user", "content": QUESTION}], tools=oai_tools(SEARCH, FETCH))
    assert calls_of(response) == [("search_papers", {"query": QUESTION})]


def test_tool_choice_none_and_no_matching_tool_answer_in_text(fake):
    none = chat(fake, [{"role": "user", "content": "Summarise P0042."}], tools=oai_tools(FETCH),
                tool_choice="none")
    assert none.json()["choices"][0]["message"]["content"] == get_paper("P0042").summary()
    unrelated = chat(fake, [{"role": "user", "content": "Hello there"}], tools=oai_tools(FETCH))
    assert unrelated.json()["choices"][0]["finish_reason"] == "stop"


def test_a_forced_tool_is_called_with_arguments_from_its_schema(fake):
    schema = {"type": "object", "properties": {
        "paper_id": {"type": "string"}, "sample_size": {"type": "integer"},
        "effect_direction": {"type": "string", "enum": ["increase", "decrease", "no_effect"]},
        "notes": {"type": "string"}}, "required": ["paper_id", "sample_size"]}
    tool = {"name": "record", "description": "", "parameters": schema}
    response = chat(fake, [{"role": "user", "content": "Extract the fields of P0042."}],
                    tools=oai_tools(SEARCH, tool),
                    tool_choice={"type": "function", "function": {"name": "record"}})
    [(name, args)] = calls_of(response)
    paper = get_paper("P0042")
    assert name == "record"
    assert args["paper_id"] == "P0042" and args["sample_size"] == paper.sample_size
    assert args["effect_direction"] == paper.effect_direction and isinstance(args["notes"], str)


def test_the_agent_loop_searches_fetches_the_top_papers_then_answers_citing_them(fake):
    messages: list[dict[str, Any]] = [{"role": "user", "content": QUESTION}]
    tools = oai_tools(SEARCH, FETCH)
    first = chat(fake, messages, tools=tools).json()["choices"][0]["message"]
    messages += [first, {"role": "tool", "tool_call_id": first["tool_calls"][0]["id"],
                         "content": "P0007: a trial\nP0120: another\nP0033: a third"}]
    second = chat(fake, messages, tools=tools)
    assert calls_of(second) == [("get_paper", {"paper_id": "P0007"}), ("get_paper", {"paper_id": "P0120"})]
    reply = second.json()["choices"][0]["message"]
    messages.append(reply)
    messages += [{"role": "tool", "tool_call_id": c["id"], "content": "the paper's text"}
                 for c in reply["tool_calls"]]
    final = chat(fake, messages, tools=tools).json()["choices"][0]
    assert final["finish_reason"] == "stop"
    assert "[P0007]" in final["message"]["content"] and "[P0120]" in final["message"]["content"]
    assert "P0033" not in final["message"]["content"]


def test_without_parallel_calls_the_agent_fetches_one_paper_at_a_time(fake):
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Compare P0001 and P0002."}]
    response = chat(fake, messages, tools=oai_tools(FETCH), parallel_tool_calls=False)
    assert calls_of(response) == [("get_paper", {"paper_id": "P0001"})]


def test_an_openai_stream_sends_the_call_as_argument_deltas(fake):
    response = chat(fake, [{"role": "user", "content": "Summarise P0042."}], tools=oai_tools(FETCH),
                    stream=True, stream_options={"include_usage": True})
    chunks = sse_data(response)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    calls = [d["tool_calls"][0] for d in deltas if d.get("tool_calls")]
    assert calls[0]["id"].startswith("call_")
    assert calls[0]["function"] == {"name": "get_paper", "arguments": ""}
    assert len(calls) > 2, "the arguments come in several pieces"
    assert json.loads("".join(c["function"]["arguments"] for c in calls)) == {"paper_id": "P0042"}
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    assert chunks[-1]["usage"]["completion_tokens"] > 0


def test_an_anthropic_reply_is_a_tool_use_block(fake):
    response = message(fake, [{"role": "user", "content": "Summarise P0042."}], tools=ant_tools(FETCH))
    body = response.json()
    assert body["stop_reason"] == "tool_use"
    [block] = body["content"]
    assert block["type"] == "tool_use" and block["id"].startswith("toolu_")
    assert (block["name"], block["input"]) == ("get_paper", {"paper_id": "P0042"})


def test_an_anthropic_stream_sends_tool_use_as_input_json_deltas(fake):
    response = message(fake, [{"role": "user", "content": "Summarise P0042."}], tools=ant_tools(FETCH),
                       stream=True)
    events = sse_data(response)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    start = next(e for e in events if e["type"] == "content_block_start")
    assert start["index"] == 0 and start["content_block"]["type"] == "tool_use"
    partial = "".join(e["delta"]["partial_json"] for e in events if e["type"] == "content_block_delta")
    assert json.loads(partial) == {"paper_id": "P0042"}
    assert next(e for e in events if e["type"] == "message_delta")["delta"]["stop_reason"] == "tool_use"
    assert [e["index"] for e in events if e["type"] == "content_block_stop"] == [0]


def test_after_an_anthropic_tool_result_the_model_answers(fake):
    first = message(fake, [{"role": "user", "content": "Summarise P0042."}], tools=ant_tools(FETCH)).json()
    result = {"type": "tool_result", "tool_use_id": first["content"][0]["id"], "content": "P0042 ..."}
    final = message(fake, [{"role": "user", "content": "Summarise P0042."},
                           {"role": "assistant", "content": first["content"]},
                           {"role": "user", "content": [result]}], tools=ant_tools(FETCH)).json()
    assert final["stop_reason"] == "end_turn"
    assert final["content"] == [{"type": "text", "text": get_paper("P0042").summary()}]


def test_anthropic_any_calls_a_tool_and_a_named_choice_calls_that_one(fake):
    out = {"name": "final_result", "description": "", "parameters": {
        "type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}}
    anyone = message(fake, [{"role": "user", "content": "Hello"}], tools=ant_tools(FETCH, out),
                     tool_choice={"type": "any"}).json()
    assert [b["name"] for b in anyone["content"]] == ["final_result"]
    named = message(fake, [{"role": "user", "content": "Hello"}], tools=ant_tools(FETCH, out),
                    tool_choice={"type": "tool", "name": "get_paper"}).json()
    assert [b["name"] for b in named["content"]] == ["get_paper"]


@pytest.mark.parametrize(("body", "names"), [
    ({"tools": "nope"}, "tools"),
    ({"tools": [{"type": "function"}]}, "tools[0]"),
    ({"tools": [{"type": "function", "function": {"description": "x"}}]}, "tools[0].function.name"),
    ({"tools": [{"type": "function", "function": {"name": "a"}}],
      "tool_choice": {"type": "function", "function": {"name": "b"}}}, "tool_choice"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"response_format": {"type": "xml"}}, "response_format.type"),
])
def test_bad_tool_fields_get_an_openai_400_naming_them(fake, body, names):
    response = chat(fake, [{"role": "user", "content": "hi"}], **body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == names


def test_bad_anthropic_tools_get_a_400_naming_the_field(fake):
    response = message(fake, [{"role": "user", "content": "hi"}], tools=[{"name": "a"}])
    assert response.status_code == 400
    assert "tools.0.input_schema" in response.json()["error"]["message"]


def test_tool_turns_are_in_the_ledger_with_their_tokens(fake):
    chat(fake, [{"role": "user", "content": "Summarise P0042."}], tools=oai_tools(FETCH))
    [row] = fake.admin.ledger()
    assert row["status"] == 200 and row["tokens_out"] > 0 and row["paper_ids"] == ["P0042"]
    assert row["tool_calls"] == ["get_paper"]


def test_with_only_a_search_tool_the_answer_cites_the_top_papers_it_listed(fake):
    messages: list[dict[str, Any]] = [{"role": "user", "content": QUESTION}]
    first = chat(fake, messages, tools=oai_tools(SEARCH)).json()["choices"][0]["message"]
    messages += [first, {"role": "tool", "tool_call_id": first["tool_calls"][0]["id"],
                         "content": "P0009, P0010 and P0011 match."}]
    final = chat(fake, messages, tools=oai_tools(SEARCH)).json()["choices"][0]["message"]["content"]
    assert "[P0009]" in final and "[P0010]" in final and "P0011" not in final


def test_ids_inside_a_fetched_paper_do_not_start_more_fetches(fake):
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Summarise P0042."}]
    first = chat(fake, messages, tools=oai_tools(SEARCH, FETCH)).json()["choices"][0]["message"]
    messages += [first, {"role": "tool", "tool_call_id": first["tool_calls"][0]["id"],
                         "content": "P0042 cites P0001 and P0002."}]
    final = chat(fake, messages, tools=oai_tools(SEARCH, FETCH)).json()["choices"][0]
    assert final["finish_reason"] == "stop"
    assert final["message"]["content"] == get_paper("P0042").summary()
