"""Reading tools, tool choices, tool calls, tool results and output formats from each wire format.

Each reader takes a request body and returns the :class:`~fake_llm.conversation.Turn` the model
sees, or raises ``bad(message, param)``: the wire's own 400 naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fake_llm.conversation import OutputFormat, ToolCall, ToolResult, ToolSpec, Turn
from fake_llm.errors import ApiError

Bad = Callable[[str, str], ApiError]


def _text(content: Any) -> str:
    """The text of a tool result or message content (a string, or parts of which text counts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part["text"] for part in content
                         if isinstance(part, dict) and isinstance(part.get("text"), str))
    return ""


def _schema(value: Any, where: str, bad: Bad) -> dict[str, Any]:
    if value is None:
        return {"type": "object", "properties": {}}
    if not isinstance(value, dict):
        raise bad(f"Invalid type for '{where}': expected an object (a JSON schema).", where)
    return value


def _name(value: Any, where: str, bad: Bad) -> str:
    if not isinstance(value, str) or not value:
        raise bad(f"Missing required parameter: '{where}'.", where)
    return value


def _unique(tools: list[ToolSpec], bad: Bad, where: str) -> tuple[ToolSpec, ...]:
    names = [tool.name for tool in tools]
    for name in names:
        if names.count(name) > 1:
            raise bad(f"Invalid '{where}': tool names must be unique, {name!r} is given twice.", where)
    return tuple(tools)


