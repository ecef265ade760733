"""What a request asks of the model beyond its text: tools, tool results, an output format.

The wire formats read these from their own request shapes (OpenAI ``tools``/``tool_calls``/
``role: tool``/``response_format``; Anthropic ``tools``/``tool_use``/``tool_result``); the model
reads only these records, so it answers both providers alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

OutputKind = Literal["json_object", "json_schema"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the request offers: its name, description and JSON schema of parameters;
    ``strict``: the provider guarantees that calls to it follow the schema."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    strict: bool = False


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the model makes: ``arguments`` is JSON text as sent (a fault may break it)."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool's result the client sent back: the call it answers and its text."""

    call_id: str
    content: str


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """A requested output shape: OpenAI ``response_format``."""

    kind: OutputKind
    schema: dict[str, Any] | None = None
    strict: bool = False
    name: str = "response"


@dataclass(frozen=True, slots=True)
class Turn:
    """The conversation as the model sees it at this turn.

    ``tool_choice``: ``"auto"``, ``"none"``, ``"required"``, or the name of the one tool the model
    must call. ``calls``: the calls the model made earlier in the conversation; ``results``: the
    results sent back for them; ``question``: the last user message's text; ``instructions``: the
    system and user messages' text.
    """

    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str = "auto"
    parallel_tool_calls: bool = True
    calls: tuple[ToolCall, ...] = ()
    results: tuple[ToolResult, ...] = ()
    output: OutputFormat | None = None
    question: str = ""
    instructions: str = ""  # the system and user text, without tool calls and results

    def tool(self, name: str) -> ToolSpec | None:
        return next((tool for tool in self.tools if tool.name == name), None)

    @property
    def forced_tool(self) -> str | None:
        """The tool the request forces, if it names one."""
        return None if self.tool_choice in ("auto", "none", "required") else self.tool_choice

    @property
    def strict_output(self) -> bool:
        """Whether the provider guarantees the output's schema (strict ``json_schema``)."""
        return self.output is not None and self.output.kind == "json_schema" and self.output.strict


NO_TURN = Turn()


@dataclass(frozen=True, slots=True)
class Reply:
    """The model's fault-free reply: text, tool calls, or both. ``data``: anything else a wire's
    own reply carries to its response body (embedding vectors, say); the pipeline passes it on."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    data: Any = None
