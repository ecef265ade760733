"""A scripted upstream for unit tests: canned provider responses behind ``httpx.MockTransport``.

Each provider (by URL path) answers from its own queue of responses; when the queue runs dry the
last response repeats. Every request is recorded, so a test can count attempts.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from litreview.clock import Clock, ManualClock
from litreview.llm.anthropic import AnthropicProvider
from litreview.llm.gateway import Gateway
from litreview.llm.openai import OpenAIProvider
from litreview.policy import Policy

Reply = Callable[[], httpx.Response]
PATHS = {"openai": "/v1/chat/completions", "anthropic": "/anthropic/v1/messages"}


def openai_ok(text: str = "A fine answer.", finish: str = "stop", usage: tuple[int, int] = (10, 5),
              refusal: str | None = None) -> Reply:
    body = {
        "model": "sim-gpt-large",
        "choices": [{"index": 0, "finish_reason": finish,
                     "message": {"role": "assistant", "content": None if refusal else text,
                                 "refusal": refusal}}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]},
    }
    return lambda: httpx.Response(200, json=body)


def anthropic_ok(text: str = "A fine answer.", stop: str = "end_turn",
                 usage: tuple[int, int] = (7, 3)) -> Reply:
    body = {"model": "sim-claude-large", "content": [{"type": "text", "text": text}],
            "stop_reason": stop, "usage": {"input_tokens": usage[0], "output_tokens": usage[1]}}
    return lambda: httpx.Response(200, json=body)


def status(code: int, **headers: str) -> Reply:
    return lambda: httpx.Response(code, headers=headers, json={"error": {"message": "no"}})


def raw(code: int, content: bytes) -> Reply:
    return lambda: httpx.Response(code, content=content)


def hang() -> Reply:
    async def forever() -> AsyncIterator[bytes]:
        await asyncio.sleep(3600)
        yield b""

    return lambda: httpx.Response(200, content=forever())


def sse_stream(frames: list[str], gaps_s: dict[int, float] | None = None,
               fail_at: int | None = None) -> Reply:
    """A streamed 200 sending ``frames`` (each a full SSE event), pausing ``gaps_s[i]`` before
    frame ``i``, and dropping the connection before frame ``fail_at``."""

    async def body() -> AsyncIterator[bytes]:
        for index, frame in enumerate(frames):
            if gaps_s and index in gaps_s:
                await asyncio.sleep(gaps_s[index])
            if index == fail_at:
                raise httpx.ReadError("connection reset by peer")
            yield frame.encode()

    return lambda: httpx.Response(200, headers={"content-type": "text/event-stream"},
                                  content=body())


def openai_frames(text: str = "One two three four.", finish: str | None = "stop",
                  done: bool = True, usage: tuple[int, int] = (10, 5)) -> list[str]:
    """The SSE frames of an OpenAI stream of ``text`` in 5-character pieces."""
    def data(obj: dict[str, Any]) -> str:
        return f"data: {json.dumps(obj)}\n\n"

    frames = [data({"choices": [{"delta": {"role": "assistant", "content": ""}}]})]
    frames += [data({"choices": [{"delta": {"content": text[i:i + 5]}, "finish_reason": None}]})
               for i in range(0, len(text), 5)]
    if finish:
        frames.append(data({"choices": [{"delta": {}, "finish_reason": finish}]}))
        frames.append(data({"choices": [], "usage": {"prompt_tokens": usage[0],
                                                     "completion_tokens": usage[1]}}))
    if done:
        frames.append("data: [DONE]\n\n")
    return frames


class Upstream:
    """Both providers behind one MockTransport, answering from per-provider queues."""

    def __init__(self, **queues: list[Reply]) -> None:
        self.queues = {name: list(queues.get(name, [openai_ok() if name == "openai"
                                                    else anthropic_ok()])) for name in PATHS}
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def calls(self, provider: str) -> int:
        return sum(1 for name, _ in self.requests if name == provider)

    def bodies(self, provider: str) -> list[dict[str, Any]]:
        return [body for name, body in self.requests if name == provider]

    async def handle(self, request: httpx.Request) -> httpx.Response:
        provider = next(name for name, path in PATHS.items() if request.url.path == path)
        self.requests.append((provider, json.loads(request.content)))
        queue = self.queues[provider]
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        return reply()

    def gateway(self, policy: Policy | None = None, clock: Clock | None = None,
                fallback: bool = True, token_budget: int = 4000) -> Gateway:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
        primary = OpenAIProvider(http, "http://llm/v1", "sk", "sim-gpt-large")
        secondary = (AnthropicProvider(http, "http://llm/anthropic", "sk", "sim-claude-large")
                     if fallback else None)
        return Gateway(primary, secondary, policy=policy or Policy(),
                       clock=clock or ManualClock(), rng=random.Random(0),
                       token_budget=token_budget)
