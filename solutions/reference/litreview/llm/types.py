"""The values the LLM layer takes and returns, independent of any provider's wire format."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Literal, Protocol, TypedDict

from pydantic import BaseModel, ConfigDict, computed_field

FinishReason = Literal["stop", "length", "refusal", "tool_calls", "other"]


class ChatMessage(TypedDict):
    """One message of a conversation, as both providers understand it."""

    role: Literal["system", "user", "assistant"]
    content: str


class Usage(BaseModel):
    """Tokens spent. ``total_tokens`` is always input plus output."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int = 0
    output_tokens: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


@dataclass(frozen=True, slots=True)
class Completion:
    """One answer from a model, in the words of neither wire format.

    ``finish_reason`` is normalised: ``stop`` (complete), ``length`` (cut at the token limit),
    ``refusal`` (the model declined; ``text`` is then the refusal), ``tool_calls`` (the model
    asked for tools), ``other``. ``fallback`` is
    true when the secondary provider wrote it.
    """

    text: str
    provider: str
    model: str
    usage: Usage
    finish_reason: FinishReason
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call of a reply, as the model wrote it: ``arguments`` is the raw JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolReply:
    """A reply to a request that offered tools: the completion (its text, usage, finish reason)
    and the tool calls, in order (none: the reply is the model's answer)."""

    completion: Completion
    tool_calls: tuple[ToolCall, ...]


@dataclass(frozen=True, slots=True)
class Embeddings:
    """One vector per input text, in order, and the usage of the call."""

    vectors: tuple[tuple[float, ...], ...]
    usage: Usage


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of a streamed answer, in order."""

    text: str


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The provider's end-of-stream marker arrived, with the finish reason and the usage."""

    finish_reason: FinishReason
    usage: Usage


StreamEvent = TextDelta | StreamEnd


class Provider(Protocol):
    """One model at one provider. A call is one attempt: no retries, no policy.

    Failures raise :class:`litreview.errors.AttemptError`.
    """

    @property
    def name(self) -> str:
        """The provider's name as the API reports it (``openai``, ``anthropic``)."""

    @property
    def model(self) -> str:
        """The model requests go to."""

    async def complete(self, messages: list[ChatMessage], timeout_s: float) -> Completion:
        """The whole answer, or AttemptError (including a timeout after ``timeout_s``)."""

    def stream(self, messages: list[ChatMessage]) -> AsyncGenerator[StreamEvent, None]:
        """The answer as events; a complete stream ends with exactly one :class:`StreamEnd`.

        A stream cut short raises AttemptError instead of ending. The caller bounds every wait
        (first token, gaps) and closes the generator when it stops early.
        """
