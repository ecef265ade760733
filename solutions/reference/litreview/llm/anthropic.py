"""The Anthropic messages wire format over httpx: one call, one attempt, no policy.

``POST {base_url}/v1/messages`` with ``x-api-key`` and ``anthropic-version: 2023-06-01``; the
system prompt travels apart from the messages and ``max_tokens`` is required. The answer is a
list of content blocks with a ``stop_reason``. Streams are named SSE events ``message_start``
(input usage), ``content_block_delta`` (text), ``message_delta`` (stop reason, output usage),
``message_stop`` (the end marker: a stream without it was cut), plus ``ping`` and ``error``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import httpx

from litreview.llm.http import (
    SSEMessage,
    broken_error,
    call_errors,
    cut_error,
    error_from_response,
    httpx_timeout,
    parse_event_json,
    read_json,
    read_stream,
    unreadable_error,
)
from litreview.llm.types import (
    ChatMessage,
    Completion,
    FinishReason,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
)

ANTHROPIC_VERSION = "2023-06-01"
MAX_TOKENS = 1024
_STOP: dict[str, FinishReason] = {
    "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "refusal": "refusal",
}


def _stop(raw: Any) -> FinishReason:
    return _STOP.get(raw, "other") if isinstance(raw, str) else "other"


def _usage(raw: Any, previous: Usage | None = None) -> Usage:
    """Usage from an Anthropic ``usage`` object; missing counts keep their previous values."""
    base = previous or Usage()
    if not isinstance(raw, dict):
        return base
    return Usage(
        input_tokens=int(raw.get("input_tokens") or base.input_tokens),
        output_tokens=int(raw.get("output_tokens") or base.output_tokens),
    )


class AnthropicProvider:
    """One model of an Anthropic-compatible provider (a :class:`litreview.llm.types.Provider`)."""

    name = "anthropic"

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, api_key: str, model: str,
        connect_timeout_s: float = 0.5,
    ) -> None:
        self._http = http
        self._url = f"{base_url}/v1/messages"
        self._headers = {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}
        self._connect_timeout_s = connect_timeout_s
        self.model = model

    def _body(self, messages: list[ChatMessage], *, stream: bool) -> dict[str, Any]:
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        turns = [
            {"role": m["role"], "content": m["content"]}
            for m in messages if m["role"] != "system" and m["content"]
        ]
        body: dict[str, Any] = {"model": self.model, "max_tokens": MAX_TOKENS, "messages": turns}
        if system:
            body["system"] = system
        if stream:
            body["stream"] = True
        return body

    async def complete(self, messages: list[ChatMessage], timeout_s: float) -> Completion:
        """One non-streamed call within ``timeout_s``."""
        async with call_errors(self.name, timeout_s):
            response = await self._http.post(
                self._url, headers=self._headers, json=self._body(messages, stream=False),
                timeout=httpx_timeout(timeout_s, self._connect_timeout_s),
            )
        if response.is_error:
            raise error_from_response(self.name, response)
        return self._completion(read_json(self.name, response))

    def _completion(self, data: dict[str, Any]) -> Completion:
        usage = _usage(data.get("usage"))
        blocks = data.get("content")
        if not isinstance(blocks, list):
            raise unreadable_error(self.name, "no content blocks in the response", usage)
        text = "".join(
            str(block.get("text") or "")
            for block in blocks if isinstance(block, dict) and block.get("type") == "text"
        )
        return Completion(
            text=text, provider=self.name, model=str(data.get("model") or self.model),
            usage=usage, finish_reason=_stop(data.get("stop_reason")),
        )

    def stream(self, messages: list[ChatMessage]) -> AsyncGenerator[StreamEvent, None]:
        """The answer as it is written; see :meth:`litreview.llm.types.Provider.stream`."""
        return read_stream(self._http, self.name, self._url, self._headers,
                           self._body(messages, stream=True), self._connect_timeout_s,
                           _EventReader(self.name))


class _EventReader:
    """Reads Anthropic stream events, remembering stop reason and usage."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.stop_reason: FinishReason = "other"
        self.usage = Usage()
        self.finished = False

    def feed(self, message: SSEMessage) -> list[StreamEvent]:
        """The text deltas in one event; raises AttemptError for error events and garbage."""
        data = parse_event_json(self.provider, message, self.usage)
        kind = message.event or data.get("type")
        if kind == "error":
            problem = f"the provider sent an error: {str(data.get('error'))[:200]}"
            raise broken_error(self.provider, problem, self.usage)
        if kind == "message_start":
            self.usage = _usage((data.get("message") or {}).get("usage"), self.usage)
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                return [TextDelta(str(delta["text"]))]
        elif kind == "message_delta":
            self.stop_reason = _stop((data.get("delta") or {}).get("stop_reason"))
            self.usage = _usage(data.get("usage"), self.usage)
        elif kind == "message_stop":
            self.finished = True
        return []

    def end(self) -> StreamEnd:
        """The end marker; a stream without ``message_stop`` was cut."""
        if not self.finished:
            raise cut_error(self.provider, "the stream ended without message_stop", self.usage)
        return StreamEnd(self.stop_reason, self.usage)
