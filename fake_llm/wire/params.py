"""Which request parameters each wire handles, accepts and ignores, or refuses.

The fake emulates part of each API. A parameter that would change the shape of the answer in a way
the fake does not emulate (several choices, log probabilities, audio, extended thinking ...) is
refused with a 400 in the provider's shape that names the feature, never silently ignored: a client
that relies on it learns at once that the fake cannot show it. Parameters that only tune sampling or
bookkeeping (``temperature``, ``seed``, ``metadata``, ``stop`` ...) are accepted and ignored. A
parameter the real API does not have at all gets the provider's own "unknown parameter" 400.

One table per API; ``docs/fake-llm.md`` renders them (a test keeps the two in step). A wire that
comes to emulate a parameter moves it to ``handled``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fake_llm.errors import ApiError

Api = Literal["openai-chat", "openai-responses", "openai-embeddings", "anthropic-messages",
              "anthropic-count-tokens"]


def _given(value: Any) -> bool:
    return value is not None


def _truthy(value: Any) -> bool:
    return bool(value)


def _structured_text(value: Any) -> bool:
    fmt = value.get("format") if isinstance(value, dict) else None
    return isinstance(fmt, dict) and fmt.get("type", "text") != "text"


@dataclass(frozen=True, slots=True)
class Refused:
    """A parameter whose value asks for a feature the fake does not emulate."""

    feature: str
    asks: Callable[[Any], bool] = _given  # whether this value asks for the feature
    when: str = "any value"  # the values refused, as the docs say them


@dataclass(frozen=True, slots=True)
class Table:
    """One API's parameters."""

    handled: tuple[str, ...]
    ignored: tuple[str, ...]
    refused: dict[str, Refused]
    blocks: dict[str, str]  # content part / block type -> the feature it asks for


_OPENAI_PARTS = {"image_url": "image input", "input_audio": "audio input", "file": "file input"}
_ANTHROPIC_BLOCKS = {"image": "image input", "document": "document input",
                     "search_result": "search result blocks", "container_upload": "container uploads"}
_LOGPROBS = Refused("log probabilities", lambda v: v not in (None, 0), "other than null or 0")
_THINKING = Refused("extended thinking",
                    lambda v: v is not None and not (isinstance(v, dict) and v.get("type") == "disabled"),
                    'other than null or {"type": "disabled"}')

