"""The values the LLM client takes and returns, independent of any provider's wire format."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

from pydantic import BaseModel, ConfigDict, computed_field


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
    """One answer from a model: its text, who served it, and what it cost."""

    text: str
    provider: str
    model: str
    usage: Usage
    finish_reason: str | None = None
