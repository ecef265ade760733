"""Content faults: the model answers, but not quite in the shape that was asked for.

Each one rewrites the model's complete answer text. Several may apply to one answer (a scripted
rule can list them); they then run in a fixed order — structure first, then quoting, then
wrapping, then cutting — so any combination yields a well-defined text.
"""

from __future__ import annotations

import json
import random
from typing import Any, ClassVar, Literal

from pydantic import Field

from fake_llm.corpus import corpus
from fake_llm.faults.base import Fault, Plan, RequestContext

REFUSAL_TEXT = "I'm sorry, but I can't help with that request."


class _ContentFault(Fault):
    order: ClassVar[int]
    tasks: ClassVar[tuple[str, ...]] = ("summary", "extract", "answer", "chat")

    def applies_to(self, ctx: RequestContext) -> bool:
        """A text fault needs a text answer: never a reply of tool calls, nor a strict
        ``json_schema`` output, which the provider guarantees to follow its schema."""
        return ctx.task in self.tasks and not ctx.calls_tools and not ctx.turn.strict_output

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.text_transforms.append((self.order, self.rewrite))

    def rewrite(self, text: str, ctx: RequestContext, rng: random.Random) -> str:
        raise NotImplementedError


class _JsonFault(_ContentFault):
    """Malformed or off-schema JSON: for extractions and for ``json_object`` or non-strict
    ``json_schema`` outputs."""

    tasks = ("extract",)

    def applies_to(self, ctx: RequestContext) -> bool:
        asked_json = ctx.task in self.tasks or ctx.turn.output is not None
        return asked_json and not ctx.calls_tools and not ctx.turn.strict_output


Drift = Literal["string_number", "missing_key", "float_number", "zero", "negative", "boolean",
                "decimal_string", "approx_string", "effect_synonym", "effect_case", "other_paper",
                "extra_keys"]
# Keys no extraction contract names, with a value of every JSON type (true, false and null
# included): a reply that adds them is still the right extraction.
EXTRA_KEYS = {"confidence": 0.87, "peer_reviewed": True, "retracted": False, "notes": None,
              "tags": ["randomised", "controlled"], "source": {"page": 3}}
# What a model that drifts says instead of a direction of effect: synonyms, or another case.
EFFECT_SYNONYMS = {"increase": "positive", "decrease": "negative", "no_effect": "none"}
# What ``variant = "any"`` draws from.
ANY_DRIFT: tuple[Drift, ...] = ("string_number", "missing_key")


class SchemaDrift(_JsonFault):
    """Valid JSON, wrong schema. ``variant`` says how:

    - ``string_number``: ``sample_size`` as a string with thousands separators (``"1,024"``), the
      one drift a parser may repair;
    - ``missing_key``: one of the required keys left out;
    - ``float_number`` (``1024.0``), ``zero`` (``0``), ``negative`` (``-1024``), ``boolean``
      (``true``), ``decimal_string`` (``"1.024"``, dots as thousands separators; ``"279.0"`` below
      a thousand), ``approx_string`` (``"about 1024"``): a ``sample_size`` no parser may convert;
    - ``effect_synonym`` (``"positive"``, ``"negative"``, ``"none"``) and ``effect_case``
      (``"Increase"``): an ``effect_direction`` outside the three values;
    - ``other_paper``: the whole extraction of another paper (the next one in the corpus);
    - ``extra_keys``: the right extraction plus keys the contract does not name, whose values
      are every JSON type (``true``, ``false``, ``null``, a number, a list, an object);
    - ``any``: ``string_number`` or ``missing_key`` at random (what the levels use).
    """

    kind = "schema_drift"
    family = "content"
    order = 0

    variant: Drift | Literal["any"] = "any"

    def applies_to(self, ctx: RequestContext) -> bool:
        """Only an extraction can drift from the extraction schema."""
        return ctx.task == "extract" and super().applies_to(ctx)

    def forms(self) -> dict[str, Fault]:
        if self.variant != "any":
            return {"": self}
        return {variant: self.model_copy(update={"variant": variant}) for variant in ANY_DRIFT}

    def rewrite(self, text: str, ctx: RequestContext, rng: random.Random) -> str:
        variant: Drift = rng.choice(ANY_DRIFT) if self.variant == "any" else self.variant
        try:
            data = json.loads(text)
        except json.JSONDecodeError:  # not an extraction after all (e.g. an unknown paper)
            return text
        if not isinstance(data, dict) or "sample_size" not in data:
            return text
        return json.dumps(_drift(data, variant, rng))


def _drift(data: dict[str, Any], variant: Drift, rng: random.Random) -> dict[str, Any]:
    """``data`` (a correct extraction) drifted from the schema as ``variant`` says."""
    size = int(data["sample_size"])
    if variant == "string_number":
        data["sample_size"] = f"{size:,}"
    elif variant == "missing_key":
        del data[rng.choice(["population", "intervention", "outcome", "sample_size"])]
    elif variant == "float_number":
        data["sample_size"] = float(size)
    elif variant == "zero":
        data["sample_size"] = 0
    elif variant == "negative":
        data["sample_size"] = -size
    elif variant == "boolean":
        data["sample_size"] = True
    elif variant == "decimal_string":
        data["sample_size"] = f"{size:,}".replace(",", ".") if size >= 1000 else f"{size}.0"
    elif variant == "approx_string":
        data["sample_size"] = f"about {size}"
    elif variant == "effect_synonym":
        data["effect_direction"] = EFFECT_SYNONYMS.get(str(data.get("effect_direction")), "unclear")
    elif variant == "effect_case":
        data["effect_direction"] = str(data.get("effect_direction")).capitalize()
    elif variant == "extra_keys":
        data.update(EXTRA_KEYS)
    else:
        papers = sorted(corpus())
        here = papers.index(data["paper_id"]) if data.get("paper_id") in papers else -1
        other = corpus()[papers[(here + 1) % len(papers)]]
        data = {"paper_id": other.paper_id, **other.truth()}
    return data


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

    def applies_to(self, ctx: RequestContext) -> bool:
        """A length cut-off can happen to any JSON answer, a strict ``json_schema`` one included."""
        return (ctx.task in self.tasks or ctx.turn.output is not None) and not ctx.calls_tools

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        super().apply(plan, ctx, rng)
        plan.finish_reason = "length"

    def rewrite(self, text: str, ctx: RequestContext, rng: random.Random) -> str:
        return text[: max(1, int(len(text) * self.keep_fraction))]


class LengthLimit(_ContentFault):
    """Any answer (a summary, an answer, an extraction; plain or streamed) stopped by the length
    limit: cut at ``keep_fraction`` of its length, with finish reason ``length`` (Anthropic
    ``max_tokens``). ``keep_fraction = 1`` keeps the text whole: the limit hit just as the text
    ended, so what arrived reads as complete (an extraction even parses), and only the finish
    reason says it was cut."""

    kind = "length_limit"
    family = "content"
    order = 9

    keep_fraction: float = Field(default=0.6, gt=0, le=1)

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

    def applies_to(self, ctx: RequestContext) -> bool:
        """A model may refuse anything it would answer in words: a strict output or a turn that
        would call tools too; never an embeddings request, whose answer is vectors."""
        return ctx.task != "embed"

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