TABLES: dict[Api, Table] = {
    "openai-chat": Table(
        handled=("model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
                 "tools", "tool_choice", "parallel_tool_calls", "response_format"),
        ignored=("temperature", "top_p", "seed", "user", "metadata", "stop", "presence_penalty",
                 "frequency_penalty", "logit_bias", "store", "service_tier", "prompt_cache_key",
                 "prompt_cache_retention", "safety_identifier", "verbosity"),
        refused={
            "n": Refused("several choices per request", lambda v: v not in (None, 1), "other than 1"),
            "logprobs": Refused("log probabilities", _truthy, "true"),
            "top_logprobs": _LOGPROBS,
            "audio": Refused("audio output"),
            "modalities": Refused("output modalities other than text",
                                  lambda v: v is not None and v != ["text"], 'other than ["text"]'),
            "prediction": Refused("predicted outputs"),
            "web_search_options": Refused("web search"),
            "reasoning_effort": Refused("reasoning (the simulated models do not reason)"),
            "functions": Refused("legacy function calling (use tools)"),
            "function_call": Refused("legacy function calling (use tool_choice)"),
        },
        blocks=_OPENAI_PARTS,
    ),
    "openai-responses": Table(
        handled=("model", "input", "instructions", "stream", "stream_options", "max_output_tokens"),
        ignored=("temperature", "top_p", "user", "metadata", "store", "truncation", "service_tier",
                 "safety_identifier", "prompt_cache_key", "prompt_cache_retention", "max_tool_calls",
                 "tool_choice", "parallel_tool_calls"),
        refused={
            "tools": Refused("tool calls on the Responses API (chat completions emulate them)", _truthy,
                             "a non-empty list"),
            "text": Refused("structured outputs on the Responses API (chat completions emulate them)",
                            _structured_text, 'a format other than {"type": "text"}'),
            "previous_response_id": Refused("conversation state (responses are not stored)"),
            "conversation": Refused("conversation state (responses are not stored)"),
            "background": Refused("background responses", _truthy, "true"),
            "reasoning": Refused("reasoning (the simulated models do not reason)",
                                 lambda v: isinstance(v, dict) and any(x is not None for x in v.values()),
                                 "with any field set"),
            "top_logprobs": _LOGPROBS,
            "prompt": Refused("stored prompt templates"),
            "include": Refused("extra output data (include)", _truthy, "a non-empty list"),
        },
        blocks={"input_image": "image input", "input_file": "file input", "input_audio": "audio input"},
    ),
    "openai-embeddings": Table(
        handled=("model", "input", "dimensions", "encoding_format"),
        ignored=("user",),
        refused={},
        blocks={},
    ),
    "anthropic-messages": Table(
        handled=("model", "messages", "max_tokens", "system", "stream", "tools", "tool_choice"),
        ignored=("temperature", "top_p", "top_k", "stop_sequences", "metadata", "service_tier"),
        refused={
            "thinking": _THINKING,
            "mcp_servers": Refused("MCP servers", _truthy, "a non-empty list"),
            "container": Refused("code execution containers"),
            "context_management": Refused("context management"),
        },
        blocks=_ANTHROPIC_BLOCKS,
    ),
    "anthropic-count-tokens": Table(
        handled=("model", "messages", "system", "tools", "tool_choice"),
        ignored=(),
        refused={"thinking": _THINKING,
                 "mcp_servers": Refused("MCP servers", _truthy, "a non-empty list"),
                 "context_management": Refused("context management")},
        blocks=_ANTHROPIC_BLOCKS,
    ),
}


def _refusal(api: Api, name: str, feature: str) -> ApiError:
    if api.startswith("anthropic"):
        return ApiError(400, f"{name}: {feature} is not emulated by the fake LLM")
    return ApiError(400, f"Unsupported parameter: '{name}' asks for {feature}, which the fake LLM "
                         "does not emulate.", param=name, code="unsupported_parameter")


def _unknown(api: Api, name: str) -> ApiError:
    if api.startswith("anthropic"):
        return ApiError(400, f"{name}: Extra inputs are not permitted")
    return ApiError(400, f"Unrecognized request argument supplied: {name}", param=name,
                    code="unknown_parameter")


def block_refusal(api: Api, where: str, kind: str, feature: str) -> ApiError:
    """The 400 for a content part (OpenAI) or block (Anthropic) the fake does not understand."""
    if api.startswith("anthropic"):
        return ApiError(400, f"{where}: {feature} ('{kind}' blocks) is not emulated by the fake LLM")
    return ApiError(400, f"Unsupported value: '{where}' of type '{kind}' asks for {feature}, which "
                         "the fake LLM does not emulate; send text.", param=where,
                    code="unsupported_value")


def _check_blocks(api: Api, table: Table, messages: Any) -> None:
    if not isinstance(messages, list):
        return  # the wire's own validation names what is wrong
    anthropic = api.startswith("anthropic")
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if isinstance(kind, str) and kind in table.blocks:
                where = f"messages.{i}.content.{j}" if anthropic else f"messages[{i}].content[{j}]"
                raise block_refusal(api, where, kind, table.blocks[kind])


def check_params(api: Api, body: dict[str, Any]) -> None:
    """Raise the provider's 400 for the first parameter (or content block) of ``body`` that the fake
    does not emulate or the API does not know."""
    table = TABLES[api]
    for name, value in body.items():
        refused = table.refused.get(name)
        if refused is not None:
            if refused.asks(value):
                raise _refusal(api, name, refused.feature)
        elif name not in table.handled and name not in table.ignored:
            raise _unknown(api, name)
    if api != "openai-responses":
        _check_blocks(api, table, body.get("messages"))
