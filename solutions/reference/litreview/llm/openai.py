"""The OpenAI chat-completions wire format over httpx: one call, one attempt, no policy.

``POST {base_url}/chat/completions`` with a bearer key. Streams are SSE ``data: {chunk}`` lines;
a stream is whole only if a chunk carried a ``finish_reason`` and ``data: [DONE]`` followed.
With ``stream_options.include_usage`` the last chunk before ``[DONE]`` carries the usage.
A mid-stream ``data: {"error": ...}`` or ``event: error`` is a broken stream.
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
    Embeddings,
    FinishReason,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolReply,
    Usage,
)

_FINISH: dict[str, FinishReason] = {
    "stop": "stop", "length": "length", "content_filter": "refusal", "tool_calls": "tool_calls",
}


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    return Usage(
        input_tokens=int(raw.get("prompt_tokens") or 0),
        output_tokens=int(raw.get("completion_tokens") or 0),
    )


def _tool_call(raw: Any, index: int) -> ToolCall:
    """One entry of ``tool_calls``, read leniently: a missing part becomes empty, for the caller
    to judge (a name the app does not offer, arguments that are not JSON)."""
    raw = raw if isinstance(raw, dict) else {}
    function = raw.get("function") if isinstance(raw.get("function"), dict) else {}
    arguments = function.get("arguments")
    return ToolCall(
        id=str(raw.get("id") or f"call_{index}"),
        name=str(function.get("name") or ""),
        arguments=arguments if isinstance(arguments, str) else "",
    )


def _finish(raw: Any) -> FinishReason:
    return _FINISH.get(raw, "other") if isinstance(raw, str) else "other"


class OpenAIProvider:
    """One model of an OpenAI-compatible provider (a :class:`litreview.llm.types.Provider`)."""

    name = "openai"

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, api_key: str, model: str,
        connect_timeout_s: float = 0.5,
    ) -> None:
        self._http = http
        self._url = f"{base_url}/chat/completions"
        self._embeddings_url = f"{base_url}/embeddings"
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._connect_timeout_s = connect_timeout_s
        self.model = model

    async def complete(self, messages: list[ChatMessage], timeout_s: float) -> Completion:
        """One non-streamed call within ``timeout_s``."""
        body = {"model": self.model, "messages": messages}
        async with call_errors(self.name, timeout_s):
            response = await self._http.post(
                self._url, headers=self._headers, json=body,
                timeout=httpx_timeout(timeout_s, self._connect_timeout_s),
            )
        if response.is_error:
            raise error_from_response(self.name, response)
        return self._completion(read_json(self.name, response))

    def _completion(self, data: dict[str, Any]) -> Completion:
        usage = _usage(data.get("usage"))
        try:
            choice = data["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            raise unreadable_error(self.name, "no choices in the response", usage) from None
        refusal = message.get("refusal")
        finish: FinishReason
        if refusal:
            text, finish = str(refusal), "refusal"
        else:
            text, finish = str(message.get("content") or ""), _finish(choice.get("finish_reason"))
        return Completion(
            text=text, provider=self.name, model=str(data.get("model") or self.model),
            usage=usage, finish_reason=finish,
        )

    async def complete_with_tools(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], timeout_s: float
    ) -> ToolReply:
        """One non-streamed call offering ``tools``: the text and the tool calls of the reply.

        A call's ``arguments`` stay the raw string the model wrote: judging them is the caller's.
        """
        body = {"model": self.model, "messages": messages, "tools": tools}
        async with call_errors(self.name, timeout_s):
            response = await self._http.post(
                self._url, headers=self._headers, json=body,
                timeout=httpx_timeout(timeout_s, self._connect_timeout_s),
            )
        if response.is_error:
            raise error_from_response(self.name, response)
        data = read_json(self.name, response)
        completion = self._completion(data)
        message = data["choices"][0]["message"]
        raw_calls = message.get("tool_calls") or []
        if not isinstance(raw_calls, list):
            raise unreadable_error(self.name, "tool_calls is not a list", completion.usage)
        calls = tuple(_tool_call(raw, index) for index, raw in enumerate(raw_calls))
        return ToolReply(completion, calls)

    async def embed(self, texts: list[str], model: str, timeout_s: float) -> Embeddings:
        """One ``POST /embeddings`` call: a vector per text, in order."""
        body = {"model": model, "input": texts}
        async with call_errors(self.name, timeout_s):
            response = await self._http.post(
                self._embeddings_url, headers=self._headers, json=body,
                timeout=httpx_timeout(timeout_s, self._connect_timeout_s),
            )
        if response.is_error:
            raise error_from_response(self.name, response)
        data = read_json(self.name, response)
        usage = _usage(data.get("usage"))
        try:
            rows = sorted(data["data"], key=lambda row: int(row["index"]))
            vectors = tuple(tuple(float(x) for x in row["embedding"]) for row in rows)
        except (KeyError, TypeError, ValueError):
            raise unreadable_error(self.name, "no embeddings in the response", usage) from None
        if len(vectors) != len(texts):
            problem = f"{len(vectors)} vectors for {len(texts)} texts"
            raise unreadable_error(self.name, problem, usage)
        return Embeddings(vectors, usage)

    def stream(self, messages: list[ChatMessage]) -> AsyncGenerator[StreamEvent, None]:
        """The answer as it is written; see :meth:`litreview.llm.types.Provider.stream`."""
        body = {
            "model": self.model, "messages": messages, "stream": True,
            "stream_options": {"include_usage": True},
        }
        return read_stream(self._http, self.name, self._url, self._headers, body,
                           self._connect_timeout_s, _ChunkReader(self.name))


class _ChunkReader:
    """Reads chat-completion chunks, remembering finish reason, usage and any refusal."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.finish: FinishReason | None = None
        self.usage = Usage()
        self.refused = False
        self.finished = False

    def feed(self, message: SSEMessage) -> list[StreamEvent]:
        """The text deltas in one event; raises AttemptError for error events and garbage."""
        if message.data.strip() == "[DONE]":
            self.finished = True
            return []
        if message.event == "error":
            raise broken_error(self.provider, "the provider sent an error event", self.usage)
        chunk = parse_event_json(self.provider, message, self.usage)
        if "error" in chunk:
            problem = f"the provider sent an error: {str(chunk['error'])[:200]}"
            raise broken_error(self.provider, problem, self.usage)
        if chunk.get("usage"):
            self.usage = _usage(chunk["usage"])
        events: list[StreamEvent] = []
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("refusal"):
                self.refused = True
            elif delta.get("content"):
                events.append(TextDelta(str(delta["content"])))
            if choice.get("finish_reason"):
                self.finish = _finish(choice["finish_reason"])
        return events

    def end(self) -> StreamEnd:
        """The end marker, once the body ended; a stream without finish reason or [DONE] was cut."""
        if self.finish is None or not self.finished:
            raise cut_error(self.provider, "the stream ended before its finish reason and [DONE]",
                            self.usage)
        return StreamEnd("refusal" if self.refused else self.finish, self.usage)
