"""The language-model client (``openai.py``) and the values it returns (``types.py``)."""

from litreview.llm.openai import OpenAIClient
from litreview.llm.types import ChatMessage, Completion, Usage

__all__ = ["ChatMessage", "Completion", "OpenAIClient", "Usage"]
