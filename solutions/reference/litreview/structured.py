"""Reading the model's JSON: repair what is unambiguous, validate everything, guess nothing.

Repairs (each only when plain JSON parsing fails): a Markdown code fence around the JSON; prose
before or after the object; trailing commas; Python-style single quotes. Numbers written with
thousands separators (``"1,024"``) become integers. A missing key, a wrong type, a value outside
its set, a different paper id, or an answer cut at the token limit are not repaired: the caller
re-asks.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from litreview.errors import LLMInvalidOutput
from litreview.llm.types import Completion

_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)\n?\s*```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_GROUPED_INT = re.compile(r"\d{1,3}(,\d{3})+|\d+")


def _whole_number(value: Any) -> Any:
    """``"1,024"`` and ``"1024"`` -> 1024; anything else is left for validation to judge."""
    if isinstance(value, str) and _GROUPED_INT.fullmatch(value.strip()):
        return int(value.strip().replace(",", ""))
    return value


SampleSize = Annotated[int, BeforeValidator(_whole_number), Field(ge=1, strict=True)]


class ExtractedFields(BaseModel):
    """A paper's trial details as the model must report them."""

    model_config = ConfigDict(extra="ignore")

    paper_id: str
    population: str = Field(min_length=1)
    intervention: str = Field(min_length=1)
    outcome: str = Field(min_length=1)
    sample_size: SampleSize
    effect_direction: Literal["increase", "decrease", "no_effect"]


def _candidates(text: str) -> list[str]:
    """The text, then the inside of a code fence, then the outermost ``{...}``."""
    stripped = text.strip()
    candidates = [stripped]
    fenced = _FENCE.search(stripped)
    if fenced:
        candidates.append(fenced.group(1).strip())
    start, end = stripped.find("{"), stripped.rfind("}")
    if 0 <= start < end:
        candidates.append(stripped[start : end + 1])
    return candidates


def _load(candidate: str) -> Any:
    """JSON, else JSON without trailing commas, else a Python literal (single quotes)."""
    for attempt in (candidate, _TRAILING_COMMA.sub(r"\1", candidate)):
        try:
            return json.loads(attempt)
        except json.JSONDecodeError:
            pass
    try:
        return ast.literal_eval(candidate)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's reply, repaired as above; raises :class:`LLMInvalidOutput`."""
    for candidate in _candidates(text):
        data = _load(candidate)
        if isinstance(data, dict):
            return data
    raise LLMInvalidOutput("the reply holds no readable JSON object")


def parse_extraction(completion: Completion, paper_id: str) -> ExtractedFields:
    """The validated extraction of ``paper_id``; raises :class:`LLMInvalidOutput` otherwise."""
    if completion.finish_reason == "refusal":
        raise LLMInvalidOutput("the model refused to answer")
    if completion.finish_reason != "stop":
        raise LLMInvalidOutput(f"the reply was cut off (finish reason {completion.finish_reason})")
    try:
        fields = ExtractedFields.model_validate(parse_json_object(completion.text))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'object'}: {e['msg']}" for e in exc.errors()
        )
        raise LLMInvalidOutput(f"the JSON does not match the schema: {problems}") from None
    if fields.paper_id != paper_id:
        raise LLMInvalidOutput(f"the JSON describes {fields.paper_id}, not {paper_id}")
    return fields
