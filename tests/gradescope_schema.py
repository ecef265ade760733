"""A JSON Schema of Gradescope's ``results.json``, written from the autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/, "Output format"), and the helper
every test that reads a grading's results uses. Kept apart from ``graders/harness/report/results.py`` on
purpose: the kit's writer is checked against the specification, not against itself.

Beyond the specification the kit also requires that a test's tags do not repeat.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}

TEST = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number"},
        "max_score": {"type": "number"},
        "status": {"enum": ["passed", "failed"]},
        "name": {"type": "string"},
        "name_format": FORMAT,
        "number": {"type": "string"},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "visibility": VISIBILITY,
        "extra_data": {"type": "object"},
    },
}

LEADER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "value"],
    "properties": {"name": {"type": "string"}, "value": {"type": ["number", "string"]},
                   "order": {"enum": ["asc", "desc"]}},
}

RESULTS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "test_output_format": FORMAT,
        "test_name_format": FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": TEST},
        "leaderboard": {"type": "array", "items": LEADER},
    },
    # "score: optional, but required if not on each test case"; "tests: required if no top-level score"
    "anyOf": [{"required": ["score"]},
              {"required": ["tests"], "properties": {"tests": {"items": {"required": ["score"]}}}}],
}

VALIDATOR = jsonschema.Draft202012Validator(RESULTS_SCHEMA)


def schema_violations(document: Any) -> list[str]:
    """Every way ``document`` breaks the specification, as ``path: message`` lines."""
    return [f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
            for error in VALIDATOR.iter_errors(document)]


def assert_valid_results(path: Path) -> dict[str, Any]:
    """Read a ``results.json`` and fail the test unless it fits the specification; returns it."""
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    problems = schema_violations(document)
    assert not problems, f"{path} breaks the Gradescope specification:\n" + "\n".join(problems)
    return document
