"""Filling a JSON schema from ground truth: structured outputs and tool-call arguments.

A property is filled by its name first (a paper id, a ground-truth field of the paper the prompt
names, the question for a query), then by its type: every other value is drawn from a random
source seeded by the property's path, so the same schema always gets the same values.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import Any

from fake_llm.corpus import PUBLIC_FIELDS, TRUTH_FIELDS, Paper

PAPER_ID_KEY = re.compile(r"^(paper_?id|paperid|paper|id|doc(ument)?_?id|paper_?ids|ids)$", re.IGNORECASE)
QUERY_KEYS = frozenset({"query", "q", "question", "search", "search_query", "keywords", "topic",
                        "terms", "text", "input", "prompt"})
_WORDS = "alpha bravo delta echo gamma kappa lambda omega sigma theta".split()
_MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Hints:
    """What a filled value may come from: the paper the prompt names, its ids, the question."""

    paper: Paper | None = None
    paper_ids: tuple[str, ...] = ()
    question: str = ""
    text: str = ""  # the model's plain answer, for a free-text field such as "answer"


def resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    """The schema with a top-level ``$ref`` (to ``#/$defs/...`` or ``#/definitions/...``) followed."""
    for _ in range(_MAX_DEPTH):
        if not isinstance(schema, dict) or "$ref" not in schema:
            break
        target: Any = root
        for part in str(schema["$ref"]).removeprefix("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        schema = target
    return schema if isinstance(schema, dict) else {}


def _types(schema: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The schema to fill (the first non-null choice of a union) and its JSON type."""
    for key in ("anyOf", "oneOf", "allOf"):
        options = [resolve(option, root) for option in schema.get(key) or ()]
        options = [option for option in options if option.get("type") != "null"]
        if options:
            return _types({**schema, **options[0], key: None}, root)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    return schema, str(kind)


def _rng(path: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(path.encode()).digest()[:8], "big"))


def _by_name(name: str, kind: str, schema: dict[str, Any], hints: Hints) -> tuple[bool, Any]:
    lowered = name.lower()
    paper = hints.paper
    enum = schema.get("enum")
    if PAPER_ID_KEY.match(lowered) and kind in ("string", "array"):
        ids = hints.paper_ids or ((paper.paper_id,) if paper else ())
        if ids:
            return True, list(ids) if kind == "array" else ids[0]
    if paper is not None and lowered in (*TRUTH_FIELDS, *PUBLIC_FIELDS):
        value = getattr(paper, lowered)
        value = list(value) if isinstance(value, tuple) else value
        if enum and value not in enum:
            return False, None
        if kind == "string" and not isinstance(value, str):
            value = ", ".join(value) if isinstance(value, list) else str(value)
        return True, value
    if paper is not None and lowered in ("summary", "abstract_summary") and kind == "string":
        return True, paper.summary()
    if lowered in QUERY_KEYS and kind == "string" and hints.question:
        return True, hints.question
    if lowered in ("answer", "response", "content", "result", "reply") and kind == "string" and hints.text:
        return True, hints.text
    return False, None


def fill(schema: Any, hints: Hints, root: dict[str, Any] | None = None, path: str = "$",
         depth: int = 0) -> Any:
    """A value that follows ``schema``, filled from ``hints`` where a property's name says how."""
    root = root if root is not None else (schema if isinstance(schema, dict) else {})
    schema, kind = _types(resolve(schema, root), root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if kind == "object":
        if depth >= _MAX_DEPTH:
            return {}
        out = {}
        for name, sub in (schema.get("properties") or {}).items():
            sub_schema, sub_kind = _types(resolve(sub, root), root)
            known, value = _by_name(name, sub_kind, sub_schema, hints)
            out[name] = value if known else fill(sub, hints, root, f"{path}.{name}", depth + 1)
        return out
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [fill(schema.get("items", {}), hints, root, f"{path}[{i}]", depth + 1) for i in range(count)]
    return _scalar(kind, schema, _rng(path))


def _scalar(kind: str, schema: dict[str, Any], rng: random.Random) -> Any:
    if kind == "integer":
        low = int(schema.get("minimum", 1))
        return rng.randint(low, max(low, int(schema.get("maximum", low + 99))))
    if kind == "number":
        floor = float(schema.get("minimum", 0.0))
        return round(rng.uniform(floor, float(schema.get("maximum", floor + 1.0))), 3)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    fmt = schema.get("format")
    if fmt == "date":
        return "2024-01-01"
    if fmt == "date-time":
        return "2024-01-01T00:00:00Z"
    return " ".join(rng.choice(_WORDS) for _ in range(2))
