"""litreview.llm.streaming: a stream ends in ``done`` only when the answer arrived whole."""

from __future__ import annotations

import asyncio
import json

import pytest
from upstream import Upstream, openai_frames, sse_stream, status

from litreview.clock import SystemClock
from litreview.errors import LLMError, LLMIncomplete, LLMInvalidOutput, LLMTimeout, RateLimited
from litreview.llm.gateway import Gateway
from litreview.llm.streaming import StreamDone, stream_answer
from litreview.llm.types import ChatMessage, TextDelta, Usage
from litreview.policy import Policy

MESSAGES: list[ChatMessage] = [{"role": "user", "content": "Summarise paper P0042."}]
TEXT = "One two three four."


def run(gateway: Gateway, idle_s: float = 1.5) -> tuple[list[object], LLMError | None, Usage]:
    """Everything the stream yielded, the error it ended with (if any), and the usage counted."""
    ctx = gateway.new_context(gateway.policy.stream_first_event_s)
    items: list[object] = []

    async def consume() -> None:
        async for item in stream_answer(gateway, MESSAGES, ctx, idle_s=idle_s):
            items.append(item)

    try:
        asyncio.run(consume())
    except LLMError as exc:
        return items, exc, ctx.meter.usage
    return items, None, ctx.meter.usage


def text_of(items: list[object]) -> str:
    return "".join(item.text for item in items if isinstance(item, TextDelta))


def test_a_whole_stream_ends_in_done_with_its_usage() -> None:
    upstream = Upstream(openai=[sse_stream(openai_frames(TEXT, usage=(12, 6)))])
    items, error, usage = run(upstream.gateway())
    assert error is None
    assert text_of(items) == TEXT
    assert items[-1] == StreamDone("openai", "sim-gpt-large")
    assert usage == Usage(input_tokens=12, output_tokens=6)
    assert upstream.bodies("openai")[0]["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    "frames",
    [
        openai_frames(TEXT, finish=None),  # ends cleanly, no finish reason
        openai_frames(TEXT, finish="length"),  # stopped at the token limit
        openai_frames(TEXT, done=False),  # no [DONE]
        [*openai_frames(TEXT)[:3], 'data: {"error": {"message": "boom"}}\n\n'],
        [*openai_frames(TEXT)[:3], "event: error\ndata: {}\n\n"],
        [*openai_frames(TEXT)[:3], 'data: {"choices": [{"delta": {"cont\n\n'],
    ],
    ids=["no-finish", "length", "no-done", "error-chunk", "error-event", "garbled"],
)
def test_a_stream_that_is_not_whole_ends_in_an_error_never_done(frames: list[str]) -> None:
    upstream = Upstream(openai=[sse_stream(frames)])
    items, error, _ = run(upstream.gateway())
    assert isinstance(error, LLMIncomplete)
    assert not any(isinstance(item, StreamDone) for item in items)
    assert upstream.calls("openai") == 1, "text had reached the user: no retry"


def test_a_connection_cut_after_text_is_incomplete() -> None:
    upstream = Upstream(openai=[sse_stream(openai_frames(TEXT), fail_at=3)])
    items, error, _ = run(upstream.gateway())
    assert isinstance(error, LLMIncomplete)
    assert text_of(items) == TEXT[:10]


def test_a_cut_before_any_text_is_retried() -> None:
    upstream = Upstream(openai=[sse_stream(openai_frames(TEXT), fail_at=1),
                                sse_stream(openai_frames(TEXT))])
    items, error, _ = run(upstream.gateway())
    assert error is None and text_of(items) == TEXT
    assert upstream.calls("openai") == 2


def test_an_error_status_before_the_stream_is_retried_then_reported() -> None:
    upstream = Upstream(openai=[status(429, **{"retry-after-ms": "1"})])
    _, error, _ = run(upstream.gateway())
    assert isinstance(error, RateLimited)
    assert upstream.calls("openai") == 4


def test_a_refusal_is_not_a_summary() -> None:
    refusal = [
        'data: {"choices": [{"delta": {"refusal": "No."}}]}\n\n',
        'data: {"choices": [{"delta": {}, "finish_reason": "stop"}]}\n\n',
        "data: [DONE]\n\n",
    ]
    upstream = Upstream(openai=[sse_stream(refusal)])
    _, error, _ = run(upstream.gateway())
    assert isinstance(error, LLMInvalidOutput)
    assert upstream.calls("openai") == 3, "the first generation and two re-asks"


