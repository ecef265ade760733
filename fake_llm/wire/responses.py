"""The OpenAI Responses API wire format (``POST /v1/responses``), plain and streamed.

The same simulated model, faults, ledger and fates as chat completions: the request's text is its
``instructions`` and the text of its ``input`` (a string, or a list of messages); its answer is one
``message`` output item with one ``output_text`` part (a ``refusal`` part when the model refuses).
A streamed answer is typed events, each with a ``sequence_number`` from 0:

``response.created``, ``response.in_progress``, ``response.output_item.added``,
``response.content_part.added``, ``response.output_text.delta`` ..., ``response.output_text.done``,
``response.content_part.done``, ``response.output_item.done``, then ``response.completed`` (or
``response.incomplete`` when the answer was cut at ``max_output_tokens``). A mid-stream fault is an
``error`` event followed by ``response.failed``.

A wire object counts one stream's sequence numbers, so the route makes a new one per request.
"""

from __future__ import annotations

import json
import time
from typing import Any

from fake_llm.conversation import ToolCall
from fake_llm.errors import ApiError
from fake_llm.pricing import ModelInfo
from fake_llm.wire.base import (
    Answer,
    ParsedRequest,
    Wire,
    parse_json_body,
    require_model,
    sse,
)
from fake_llm.wire.openai import BAD_JSON, model_errors
from fake_llm.wire.params import TABLES, block_refusal, check_params

MIN_OUTPUT_TOKENS = 16
_ROLES = ("user", "system", "developer", "assistant")
_TEXT_PARTS = ("input_text", "output_text")
_SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"


_model_error = model_errors(
    lambda name: ApiError(400, f"The model `{name}` is an embedding model; it does not answer the "
                                 "Responses API.", param="model", code="invalid_value"))


def _invalid(where: str, message: str, code: str = "invalid_value") -> ApiError:
    return ApiError(400, f"Invalid '{where}': {message}", param=where, code=code)


def _content_text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _invalid(where, "expected a string or an array of content parts.", "invalid_type")
    texts = []
    blocks = TABLES["openai-responses"].blocks
    for index, part in enumerate(content):
        at = f"{where}[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in _TEXT_PARTS and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif isinstance(kind, str) and kind in blocks:
            raise block_refusal("openai-responses", at, kind, blocks[kind])
        elif kind != "refusal":
            raise _invalid(at, "expected a content part of type 'input_text' or 'output_text' "
                               "with a string 'text'.")
    return "\n".join(texts)


def _input_text(value: Any) -> str:
    """The text of ``input``: a string, or a list of message items."""
    if value is None:
        raise ApiError(400, "Missing required parameter: 'input'.", param="input",
                       code="missing_required_parameter")
    if isinstance(value, str):
        return value
    if not isinstance(value, list) or not value:
        raise _invalid("input", "expected a string or a non-empty array of input items.", "invalid_type")
    texts = []
    for index, item in enumerate(value):
        where = f"input[{index}]"
        if not isinstance(item, dict):
            raise _invalid(where, "expected an object.", "invalid_type")
        kind = item.get("type", "message")
        if kind != "message":
            raise ApiError(400, f"Unsupported value: '{where}.type' is '{kind}': only message items are "
                                "emulated by the fake LLM on the Responses API.", param=f"{where}.type",
                           code="unsupported_value")
        if item.get("role") not in _ROLES:
            raise _invalid(f"{where}.role", f"expected one of {', '.join(_ROLES)}.")
        texts.append(_content_text(item.get("content"), f"{where}.content"))
    return "\n".join(texts)


