"""A client for an OpenAI-compatible chat-completions API, over plain httpx.

``POST {base_url}/chat/completions`` with a bearer key; ``stream=True`` answers as server-sent
events (``data: {chunk}`` lines, ending with ``data: [DONE]``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from litreview.errors import LLMError
from litreview.llm.types import ChatMessage, Completion, Usage

PROVIDER = "openai"


class OpenAIClient:
    """Sends chat requests to one model of an OpenAI-compatible provider.

    The ``httpx.AsyncClient`` is passed in so that the app shares one connection pool (and tests
    can swap the transport).
    """

    provider = PROVIDER

    def __init__(self, http: httpx.AsyncClient, base_url: str, api_key: str, model: str) -> None:
        self._http = http
        self._url = f"{base_url}/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self.model = model

    async def complete(self, messages: list[ChatMessage]) -> Completion:
        """The model's whole answer; raises :class:`LLMError` on an error status."""
        response = await self._http.post(
            self._url, headers=self._headers, json=self._body(messages, stream=False)
        )
        if response.is_error:
            raise LLMError(self.provider, response.status_code)
        data = response.json()
        choice = data["choices"][0]
        usage = data.get("usage") or {}
        return Completion(
            text=choice["message"]["content"] or "",
            provider=self.provider,
            model=data.get("model", self.model),
            usage=Usage(
                input_tokens=usage.get("prompt_tokens", 0),
                output_tokens=usage.get("completion_tokens", 0),
            ),
            finish_reason=choice.get("finish_reason"),
        )

    async def stream(self, messages: list[ChatMessage]) -> AsyncIterator[str]:
        """The model's answer as it is generated, one text fragment at a time."""
        async with self._http.stream(
            "POST", self._url, headers=self._headers, json=self._body(messages, stream=True)
        ) as response:
            if response.is_error:
                raise LLMError(self.provider, response.status_code)
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line.removeprefix("data:").strip()
                if payload == "[DONE]":
                    return
                for choice in json.loads(payload).get("choices", []):
                    text = choice.get("delta", {}).get("content")
                    if text:
                        yield text

    def _body(self, messages: list[ChatMessage], *, stream: bool) -> dict[str, Any]:
        return {"model": self.model, "messages": messages, "stream": stream}
