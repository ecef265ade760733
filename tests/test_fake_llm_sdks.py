"""The official openai and anthropic SDKs work against the fake server, faults included.

What each SDK does with each transport and stream fault is written down here, as tests.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from fake_llm.corpus import get_paper
from fake_llm.runner import FakeLLM

try:  # the SDKs of 2026 use the httpx2 fork; its errors are not httpx's
    import httpx2

    TRANSPORT_ERRORS: tuple[type[Exception], ...] = (httpx.TransportError, httpx2.TransportError)
except ImportError:
    TRANSPORT_ERRORS = (httpx.TransportError,)

SUMMARY = [{"role": "user", "content": "Summarize paper P0042."}]


_CLIENTS: list[openai.OpenAI | anthropic.Anthropic] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """Close every SDK client a test made, so that no socket is left to the garbage collector."""
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def oai(fake: FakeLLM, retries: int = 0, **options: Any) -> openai.OpenAI:
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="test-key", max_retries=retries,
                           **options)
    _CLIENTS.append(client)
    return client


def ant(fake: FakeLLM, retries: int = 0) -> anthropic.Anthropic:
    client = anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key="test-key",
                                 max_retries=retries)
    _CLIENTS.append(client)
    return client


def openai_stream(fake: FakeLLM) -> tuple[str, str | None, object]:
    stream = oai(fake).chat.completions.create(
        model="sim-gpt-large", messages=SUMMARY, stream=True, stream_options={"include_usage": True})
    text, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        if chunk.choices:
            text.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    return "".join(text), finish, usage


def anthropic_stream(fake: FakeLLM) -> anthropic.types.Message:
    with ant(fake).messages.stream(model="sim-claude-large", max_tokens=1000,
                                   messages=SUMMARY) as stream:
        return stream.get_final_message()


def script(fake: FakeLLM, kind: str, **params: object) -> None:
    fake.admin.script([{"fault": {"kind": kind, **params}, "times": 1}])


def test_openai_plain_returns_ground_truth_and_usage(fake):
    reply = oai(fake).chat.completions.create(model="sim-gpt-large", messages=SUMMARY)
    assert reply.choices[0].message.content == get_paper("P0042").summary()
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0


def test_openai_stream_returns_text_and_usage(fake):
    text, finish, usage = openai_stream(fake)
    assert text == get_paper("P0042").summary()
    assert finish == "stop"
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0


def test_anthropic_plain_and_stream_return_text_and_usage(fake):
    plain = ant(fake).messages.create(model="sim-claude-mini", max_tokens=1000, messages=SUMMARY)
    streamed = anthropic_stream(fake)
    for message in (plain, streamed):
        assert message.content[0].text == get_paper("P0042").summary()
        assert message.stop_reason == "end_turn"
        assert message.usage.input_tokens > 0 and message.usage.output_tokens > 1


def test_models_endpoint_lists_openai_models(fake):
    names = {model.id for model in oai(fake).models.list()}
    assert names == {"sim-gpt-large", "sim-gpt-mini", "sim-embed-small", "sim-embed-large"}


def test_openai_sdk_honours_scripted_429_retry_after(fake):
    fake.admin.script([{"match": {"provider": "openai"},
                        "fault": {"kind": "http_error", "status": 429, "retry_after_ms": 200},
                        "times": 2}])
    reply = oai(fake, retries=2).chat.completions.create(model="sim-gpt-large", messages=SUMMARY)
    assert reply.choices[0].message.content
    rows = fake.admin.ledger()
    assert [r["status"] for r in rows] == [429, 429, 200]
    assert [r["retry_count"] for r in rows] == [0, 1, 2]
    assert [r["attempt"] for r in rows] == [1, 2, 3]
    gaps = [b["arrival_s"] - a["arrival_s"] for a, b in itertools.pairwise(rows)]
    assert all(gap >= 0.2 for gap in gaps), gaps


def test_anthropic_sdk_without_retries_raises_overloaded_on_529(fake):
    fake.admin.script([{"match": {"provider": "anthropic"},
                        "fault": {"kind": "http_error", "status": 529}, "times": 1}])
    with pytest.raises(anthropic.OverloadedError):
        ant(fake).messages.create(model="sim-claude-large", max_tokens=100, messages=SUMMARY)


@pytest.mark.parametrize("stream", [False, True])
def test_reset_is_a_connection_error_in_both_sdks(fake, stream):
    script(fake, "reset")
    with pytest.raises(openai.APIConnectionError):
        oai(fake).chat.completions.create(model="sim-gpt-large", messages=SUMMARY, stream=stream)
    script(fake, "reset")
    with pytest.raises(anthropic.APIConnectionError):
        ant(fake).messages.create(model="sim-claude-large", max_tokens=10, messages=SUMMARY,
                                  stream=stream)
    assert [r["status"] for r in fake.admin.ledger()] == [None, None]


def test_reset_is_a_transport_error_for_httpx(fake):
    script(fake, "reset")
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{fake.openai_base_url}/chat/completions",
                   json={"model": "sim-gpt-large", "messages": SUMMARY})


def test_disconnect_mid_stream(fake):
    """Both SDKs see a connection error while iterating: wrapped in APIConnectionError by some
    releases, the transport's own ReadError (httpx, or httpx2 in openai 3.x) by others."""
    script(fake, "disconnect", after_chunks=2)
    with pytest.raises((openai.APIConnectionError, *TRANSPORT_ERRORS)):
        openai_stream(fake)
    script(fake, "disconnect", after_chunks=2)
    with pytest.raises((*TRANSPORT_ERRORS, anthropic.APIConnectionError)):
        anthropic_stream(fake)


