"""Content faults: the model answers, but not quite in the shape that was asked for.

Each one rewrites the model's complete answer text. Several may apply to one answer (a scripted
rule can list them); they then run in a fixed order — structure first, then quoting, then
wrapping, then cutting — so any combination yields a well-defined text.
"""

from __future__ import annotations

import json
import random
from typing import ClassVar, Literal

from pydantic import Field

from fake_llm.faults.base import Fault, Plan, RequestContext

REFUSAL_TEXT = "I'm sorry, but I can't help with that request."


class _ContentFault(Fault):
    order: ClassVar[int]
    tasks: ClassVar[tuple[str, ...]] = ("summary", "extract", "answer", "chat")

    def applies_to(self, ctx: RequestContext) -> bool:
        return ctx.task in self.tasks

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.text_transforms.append((self.order, self.rewrite))

    def rewrite(self, text: str, ctx: RequestContext, rng: random.Random) -> str:
        raise NotImplementedError


class _JsonFault(_ContentFault):
    tasks = ("extract",)


class SchemaDrift(_JsonFault):
    """Valid JSON, wrong schema: ``sample_size`` as a string such as ``"1,024"``, or a key missing."""

    kind = "schema_drift"
    family = "content"
    order = 0

    variant: Literal["string_number", "missing_key", "any"] = "any"

    def rewrite(self, text: str, ctx: RequestContext, rng: random.Random) -> str:
        variant = self.variant
        if variant == "any":
            variant = rng.choice(("string_number", "missing_key"))
        try:
            data = json.loads(text)
        except json.JSONDecodeError:  # not an extraction after all (e.g. an unknown paper)
            return text
        if not isinstance(data, dict) or "sample_size" not in data:
            return text
        if variant == "string_number":
            data["sample_size"] = f"{data['sample_size']:,}"
        else:
            del data[rng.choice(["population", "intervention", "outcome", "sample_size"])]
        return json.dumps(data)


class JsonSingleQuotes(_JsonFault):
    """Python-style single quotes instead of JSON's double quotes."""

    kind = "json_single_quotes"
    family = "content"
    order = 1

    def rewrite(self, text: str, ctx: RequestContext, rng: random.Random) -> str:
        return text.replace('"', "'")


class JsonTrailingComma(_JsonFault):
    """A comma after the last member of the object."""

    kind = "json_trailing_comma"
    family = "content"
    order = 2

    def rewrite(self, text: str, ctx: RequestContext, rng: random.Random) -> str:
        end = text.rfind("}")
        return text[:end].rstrip() + ",}" + text[end + 1 :]


class JsonFences(_JsonFault):
    """The JSON inside a Markdown code fence."""

    kind = "json_fences"
    family = "content"
    order = 3

    def rewrite(self, text: str, ctx: RequestContext, rng: random.Random) -> str:
        return f"```json\n{text}\n```"


class JsonProseWrap(_JsonFault):
    """The JSON between a chatty preamble and a sign-off."""

    kind = "json_prose_wrap"
    family = "content"
    order = 4

    def rewrite(self, text: str, ctx: RequestContext, rng: random.Random) -> str:
        return f"Sure! Here is the extracted information:\n\n{text}\n\nLet me know if you need more."


class JsonTruncated(_JsonFault):
    """The answer cut at ``keep_fraction`` of its length, with finish reason ``length``."""

    kind = "json_truncated"
    family = "content"
    order = 9

    keep_fraction: float = Field(default=0.6, gt=0, lt=1)

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        super().apply(plan, ctx, rng)
        plan.finish_reason = "length"

    def rewrite(self, text: str, ctx: RequestContext, rng: random.Random) -> str:
        return text[: max(1, int(len(text) * self.keep_fraction))]


class BadCitation(_ContentFault):
    """An extra sentence citing ``extra_markers`` sources that were never given."""

    kind = "bad_citation"
    family = "content"
    order = 0
    tasks = ("answer",)

    extra_markers: int = Field(default=1, ge=1, le=5)

    def rewrite(self, text: str, ctx: RequestContext, rng: random.Random) -> str:
        given = max((marker for marker, _ in ctx.prompt.sources), default=0)
        markers = "".join(f"[{given + i}]" for i in range(1, self.extra_markers + 1))
        return f"{text} Several larger trials confirm this {markers}."


class Refusal(_ContentFault):
    """The model declines to answer (OpenAI: ``refusal`` set; Anthropic: ``stop_reason`` refusal)."""

    kind = "refusal"
    family = "content"
    order = 10

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        super().apply(plan, ctx, rng)
        plan.finish_reason = "refusal"

    def rewrite(self, text: str, ctx: RequestContext, rng: random.Random) -> str:
        return REFUSAL_TEXT


class EmptyContent(_ContentFault):
    """A well-formed response whose text is empty."""

    kind = "empty_content"
    family = "content"
    order = 10

    def rewrite(self, text: str, ctx: RequestContext, rng: random.Random) -> str:
        return ""
