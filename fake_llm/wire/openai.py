"""The OpenAI Chat Completions wire format (``POST /v1/chat/completions``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from fake_llm.conversation import ToolCall
from fake_llm.errors import ApiError
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
from fake_llm.wire.tools import openai_turn, tool_text

_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
BAD_JSON = ApiError(400, "We could not parse the JSON body of your request. (HINT: This likely "
                         "means you aren't using your HTTP library correctly. The OpenAI API expects "
                         "a JSON payload, but what was sent was not valid JSON.)")
_MISSING_MODEL = ApiError(400, "Missing required parameter: 'model'.", param="model",
                          code="missing_required_parameter")


def _bad(message: str, param: str) -> ApiError:
    return ApiError(400, message, param=param, code="invalid_value")


def model_errors(wrong_kind: Callable[[Any], ApiError],
                 missing: ApiError = _MISSING_MODEL) -> Callable[[ModelProblem, Any], ApiError]:
    """An OpenAI endpoint's answer to each problem with ``model``: the endpoints differ only in
    what they say of a model of the wrong kind (and chat completions of a missing one)."""

    def error(problem: ModelProblem, name: Any) -> ApiError:
        if problem == "missing":
            return missing
        if problem == "bad_type":
            return ApiError(400, "Invalid type for 'model': expected a string.", param="model",
                            code="invalid_type")
        if problem == "wrong_kind":
            return wrong_kind(name)
        return ApiError(404, f"The model `{name}` does not exist or you do not have access to it.",
                        code="model_not_found")

    return error


_model_error = model_errors(
    lambda name: ApiError(404, f"The model `{name}` is not a chat model and thus not supported in the "
                               "v1/chat/completions endpoint.", param="model", code="model_not_found"),
    missing=ApiError(400, "you must provide a model parameter", param="model"))


def _optional(body: dict[str, Any], key: str, kinds: tuple[type, ...], expected: str) -> Any:
    value = body.get(key)
    if value is not None and (isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds)):
        raise ApiError(400, f"Invalid type for '{key}': expected {expected}.", param=key,
                       code="invalid_type")
    return value


def _messages_text(messages: Any) -> str:
    if messages is None:
        raise ApiError(400, "Missing required parameter: 'messages'.", param="messages",
                       code="missing_required_parameter")
    if not isinstance(messages, list):
        raise ApiError(400, "Invalid type for 'messages': expected an array.", param="messages",
                       code="invalid_type")
    if not messages:
        raise ApiError(400, "Invalid 'messages': empty array. Expected an array with minimum "
                            "length 1, but got an empty array instead.", param="messages",
                       code="empty_array")
    texts = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise ApiError(400, f"Invalid type for '{where}': expected an object.", param=where,
                           code="invalid_type")
        if message.get("role") not in _ROLES:
            raise ApiError(400, f"Invalid value for '{where}.role': expected one of "
                                f"{', '.join(_ROLES)}.", param=f"{where}.role", code="invalid_value")
        texts.append(text_of(message.get("content"), f"{where}.content"))
    return "\n".join(texts)


class OpenAIWire(Wire):
    provider = "openai"
    id_prefix = "chatcmpl-"

    def parse(self, raw: bytes) -> tuple[dict[str, Any], ParsedRequest]:
        body = parse_json_body(raw, BAD_JSON)
        check_params("openai-chat", body)
        model = require_model(body.get("model"), _model_error)
        text = _messages_text(body.get("messages"))
        stream = bool(_optional(body, "stream", (bool,), "a boolean"))
        options = _optional(body, "stream_options", (dict,), "an object") or {}
        if options and not stream:
            raise ApiError(400, "The 'stream_options' parameter is only allowed when 'stream' is "
                                "enabled.", param="stream_options", code="invalid_value")
        include_usage = bool(options.get("include_usage", False))
        max_tokens = _optional(body, "max_completion_tokens", (int,), "an integer")
        if max_tokens is None:
            max_tokens = _optional(body, "max_tokens", (int,), "an integer")
        if max_tokens is not None and max_tokens < 1:
            raise ApiError(400, "Invalid 'max_tokens': integer below minimum value. Expected a "
                                "value >= 1.", param="max_tokens", code="integer_below_min_value")
        _optional(body, "temperature", (int, float), "a number")
        turn = openai_turn(body, _bad)
        extra = tool_text(turn, results=False)  # tool messages are in the text already
        text = f"{text}\n{extra}" if extra else text
        return body, ParsedRequest(model, text, stream, include_usage, max_tokens, turn)

    @staticmethod
    def _usage(answer: Answer) -> dict[str, int]:
        return {"prompt_tokens": answer.tokens_in, "completion_tokens": answer.tokens_out,
                "total_tokens": answer.tokens_in + answer.tokens_out}

    def body(self, model: ModelInfo, answer: Answer) -> dict[str, Any]:
        refused = answer.finish_reason == "refusal"
        content = None if refused or (answer.tool_calls and not answer.text) else answer.text
        message: dict[str, Any] = {"role": "assistant", "content": content,
                                   "refusal": answer.text if refused else None, "annotations": []}
        if answer.tool_calls:
            message["tool_calls"] = [
                {"id": f"call_{call.call_id}", "type": "function",
                 "function": {"name": call.name, "arguments": call.arguments}}
                for call in answer.tool_calls]
        return {
            "id": answer.response_id, "object": "chat.completion", "created": int(time.time()),
            "model": model.name, "system_fingerprint": "fp_fakellm",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "stop" if refused else answer.finish_reason}],
            "usage": self._usage(answer),
        }

    def _chunk(self, model: ModelInfo, answer: Answer, delta: dict[str, Any],
               finish_reason: str | None = None) -> bytes:
        chunk = {"id": answer.response_id, "object": "chat.completion.chunk",
                 "created": int(time.time()), "model": model.name,
                 "system_fingerprint": "fp_fakellm",
                 "choices": [{"index": 0, "delta": delta, "logprobs": None,
                              "finish_reason": finish_reason}]}
        return sse(json.dumps(chunk))

    def stream_head(self, model: ModelInfo, answer: Answer) -> list[bytes]:
        content = None if answer.tool_calls and not answer.text else ""
        return [self._chunk(model, answer, {"role": "assistant", "content": content, "refusal": None})]

    def stream_call(self, model: ModelInfo, answer: Answer, index: int, call: ToolCall,
                    size: int) -> list[bytes]:
        start = {"index": index, "id": f"call_{call.call_id}", "type": "function",
                 "function": {"name": call.name, "arguments": ""}}
        frames = [self._chunk(model, answer, {"tool_calls": [start]})]
        for piece in pieces(call.arguments, size):
            if piece:
                frames.append(self._chunk(model, answer, {"tool_calls": [
                    {"index": index, "function": {"arguments": piece}}]}))
        return frames

    def stream_piece(self, model: ModelInfo, answer: Answer, piece: str) -> bytes:
        key = "refusal" if answer.finish_reason == "refusal" else "content"
        return self._chunk(model, answer, {key: piece})

    def stream_tail(self, model: ModelInfo, answer: Answer, include_usage: bool) -> list[bytes]:
        finish = "stop" if answer.finish_reason == "refusal" else answer.finish_reason
        frames = [self._chunk(model, answer, {}, finish)]
        if include_usage:
            usage = {"id": answer.response_id, "object": "chat.completion.chunk",
                     "created": int(time.time()), "model": model.name,
                     "system_fingerprint": "fp_fakellm", "choices": [], "usage": self._usage(answer)}
            frames.append(sse(json.dumps(usage)))
        frames.append(sse("[DONE]"))
        return frames

    def stream_truncated_tail(self) -> list[bytes]:
        return [sse("[DONE]")]

    def stream_error(self) -> bytes:
        from fake_llm.errors import stream_error_payload

        return sse(stream_error_payload("openai"))
