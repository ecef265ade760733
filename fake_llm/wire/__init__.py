"""The providers' wire formats."""

from fake_llm.wire.anthropic import AnthropicWire
from fake_llm.wire.base import Answer, ParsedRequest, Wire
from fake_llm.wire.openai import OpenAIWire

__all__ = ["Answer", "AnthropicWire", "OpenAIWire", "ParsedRequest", "Wire"]
