"""Tool-call faults: the model calls tools, but not the way it was asked to.

Each applies only to a reply that calls tools (``tool_loop``: to a turn after earlier calls) and
rewrites the model's calls; the text faults never touch such a reply. Arguments that are not JSON
or break the schema never come for ``strict`` tools: the provider guarantees those.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Literal

from pydantic import Field

from fake_llm.conversation import ToolCall
from fake_llm.faults.base import Fault, Plan, RequestContext

Calls = tuple[ToolCall, ...]


# What ``tool_args_schema``'s ``variant = "any"`` draws from.
ANY_ARGS_VARIANT = ("missing_key", "wrong_type", "extra_key")


class _ToolFault(Fault):
    family = "tools"

    def applies_to(self, ctx: RequestContext) -> bool:
        return ctx.calls_tools

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.call_transforms.append(self.rewrite)

    def rewrite(self, calls: Calls, ctx: RequestContext, rng: random.Random) -> Calls:
        raise NotImplementedError


def _fresh(call: ToolCall, n: int) -> ToolCall:
    return replace(call, call_id=f"{call.call_id[:-4]}{n:04x}")


class _LooseArguments(_ToolFault):
    def applies_to(self, ctx: RequestContext) -> bool:
        return ctx.calls_tools and not any(tool.strict for tool in ctx.turn.tools)


class ToolArgsNotJson(_LooseArguments):
    """The first call's arguments are not JSON. ``variant``: ``truncated`` (cut before the end),
    ``single_quotes`` (Python-style quotes) or ``prose`` (a sentence before the JSON).

    Anthropic parses tool inputs itself, so a plain (not streamed) Anthropic reply never has
    broken ones: there the fault applies to streams only (a broken ``input_json_delta``).
    """

    kind = "tool_args_not_json"

    variant: Literal["truncated", "single_quotes", "prose"] = "truncated"

    def applies_to(self, ctx: RequestContext) -> bool:
        return super().applies_to(ctx) and (ctx.provider != "anthropic" or ctx.stream)

    def rewrite(self, calls: Calls, ctx: RequestContext, rng: random.Random) -> Calls:
        if not calls:
            return calls
        args = calls[0].arguments
        if self.variant == "truncated":
            broken = args[: max(1, len(args) * 2 // 3)]
        elif self.variant == "single_quotes":
            broken = args.replace('"', "'")
        else:
            broken = f"Here are the arguments: {args}"
        return (replace(calls[0], arguments=broken), *calls[1:])


class ToolArgsSchema(_LooseArguments):
    """The first call's arguments are JSON that breaks the tool's schema. ``variant``:
    ``missing_key`` (a required parameter left out), ``wrong_type`` (a value of the wrong type: a
    number as a string such as ``"1,024"``, a string as a number), ``extra_key`` (a parameter the
    schema does not have), or ``any`` of them at random."""

    kind = "tool_args_schema"

    variant: Literal["missing_key", "wrong_type", "extra_key", "any"] = "any"

    def forms(self) -> dict[str, Fault]:
        if self.variant == "any":
            return {variant: self.model_copy(update={"variant": variant}) for variant in ANY_ARGS_VARIANT}
        return {"": self}

    def rewrite(self, calls: Calls, ctx: RequestContext, rng: random.Random) -> Calls:
        if not calls:
            return calls
        try:
            args = json.loads(calls[0].arguments)
        except ValueError:
            return calls
        if not isinstance(args, dict):
            return calls
        variant = self.variant if self.variant != "any" else rng.choice(ANY_ARGS_VARIANT)
        if variant == "extra_key" or not args:
            args["unexpected_argument"] = True
        elif variant == "missing_key":
            del args[sorted(args)[0]]
        else:
            name = sorted(args)[0]
            value = args[name]
            args[name] = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else 42
        return (replace(calls[0], arguments=json.dumps(args)), *calls[1:])


class ToolUnknownName(_ToolFault):
    """The first call names a tool the request never offered: ``name``, or the offered name with
    ``_v2`` appended."""

    kind = "tool_unknown_name"

    name: str | None = Field(default=None, min_length=1, max_length=64)

    def rewrite(self, calls: Calls, ctx: RequestContext, rng: random.Random) -> Calls:
        if not calls:
            return calls
        offered = {tool.name for tool in ctx.turn.tools}
        name = self.name if self.name is not None and self.name not in offered else f"{calls[0].name}_v2"
        return (replace(calls[0], name=name), *calls[1:])


class ToolLoop(_ToolFault):
    """Instead of moving on, the model repeats the last call it made, the same tool with the same
    arguments; a rule with ``times: null`` makes it repeat without end."""

    kind = "tool_loop"

    def applies_to(self, ctx: RequestContext) -> bool:
        return bool(ctx.turn.calls) and any(t.name == ctx.turn.calls[-1].name for t in ctx.turn.tools)

    def rewrite(self, calls: Calls, ctx: RequestContext, rng: random.Random) -> Calls:
        last = ctx.turn.calls[-1]
        return (ToolCall(f"{rng.getrandbits(96):024x}", last.name, last.arguments),)


class ToolParallelCalls(_ToolFault):
    """Where the model would make one call, it makes ``copies`` of it at once (the same tool and
    arguments, each with its own id), even when the request disallowed parallel calls."""

    kind = "tool_parallel_calls"

    copies: int = Field(default=2, ge=2, le=8)

    def rewrite(self, calls: Calls, ctx: RequestContext, rng: random.Random) -> Calls:
        if len(calls) != 1:
            return calls
        return tuple(_fresh(calls[0], n) if n else calls[0] for n in range(self.copies))