def test_a_refusal_before_any_text_is_asked_again() -> None:
    refusal = [
        'data: {"choices": [{"delta": {"refusal": "No."}}]}\n\n',
        'data: {"choices": [{"delta": {}, "finish_reason": "stop"}]}\n\n',
        "data: [DONE]\n\n",
    ]
    upstream = Upstream(openai=[sse_stream(refusal), sse_stream(openai_frames(TEXT))])
    items, error, _ = run(upstream.gateway())
    assert error is None and text_of(items) == TEXT
    assert upstream.calls("openai") == 2


def test_a_silence_mid_stream_ends_with_a_timeout() -> None:
    upstream = Upstream(openai=[sse_stream(openai_frames(TEXT), gaps_s={3: 5.0})])
    items, error, _ = run(upstream.gateway(clock=SystemClock()), idle_s=0.05)
    assert isinstance(error, LLMTimeout)
    assert text_of(items) == TEXT[:10]


def test_a_slow_first_token_ends_with_a_timeout() -> None:
    policy = Policy(stream_first_event_s=0.15, deadline_margin_s=0.0)
    upstream = Upstream(openai=[sse_stream(openai_frames(TEXT), gaps_s={1: 5.0})])
    items, error, _ = run(upstream.gateway(policy=policy, clock=SystemClock()))
    assert isinstance(error, LLMTimeout)
    assert items == []


def test_a_first_attempt_without_a_first_token_in_time_is_retried() -> None:
    policy = Policy(stream_first_event_s=1.0, stream_attempt_s=0.1, deadline_margin_s=0.0)
    slow = sse_stream(openai_frames(TEXT), gaps_s={1: 5.0})
    upstream = Upstream(openai=[slow, sse_stream(openai_frames(TEXT))])
    items, error, _ = run(upstream.gateway(policy=policy, clock=SystemClock()))
    assert error is None and text_of(items) == TEXT
    assert upstream.calls("openai") == 2


def test_a_slow_but_steady_stream_is_fine() -> None:
    gaps = {index: 0.02 for index in range(1, 6)}
    upstream = Upstream(openai=[sse_stream(openai_frames(TEXT), gaps_s=gaps)])
    items, error, _ = run(upstream.gateway(clock=SystemClock()), idle_s=0.5)
    assert error is None and text_of(items) == TEXT


def test_streams_never_fall_back() -> None:
    upstream = Upstream(openai=[status(503)])
    _, error, _ = run(upstream.gateway())
    assert error is not None
    assert upstream.calls("anthropic") == 0


def anthropic_frames(text: str, stop: bool = True) -> list[str]:
    def event(name: str, data: dict[str, object]) -> str:
        return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"

    start_usage = {"input_tokens": 9, "output_tokens": 1}
    frames = [event("message_start", {"message": {"usage": start_usage}}), event("ping", {})]
    frames += [
        event("content_block_delta", {"delta": {"type": "text_delta", "text": text[i : i + 5]}})
        for i in range(0, len(text), 5)
    ]
    frames.append(event("message_delta", {"delta": {"stop_reason": "end_turn"},
                                          "usage": {"output_tokens": 4}}))
    if stop:
        frames.append(event("message_stop", {}))
    return frames


def test_the_anthropic_wire_format_streams_too() -> None:
    """The secondary streams too (it is a Provider), though the app streams from the primary."""
    upstream = Upstream(anthropic=[sse_stream(anthropic_frames(TEXT))])
    provider = upstream.gateway().secondary
    assert provider is not None

    async def collect() -> list[object]:
        return [event async for event in provider.stream(MESSAGES)]

    events = asyncio.run(collect())
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == TEXT
    assert events[-1].usage == Usage(input_tokens=9, output_tokens=4)  # type: ignore[attr-defined]


def test_an_anthropic_stream_without_message_stop_is_cut() -> None:
    upstream = Upstream(anthropic=[sse_stream(anthropic_frames(TEXT, stop=False))])
    provider = upstream.gateway().secondary
    assert provider is not None

    async def collect() -> None:
        async for _ in provider.stream(MESSAGES):
            pass

    with pytest.raises(LLMError) as caught:
        asyncio.run(collect())
    assert getattr(caught.value, "kind", None) == "cut"
