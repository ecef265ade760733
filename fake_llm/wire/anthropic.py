"""The Anthropic Messages wire format (``POST /anthropic/v1/messages``)."""

from __future__ import annotations

import json
from typing import Any

from fake_llm.conversation import ToolCall
from fake_llm.errors import ApiError, stream_error_payload
from fake_llm.pricing import ModelInfo
from fake_llm.wire.base import (
    Answer,
    ModelProblem,
    ParsedRequest,
    Wire,
    parse_json_body,
    pieces,
    require_model,
    sse,
    text_of,
)
from fake_llm.wire.params import check_params
from fake_llm.wire.tools import anthropic_turn, tool_text

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "refusal": "refusal",
                 "tool_calls": "tool_use", None: None}


def _opens_text(answer: Answer) -> bool:
    """Whether the content starts with a text block (always, unless there are only tool calls)."""
    return bool(answer.text) or not answer.tool_calls


def _input(call: ToolCall) -> Any:
    try:
        return json.loads(call.arguments)
    except ValueError:  # a fault broke them; the plain body carries what would be parsed
        return {}


def _invalid(message: str, **_: Any) -> ApiError:
    return ApiError(400, message)


def _bad(message: str, param: str) -> ApiError:
    return ApiError(400, message)


_BAD_JSON = _invalid("There was an issue with your request body: it is not valid JSON.")


def _model_error(problem: ModelProblem, name: Any) -> ApiError:
    if problem == "missing":
        return _invalid("model: Field required")
    if problem == "bad_type":
        return _invalid("model: Input should be a valid string")
    return ApiError(404, f"model: {name}")


class _InvalidRequest(ApiError):
    """An Anthropic 400: its message names the field; there is no param or code."""

    def __init__(self, status: int, message: str, **_: Any) -> None:
        super().__init__(status, message)


def _messages_text(messages: Any) -> str:
    if messages is None:
        raise _invalid("messages: Field required")
    if not isinstance(messages, list):
        raise _invalid("messages: Input should be a valid list")
    if not messages:
        raise _invalid("messages: at least one message is required")
    texts = []
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, dict):
            raise _invalid(f"{where}: Input should be a valid dictionary")
        if message.get("role") not in ("user", "assistant"):
            raise _invalid(f"{where}.role: Input should be 'user' or 'assistant'")
        if "content" not in message:
            raise _invalid(f"{where}.content: Field required")
        texts.append(text_of(message["content"], f"{where}.content", _InvalidRequest))
    return "\n".join(texts)


class AnthropicWire(Wire):
    provider = "anthropic"
    id_prefix = "msg_"

    def parse(self, raw: bytes) -> tuple[dict[str, Any], ParsedRequest]:
        body = parse_json_body(raw, _BAD_JSON)
        check_params("anthropic-messages", body)
        model = require_model(body.get("model"), _model_error)
        max_tokens = body.get("max_tokens")
        if max_tokens is None:
            raise _invalid("max_tokens: Field required")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise _invalid("max_tokens: Input should be a valid integer greater than or equal to 1")
        system = text_of(body.get("system"), "system", _InvalidRequest)
        text = "\n".join(t for t in (system, _messages_text(body.get("messages"))) if t)
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise _invalid("stream: Input should be a valid boolean")
        turn = anthropic_turn(body, _bad)
        extra = tool_text(turn)
        text = f"{text}\n{extra}" if extra else text
        return body, ParsedRequest(model, text, stream, True, max_tokens, turn)

    @staticmethod
    def _message(model: ModelInfo, answer: Answer, output_tokens: int) -> dict[str, Any]:
        return {"id": answer.response_id, "type": "message", "role": "assistant",
                "model": model.name, "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": answer.tokens_in, "output_tokens": output_tokens}}

    def body(self, model: ModelInfo, answer: Answer) -> dict[str, Any]:
        message = self._message(model, answer, answer.tokens_out)
        message["content"] = [{"type": "text", "text": answer.text}] if answer.text else []
        message["content"] += [{"type": "tool_use", "id": f"toolu_{call.call_id}", "name": call.name,
                                "input": _input(call)} for call in answer.tool_calls]
        message["stop_reason"] = _STOP_REASONS.get(answer.finish_reason)
        return message

    def stream_head(self, model: ModelInfo, answer: Answer) -> list[bytes]:
        event = self._event
        frames = [event("message_start", {"type": "message_start",
                                          "message": self._message(model, answer, 1)})]
        if _opens_text(answer):
            frames.append(event("content_block_start", {"type": "content_block_start", "index": 0,
                                                        "content_block": {"type": "text", "text": ""}}))
        return [*frames, event("ping", {"type": "ping"})]

    def stream_call(self, model: ModelInfo, answer: Answer, index: int, call: ToolCall,
                    size: int) -> list[bytes]:
        block = index + _opens_text(answer)
        frames = [self._event("content_block_stop", {"type": "content_block_stop", "index": block - 1})
                  ] if block else []
        frames.append(self._event("content_block_start", {
            "type": "content_block_start", "index": block,
            "content_block": {"type": "tool_use", "id": f"toolu_{call.call_id}", "name": call.name,
                              "input": {}}}))
        for piece in pieces(call.arguments, size):
            frames.append(self._event("content_block_delta", {
                "type": "content_block_delta", "index": block,
                "delta": {"type": "input_json_delta", "partial_json": piece}}))
        return frames

    @staticmethod
    def _event(name: str, data: dict[str, Any]) -> bytes:
        return sse(json.dumps(data), event=name)

    def stream_piece(self, model: ModelInfo, answer: Answer, piece: str) -> bytes:
        return self._event("content_block_delta", {
            "type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": piece}})

    def stream_tail(self, model: ModelInfo, answer: Answer, include_usage: bool) -> list[bytes]:
        last = len(answer.tool_calls) + _opens_text(answer) - 1
        return [
            self._event("content_block_stop", {"type": "content_block_stop", "index": last}),
            self._event("message_delta", {
                "type": "message_delta",
                "delta": {"stop_reason": _STOP_REASONS.get(answer.finish_reason),
                          "stop_sequence": None},
                "usage": {"output_tokens": answer.tokens_out}}),
            self._event("message_stop", {"type": "message_stop"}),
        ]

    def stream_truncated_tail(self) -> list[bytes]:
        return []

    def stream_error(self) -> bytes:
        return sse(stream_error_payload("anthropic"), event="error")
