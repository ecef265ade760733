"""What the two wire formats share: a parsed request, an answer, and the frame builder interface."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from fake_llm.body import BodyError, parse_json
from fake_llm.conversation import NO_TURN, Reply, ToolCall, Turn
from fake_llm.errors import ApiError
from fake_llm.model import Prompt, read_prompt
from fake_llm.pricing import MODELS, ModelInfo, ModelKind, Provider
from fake_llm.reply import reply


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """A request that passed the provider's validation."""

    model: ModelInfo
    text: str
    stream: bool
    include_usage: bool
    max_tokens: int | None
    turn: Turn = NO_TURN


@dataclass(frozen=True, slots=True)
class Answer:
    """The text to send and its accounting."""

    text: str
    finish_reason: str | None
    tokens_in: int
    tokens_out: int
    response_id: str
    tool_calls: tuple[ToolCall, ...] = ()
    data: Any = None  # the reply's wire-specific payload (Reply.data)


def sse(data: str, event: str | None = None) -> bytes:
    """One server-sent event frame."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


def pieces(text: str, size: int) -> list[str]:
    """``text`` in pieces of ``size`` characters (one empty piece for an empty text)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def new_id(prefix: str, rng: random.Random) -> str:
    """A response id drawn from the fate's random source, so a replayed fate has the same id."""
    return f"{prefix}{rng.getrandbits(96):024x}"


ModelProblem = Literal["missing", "bad_type", "not_found", "wrong_kind"]


def require_model(value: Any, error: Callable[[ModelProblem, Any], ApiError],
                  kind: ModelKind = "chat") -> ModelInfo:
    """The model a request names; ``error`` builds the wire's error for what is wrong with it
    (``wrong_kind``: a model that exists but is not a ``kind`` model, e.g. embeddings asked of a
    chat model)."""
    if value is None:
        raise error("missing", value)
    if not isinstance(value, str):
        raise error("bad_type", value)
    model = MODELS.get(value)
    if model is None:
        raise error("not_found", value)
    if model.kind != kind:
        raise error("wrong_kind", value)
    return model


def text_of(content: Any, where: str, error: type[ApiError] = ApiError) -> str:
    """The text of a message content: a string, or a list of parts of which text parts count."""
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if isinstance(content, list):
        texts = []
        for index, part in enumerate(content):
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise error(400, f"Invalid value for '{where}[{index}]': expected an object with a "
                                 "'type'.", param=f"{where}[{index}]", code="invalid_value")
            if part["type"] == "text":
                if not isinstance(part.get("text"), str):
                    raise error(400, f"Invalid type for '{where}[{index}].text': expected a string.",
                                param=f"{where}[{index}].text", code="invalid_type")
                texts.append(part["text"])
        return "\n".join(texts)
    raise error(400, f"Invalid type for '{where}': expected a string or an array of content parts.",
                param=where, code="invalid_type")


def parse_json_body(raw: bytes, bad_json: ApiError) -> dict[str, Any]:
    """The request's JSON object; ``bad_json``, with the problem named, when it is not one."""
    try:
        body = parse_json(raw)
    except BodyError as error:
        raise replace(bad_json, message=f"{bad_json.message} ({error.message})") from None
    if not isinstance(body, dict):
        raise replace(bad_json, message=f"{bad_json.message} (the body must be a JSON object)")
    return body


class Wire(ABC):
    """One provider's wire format: request validation, response body, stream frames."""

    provider: Provider
    id_prefix: str  # of response ids

    def reply(self, parsed: ParsedRequest, prompt: Prompt, rng: random.Random) -> Reply:
        """The model's fault-free reply to the request (a wire whose answer is not the chat
        model's, embeddings for example, overrides this)."""
        return reply(parsed.turn, prompt, rng)

    @abstractmethod
    def parse(self, raw: bytes) -> tuple[dict[str, Any], ParsedRequest]:
        """Validate a request body; raises ApiError in the provider's shape."""

    def read_prompt(self, parsed: ParsedRequest) -> Prompt:
        """What the model recognises in the request (the task and the papers it is about)."""
        return read_prompt(parsed.text)

    @abstractmethod
    def body(self, model: ModelInfo, answer: Answer) -> dict[str, Any]:
        """The non-streamed response body."""

    @abstractmethod
    def stream_head(self, model: ModelInfo, answer: Answer) -> list[bytes]:
        """Frames before the first piece of content."""

    @abstractmethod
    def stream_piece(self, model: ModelInfo, answer: Answer, piece: str) -> bytes:
        """One frame of text."""

    @abstractmethod
    def stream_call(self, model: ModelInfo, answer: Answer, index: int, call: ToolCall,
                    size: int) -> list[bytes]:
        """The frames of tool call number ``index``: its start, then its arguments in pieces."""

    def stream_content(self, model: ModelInfo, answer: Answer, size: int) -> list[bytes]:
        """The content frames between head and tail: the text in pieces of ``size`` characters,
        then each tool call (the frames a stream fault counts, cuts or garbles)."""
        text = answer.text
        frames = [self.stream_piece(model, answer, text[i : i + size]) for i in range(0, len(text), size)]
        for index, call in enumerate(answer.tool_calls):
            frames += self.stream_call(model, answer, index, call, size)
        return frames

    @abstractmethod
    def stream_tail(self, model: ModelInfo, answer: Answer, include_usage: bool) -> list[bytes]:
        """Frames after the content of a complete answer (finish reason, usage, end marker)."""

    @abstractmethod
    def stream_truncated_tail(self) -> list[bytes]:
        """Frames that end a stream cleanly but early: no finish reason, no usage."""

    @abstractmethod
    def stream_error(self) -> bytes:
        """A mid-stream error event."""

    def corrupt(self, frame: bytes) -> bytes:
        """A frame cut in half, so its JSON does not parse."""
        text = frame.decode().rstrip("\n")
        return (text[: max(len(text) // 2, len(text) - 30)] + "\n\n").encode()