def test_error_event_mid_stream_raises_api_errors(fake):
    script(fake, "error_event", after_chunks=1)
    with pytest.raises(openai.APIError) as openai_error:
        openai_stream(fake)
    assert not isinstance(openai_error.value, openai.APIConnectionError)
    script(fake, "error_event", after_chunks=1)
    with pytest.raises(anthropic.APIStatusError, match="overloaded_error"):
        anthropic_stream(fake)


def test_truncate_ends_quietly_without_finish_reason(fake):
    """Neither SDK raises: the only signal is the missing finish/stop reason."""
    full = get_paper("P0042").summary()
    script(fake, "truncate", keep_fraction=0.5)
    text, finish, usage = openai_stream(fake)
    assert finish is None and usage is None
    assert full.startswith(text) and len(text) < len(full)
    script(fake, "truncate", keep_fraction=0.5)
    message = anthropic_stream(fake)
    assert message.stop_reason is None
    assert full.startswith(message.content[0].text) and len(message.content[0].text) < len(full)


def test_corrupt_chunk_breaks_both_sdks_with_a_json_error(fake):
    script(fake, "corrupt_chunk", chunk_index=1)
    with pytest.raises(ValueError):
        openai_stream(fake)
    script(fake, "corrupt_chunk", chunk_index=1)
    with pytest.raises(ValueError):
        anthropic_stream(fake)


def test_empty_body_and_wrong_content_type(fake):
    """An empty 200 fails to parse; an HTML 200 comes back from the SDK as a plain str."""
    script(fake, "empty_body")
    with pytest.raises(ValueError):
        oai(fake).chat.completions.create(model="sim-gpt-large", messages=SUMMARY)
    script(fake, "wrong_content_type")
    reply = oai(fake).chat.completions.create(model="sim-gpt-large", messages=SUMMARY)
    assert isinstance(reply, str) and reply.startswith("<!DOCTYPE html>")


def test_refusal_is_marked_in_each_wire_format(fake):
    script(fake, "refusal")
    reply = oai(fake).chat.completions.create(model="sim-gpt-large", messages=SUMMARY)
    assert reply.choices[0].message.content is None and reply.choices[0].message.refusal
    script(fake, "refusal")
    message = ant(fake).messages.create(model="sim-claude-large", max_tokens=100, messages=SUMMARY)
    assert message.stop_reason == "refusal"


def test_max_tokens_cuts_the_answer_with_finish_reason_length(fake):
    reply = oai(fake).chat.completions.create(model="sim-gpt-large", messages=SUMMARY, max_tokens=5)
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens <= 5


def test_scripted_latency_is_injected_per_server_clock(fake):
    fake.admin.script([{"fault": {"kind": "latency", "delay_ms": 250}, "times": None}])
    for _ in range(2):
        oai(fake).chat.completions.create(model="sim-gpt-mini", messages=SUMMARY)
    rows = fake.admin.ledger()
    assert [r["fault"] for r in rows] == ["latency", "latency"]
    assert all(r["finish_s"] - r["arrival_s"] >= 0.25 for r in rows)


def test_hang_holds_until_the_client_gives_up(fake):
    script(fake, "hang")
    client = oai(fake, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="sim-gpt-large", messages=SUMMARY)
    snapshot = fake.admin.ledger_snapshot()
    for _ in range(200):  # the server notices the client leaving; bounded wait on its own clock
        if snapshot["rows"][0]["finish_s"] is not None:
            break
        time.sleep(0.02)
        snapshot = fake.admin.ledger_snapshot()
    row = snapshot["rows"][0]
    assert row["fault"] == "hang" and row["status"] is None and row["client_gone"]
