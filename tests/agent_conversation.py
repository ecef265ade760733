"""The review agent's conversation with the model (exercises/agent), as JSON on either wire format,
for the input probes (tests/input_probes.py).

The agent offers two tools, ``search_papers(query)`` and ``fetch_paper(paper_id)``. A probe sends
one step of a review: the first (the question alone: the model searches), the one after a search
whose result listed :data:`LISTED` (the model fetches them), or every step from there to the
model's answer, each call answered by :func:`result_of` as the brief's app answers a call it runs or
refuses (a well-formed fetch gets the paper, a malformed call is not run; repeats are not tracked).
Pure functions on JSON; no HTTP here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fake_llm.corpus import get_paper

QUESTION = "Does exercise improve sleep in older adults?"
LISTED = ("P0042", "P0043")  # what the opening search's result lists
PARAMS = {"search_papers": "query", "fetch_paper": "paper_id"}  # each tool's one string parameter
SEARCH_ID = "call_search_0"


@dataclass(frozen=True, slots=True)
class Call:
    """One tool call of the model: its id, the tool's name, its arguments as sent (text)."""

    call_id: str
    name: str
    arguments: str

    def parsed(self) -> Any:
        """The arguments as JSON, or None when they are not JSON."""
        try:
            return json.loads(self.arguments)
        except ValueError:
            return None


SEARCH_CALL = Call(SEARCH_ID, "search_papers", json.dumps({"query": QUESTION}))


def _schema(param: str) -> dict[str, Any]:
    return {"type": "object", "properties": {param: {"type": "string"}}, "required": [param],
            "additionalProperties": False}


def tools(wire: str) -> list[dict[str, Any]]:
    """The agent's tools in ``wire``'s format (OpenAI ``function`` tools, Anthropic ``input_schema``)."""
    if wire == "openai":
        return [{"type": "function", "function": {"name": name, "parameters": _schema(param)}}
                for name, param in PARAMS.items()]
    return [{"name": name, "input_schema": _schema(param)} for name, param in PARAMS.items()]


def malformed(call: Call) -> str | None:
    """Why the app must not run ``call`` (the brief's three ways), or None for a well-formed call."""
    if call.name not in PARAMS:
        return f"no tool named {call.name!r} was offered"
    args = call.parsed()
    if not isinstance(args, dict):
        return "the arguments are not a JSON object"
    param = PARAMS[call.name]
    if set(args) != {param} or not isinstance(args[param], str):
        return f"the arguments must be exactly {{{param!r}: <string>}}, not {call.arguments}"
    return None


def result_of(call: Call) -> tuple[str, str | None]:
    """The app's answer to ``call`` and the paper it fetched (None: nothing fetched)."""
    problem = malformed(call)
    if problem is not None:
        return f"not run: {problem}", None
    value = call.parsed()[PARAMS[call.name]]
    if call.name == "search_papers":
        return "\n".join(f"{pid}: {paper.title}" for pid in LISTED if (paper := get_paper(pid))), None
    paper = get_paper(value)
    return (f"{value}: {paper.title} ({paper.year}). {paper.abstract}" if paper
            else f"{value} does not exist"), value if paper else None


def calls_of(wire: str, body: Any) -> list[Call]:
    """The tool calls of a plain (not streamed) reply ``body``, in order."""
    if not isinstance(body, dict):
        return []
    if wire == "openai":
        message = (body.get("choices") or [{}])[0].get("message") or {}
        return [Call(c.get("id", ""), c["function"].get("name", ""), c["function"].get("arguments", ""))
                for c in message.get("tool_calls") or [] if isinstance(c.get("function"), dict)]
    return [Call(b.get("id", ""), b.get("name", ""), json.dumps(b.get("input")))
            for b in body.get("content") or [] if b.get("type") == "tool_use"]


def turn(wire: str, calls: list[Call], results: list[str]) -> list[dict[str, Any]]:
    """The messages that carry the model's ``calls`` and the app's ``results`` back to it."""
    if wire == "openai":
        asked = {"role": "assistant", "content": None, "tool_calls": [
            {"id": c.call_id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in calls]}
        return [asked, *({"role": "tool", "tool_call_id": c.call_id, "content": text}
                         for c, text in zip(calls, results, strict=True))]
    uses = [{"type": "tool_use", "id": c.call_id, "name": c.name,
             "input": args if isinstance(args := c.parsed(), dict) else {}} for c in calls]
    answers = [{"type": "tool_result", "tool_use_id": c.call_id, "content": text}
               for c, text in zip(calls, results, strict=True)]
    return [{"role": "assistant", "content": uses}, {"role": "user", "content": answers}]


def opening(wire: str, after_search: bool) -> list[dict[str, Any]]:
    """The question, and (``after_search``) the model's search with its result listing :data:`LISTED`."""
    question = [{"role": "user", "content": QUESTION}]
    if not after_search:
        return question
    return [*question, *turn(wire, [SEARCH_CALL], [result_of(SEARCH_CALL)[0]])]
