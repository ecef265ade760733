"""The tools the review agent offers the model, and the judging of the calls it makes.

A call is untrusted input: :func:`read_call` turns one into a :class:`ValidCall` or a
:class:`Malformed` naming the problem (arguments that are not JSON, that break the tool's schema,
a tool the app did not offer). Only valid calls are ever run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from litreview.llm.types import ToolCall

SEARCH = "search_papers"
FETCH = "fetch_paper"


class SearchArgs(BaseModel):
    """``search_papers``'s arguments: exactly one string, ``query``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    query: str


class FetchArgs(BaseModel):
    """``fetch_paper``'s arguments: exactly one string, ``paper_id``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    paper_id: str


_SCHEMAS: dict[str, type[BaseModel]] = {SEARCH: SearchArgs, FETCH: FetchArgs}


def _function(name: str, description: str, parameter: str, about: str) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {
            "type": "object",
            "properties": {parameter: {"type": "string", "description": about}},
            "required": [parameter], "additionalProperties": False,
        },
    }}


TOOLS: list[dict[str, Any]] = [
    _function(SEARCH, "Search the corpus; returns the ids and titles of the nearest papers.",
              "query", "what to look for, in plain words"),
    _function(FETCH, "Read one paper of the corpus: its title, year and abstract.",
              "paper_id", "the paper's id, as the search lists it"),
]


@dataclass(frozen=True, slots=True)
class ValidCall:
    """A call the app may run: its id, tool name and checked arguments."""

    id: str
    name: str
    args: BaseModel

    @property
    def key(self) -> tuple[str, str]:
        """What makes two calls the same call: the tool and its arguments."""
        return self.name, json.dumps(self.args.model_dump(), sort_keys=True)


@dataclass(frozen=True, slots=True)
class Malformed:
    """A call the app must not run, and why."""

    id: str
    problem: str


def read_call(call: ToolCall) -> ValidCall | Malformed:
    """Judge one call of the model's."""
    schema = _SCHEMAS.get(call.name)
    if schema is None:
        offered = ", ".join(_SCHEMAS)
        return Malformed(call.id, f"there is no tool named {call.name!r}; the tools are {offered}")
    try:
        raw = json.loads(call.arguments)
    except json.JSONDecodeError as exc:
        return Malformed(call.id, f"the arguments of {call.name} are not JSON ({exc.msg})")
    try:
        return ValidCall(call.id, call.name, schema.model_validate(raw))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
                             for e in exc.errors())
        return Malformed(call.id, f"the arguments of {call.name} break its schema ({problems})")