def _max_output_tokens(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("max_output_tokens", "expected an integer.", "invalid_type")
    if value < MIN_OUTPUT_TOKENS:
        raise _invalid("max_output_tokens", f"integer below minimum value. Expected a value >= "
                                            f"{MIN_OUTPUT_TOKENS}, but got {value} instead.",
                       "integer_below_min_value")
    return value


_ECHOED = (("temperature", (int, float), "a number"), ("top_p", (int, float), "a number"),
           ("metadata", (dict,), "an object"), ("user", (str,), "a string"),
           ("store", (bool,), "a boolean"))


def _echoed_types(body: dict[str, Any]) -> None:
    """The parameters the response echoes back must have their types."""
    for name, kinds, expected in _ECHOED:
        value = body.get(name)
        if value is not None and (not isinstance(value, kinds)
                                  or (isinstance(value, bool) and bool not in kinds)):
            raise _invalid(name, f"expected {expected}.", "invalid_type")


class ResponsesWire(Wire):
    """The Responses API; one object per request (it numbers its stream's events)."""

    provider = "openai"
    id_prefix = "chatcmpl-"  # as every OpenAI answer's id was before the wires split

    def __init__(self) -> None:
        self._sequence = 0
        self._request: dict[str, Any] = {}
        self._model: ModelInfo | None = None
        self._answer: Answer | None = None

    def parse(self, raw: bytes) -> tuple[dict[str, Any], ParsedRequest]:
        body = parse_json_body(raw, BAD_JSON)
        check_params("openai-responses", body)
        model = require_model(body.get("model"), _model_error)
        instructions = body.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise _invalid("instructions", "expected a string.", "invalid_type")
        text = "\n".join(t for t in (instructions, _input_text(body.get("input"))) if t)
        stream = body.get("stream", False)
        if not isinstance(stream, bool) and stream is not None:
            raise _invalid("stream", "expected a boolean.", "invalid_type")
        if body.get("stream_options") is not None and not stream:
            raise ApiError(400, "The 'stream_options' parameter is only allowed when 'stream' is "
                                "enabled.", param="stream_options", code="invalid_value")
        max_tokens = _max_output_tokens(body.get("max_output_tokens"))
        _echoed_types(body)
        self._request = {"instructions": instructions, "max_output_tokens": max_tokens,
                         "metadata": body.get("metadata") or {},
                         "temperature": body.get("temperature", 1.0), "top_p": body.get("top_p", 1.0),
                         "user": body.get("user"), "store": body.get("store", True)}
        return body, ParsedRequest(model, text, bool(stream), True, max_tokens)

    # -- the response object --------------------------------------------------------------------

    @staticmethod
    def _ids(answer: Answer) -> tuple[str, str]:
        """The response id and its message item id, from the fate's answer id."""
        tail = answer.response_id.split("-", 1)[-1].split("_", 1)[-1]
        return f"resp_{tail}", f"msg_{tail}"

    @staticmethod
    def _part(answer: Answer, text: str) -> dict[str, Any]:
        if answer.finish_reason == "refusal":
            return {"type": "refusal", "refusal": text}
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}

    def _item(self, answer: Answer, status: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self._ids(answer)[1], "type": "message", "status": status, "role": "assistant",
                "content": parts}

    @staticmethod
    def _status(finish_reason: str | None) -> tuple[str, dict[str, str] | None]:
        """The response's status and incomplete details for a finish reason."""
        if finish_reason in ("stop", "refusal"):
            return "completed", None
        if finish_reason == "length":
            return "incomplete", {"reason": "max_output_tokens"}
        if finish_reason == "content_filter":
            return "incomplete", {"reason": "content_filter"}
        return "incomplete", None

    def _response(self, model: ModelInfo, answer: Answer, status: str,
                  output: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        request = self._request
        finished = status in ("completed", "incomplete")
        return {
            "id": self._ids(answer)[0], "object": "response", "created_at": int(time.time()),
            "status": status, "background": False, "error": None, "incomplete_details": None,
            "instructions": request.get("instructions"),
            "max_output_tokens": request.get("max_output_tokens"), "model": model.name,
            "output": output, "parallel_tool_calls": True, "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None}, "service_tier": "default",
            "store": request.get("store", True), "temperature": request.get("temperature", 1.0),
            "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [],
            "top_p": request.get("top_p", 1.0), "truncation": "disabled",
            "usage": self._usage(answer) if finished else None, "user": request.get("user"),
            "metadata": request.get("metadata", {}), **extra,
        }

    @staticmethod
    def _usage(answer: Answer) -> dict[str, Any]:
        return {"input_tokens": answer.tokens_in,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": answer.tokens_out, "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": answer.tokens_in + answer.tokens_out}

    def body(self, model: ModelInfo, answer: Answer) -> dict[str, Any]:
        status, details = self._status(answer.finish_reason)
        item = self._item(answer, "completed" if status == "completed" else "incomplete",
                          [self._part(answer, answer.text)])
        return self._response(model, answer, status, [item], incomplete_details=details)

    # -- the stream -----------------------------------------------------------------------------

    def _event(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return sse(json.dumps(data), event=kind)

    def stream_head(self, model: ModelInfo, answer: Answer) -> list[bytes]:
        self._model, self._answer = model, answer
        started = self._response(model, answer, "in_progress", [])
        item_id = self._ids(answer)[1]
        return [
            self._event("response.created", response=started),
            self._event("response.in_progress", response=started),
            self._event("response.output_item.added", output_index=0,
                        item=self._item(answer, "in_progress", [])),
            self._event("response.content_part.added", item_id=item_id, output_index=0,
                        content_index=0, part=self._part(answer, "")),
        ]

    def stream_piece(self, model: ModelInfo, answer: Answer, piece: str) -> bytes:
        where = {"item_id": self._ids(answer)[1], "output_index": 0, "content_index": 0}
        if answer.finish_reason == "refusal":
            return self._event("response.refusal.delta", delta=piece, **where)
        return self._event("response.output_text.delta", delta=piece, logprobs=[], **where)

    def stream_tail(self, model: ModelInfo, answer: Answer, include_usage: bool) -> list[bytes]:
        where = {"item_id": self._ids(answer)[1], "output_index": 0, "content_index": 0}
        part = self._part(answer, answer.text)
        status, details = self._status(answer.finish_reason)
        if part["type"] == "refusal":
            done = self._event("response.refusal.done", refusal=answer.text, **where)
        else:
            done = self._event("response.output_text.done", text=answer.text, logprobs=[], **where)
        item = self._item(answer, "completed" if status == "completed" else "incomplete", [part])
        final = self._response(model, answer, status, [item], incomplete_details=details)
        return [
            done,
            self._event("response.content_part.done", part=part, **where),
            self._event("response.output_item.done", output_index=0, item=item),
            self._event(f"response.{status}", response=final),
        ]

    def stream_call(self, model: ModelInfo, answer: Answer, index: int, call: ToolCall,
                    size: int) -> list[bytes]:
        """No frames: tools are refused on this wire (see parse), so an answer never holds tool calls."""
        return []

    def stream_truncated_tail(self) -> list[bytes]:
        return []  # no terminal event: the stream just ends

    def stream_error(self) -> bytes:
        error = self._event("error", code="server_error", message=_SERVER_ERROR, param=None)
        if self._model is None or self._answer is None:
            return error
        failed = self._response(self._model, self._answer, "failed", [],
                                error={"code": "server_error", "message": _SERVER_ERROR})
        return error + self._event("response.failed", response=failed)