def _arguments(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# --- OpenAI Chat Completions ---------------------------------------------------------------------

def openai_tools(body: dict[str, Any], bad: Bad) -> tuple[ToolSpec, ...]:
    tools = body.get("tools")
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise bad("Invalid type for 'tools': expected an array.", "tools")
    specs = []
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(
                tool.get("function"), dict):
            raise bad(f"Invalid value for '{where}': expected a function tool "
                      '({"type": "function", "function": {...}}).', where)
        function = tool["function"]
        specs.append(ToolSpec(_name(function.get("name"), f"{where}.function.name", bad),
                              str(function.get("description") or ""),
                              _schema(function.get("parameters"), f"{where}.function.parameters", bad),
                              function.get("strict") is True))
    return _unique(specs, bad, "tools")


def openai_tool_choice(body: dict[str, Any], tools: tuple[ToolSpec, ...], bad: Bad) -> str:
    choice = body.get("tool_choice")
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            raise bad("Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or a "
                      "named function.", "tool_choice")
        if choice == "required" and not tools:
            raise bad("Invalid value for 'tool_choice': 'required' is only allowed when 'tools' "
                      "are specified.", "tool_choice")
        return choice
    function = choice.get("function") if isinstance(choice, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(name, str):
        raise bad("Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or "
                  '{"type": "function", "function": {"name": ...}}.', "tool_choice")
    if name not in {tool.name for tool in tools}:
        raise bad(f"Invalid value for 'tool_choice': no function named {name!r} was specified in "
                  "the 'tools' parameter.", "tool_choice")
    return name


def openai_output(body: dict[str, Any], bad: Bad) -> OutputFormat | None:
    fmt = body.get("response_format")
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return OutputFormat("json_object")
    if kind != "json_schema":
        raise bad("Invalid value for 'response_format.type': expected one of 'text', 'json_object' "
                  "or 'json_schema'.", "response_format.type")
    spec = fmt.get("json_schema")
    if not isinstance(spec, dict):
        raise bad("Missing required parameter: 'response_format.json_schema'.", "response_format.json_schema")
    name = _name(spec.get("name"), "response_format.json_schema.name", bad)
    schema = _schema(spec.get("schema"), "response_format.json_schema.schema", bad)
    return OutputFormat("json_schema", schema, bool(spec.get("strict")), name)


def openai_turn(body: dict[str, Any], bad: Bad) -> Turn:
    """The turn of a chat completions request (its messages already validated)."""
    tools = openai_tools(body, bad)
    calls, results, question, instructions = [], [], "", []
    for message in body["messages"]:
        role = message.get("role")
        if role in ("system", "developer", "user"):
            instructions.append(_text(message.get("content")))
        if role == "assistant":
            for call in message.get("tool_calls") or ():
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    calls.append(ToolCall(str(call.get("id", "")), str(function.get("name", "")),
                                          _arguments(function.get("arguments", ""))))
        elif role == "tool":
            results.append(ToolResult(str(message.get("tool_call_id", "")), _text(message.get("content"))))
        elif role == "user":
            question = _text(message.get("content"))
    parallel = body.get("parallel_tool_calls", True)
    return Turn(tools, openai_tool_choice(body, tools, bad), parallel is not False, tuple(calls),
                tuple(results), openai_output(body, bad), question, "\n".join(instructions))


# --- Anthropic Messages --------------------------------------------------------------------------

def anthropic_tools(body: dict[str, Any], bad: Bad) -> tuple[ToolSpec, ...]:
    tools = body.get("tools")
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise bad("tools: Input should be a valid list", "tools")
    specs = []
    for index, tool in enumerate(tools):
        where = f"tools.{index}"
        if not isinstance(tool, dict):
            raise bad(f"{where}: Input should be a valid dictionary", where)
        if tool.get("type") not in (None, "custom"):
            raise bad(f"{where}.type: the fake serves client tools only, not the server tool "
                      f"{tool.get('type')!r}", where)
        if "input_schema" not in tool:
            raise bad(f"{where}.input_schema: Field required", where)
        schema = _schema(tool["input_schema"], f"{where}.input_schema", bad)
        specs.append(ToolSpec(_name(tool.get("name"), f"{where}.name", bad),
                              str(tool.get("description") or ""), schema, tool.get("strict") is True))
    return _unique(specs, bad, "tools")


def anthropic_tool_choice(body: dict[str, Any], tools: tuple[ToolSpec, ...],
                          bad: Bad) -> tuple[str, bool]:
    """The tool choice (as a :class:`Turn` names it) and whether parallel calls are allowed."""
    choice = body.get("tool_choice")
    if choice is None:
        return "auto", True
    kind = choice.get("type") if isinstance(choice, dict) else None
    parallel = not (isinstance(choice, dict) and choice.get("disable_parallel_tool_use"))
    if kind in ("auto", "none"):
        return kind, parallel
    if kind == "any":
        return "required", parallel
    if kind == "tool":
        name = choice.get("name")
        if name not in {tool.name for tool in tools}:
            raise bad(f"tool_choice.name: no tool named {name!r} in 'tools'", "tool_choice.name")
        return str(name), parallel
    raise bad("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'", "tool_choice.type")


def anthropic_turn(body: dict[str, Any], bad: Bad) -> Turn:
    """The turn of a messages request (its messages already validated)."""
    tools = anthropic_tools(body, bad)
    choice, parallel = anthropic_tool_choice(body, tools, bad)
    calls, results, question = [], [], ""
    instructions = [_text(body.get("system"))]
    for message in body["messages"]:
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        for block in blocks:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use" and message.get("role") == "assistant":
                calls.append(ToolCall(str(block.get("id", "")), str(block.get("name", "")),
                                      _arguments(block.get("input", {}))))
            elif block.get("type") == "tool_result":
                results.append(ToolResult(str(block.get("tool_use_id", "")), _text(block.get("content"))))
        if message.get("role") == "user":
            text = _text(content)
            question = text or question
            instructions.append(text)
    return Turn(tools, choice, parallel, tuple(calls), tuple(results), None, question,
                "\n".join(filter(None, instructions)))


def tool_text(turn: Turn, results: bool = True) -> str:
    """The tools, tool calls (and results) of a conversation as text, for counting input tokens."""
    parts = [tool.name + tool.description + json.dumps(tool.parameters) for tool in turn.tools]
    parts += [call.name + call.arguments for call in turn.calls]
    parts += [result.content for result in turn.results] if results else []
    return "\n".join(parts)
