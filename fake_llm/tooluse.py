"""When the simulated model calls a tool, which one, and with what arguments.

The decision is a pure function of the conversation (no randomness), so the server knows before
the fate is drawn whether the reply will be tool calls:

- ``tool_choice`` none, or no tools: no call;
- a tool the request forces: always that tool, its arguments filled from its schema;
- no call yet: a fetch-like tool (a parameter for a paper id) with the paper ids the prompt names,
  else a search-like tool (a ``query``/``text`` string parameter) with the question;
- after a search-like tool's result that lists paper ids: the fetch-like tool for the top
  :data:`TOP_PAPERS` of them not fetched yet;
- otherwise the model answers in text; with ``tool_choice`` required it calls a tool anyway
  (the one whose name says it takes the final result, or the first).

Calls are parallel (one per paper) when the request allows parallel calls, else one at a time.
"""

from __future__ import annotations

import hashlib
import json
import re

from fake_llm.conversation import ToolCall, ToolSpec, Turn
from fake_llm.corpus import get_paper
from fake_llm.model import read_prompt
from fake_llm.structured import PAPER_ID_KEY, QUERY_KEYS, Hints, fill, resolve

TOP_PAPERS = 2
_PAPER_ID = re.compile(r"\bP\d{4}\b")
_FINAL = re.compile(r"final|result|answer|output|respond|extract", re.IGNORECASE)


def _properties(tool: ToolSpec) -> dict[str, dict[str, object]]:
    schema = resolve(tool.parameters, tool.parameters)
    props = schema.get("properties")
    return props if isinstance(props, dict) else {}


def paper_param(tool: ToolSpec) -> str | None:
    """The parameter of a fetch-like tool that takes a paper id."""
    return next((name for name in _properties(tool) if PAPER_ID_KEY.match(name)), None)


def query_param(tool: ToolSpec) -> str | None:
    """The string parameter of a search-like tool that takes the question."""
    return next((name for name, sub in _properties(tool).items()
                 if name.lower() in QUERY_KEYS and sub.get("type", "string") == "string"), None)


def _call_id(turn: Turn, index: int, name: str, arguments: str) -> str:
    key = f"{len(turn.calls)}|{index}|{name}|{arguments}".encode()
    return hashlib.sha256(key).hexdigest()[:24]


def _calls(turn: Turn, specs: list[tuple[ToolSpec, dict[str, object]]]) -> tuple[ToolCall, ...]:
    if not turn.parallel_tool_calls:
        specs = specs[:1]
    out = []
    for index, (tool, arguments) in enumerate(specs):
        text = json.dumps(arguments)
        out.append(ToolCall(_call_id(turn, index, tool.name, text), tool.name, text))
    return tuple(out)


def filled_arguments(tool: ToolSpec, turn: Turn, paper_id: str | None = None) -> dict[str, object]:
    """The arguments for ``tool``, filled from its schema and the conversation's ground truth."""
    prompt = read_prompt(turn.instructions)
    ids = (paper_id,) if paper_id else prompt.paper_ids
    paper = get_paper(ids[0]) if ids else None
    hints = Hints(paper, ids[:1] if paper_id else ids, turn.question)
    value = fill(tool.parameters, hints)
    return value if isinstance(value, dict) else {}


def _fetch(tool: ToolSpec, turn: Turn, paper_ids: list[str]) -> tuple[ToolCall, ...]:
    return _calls(turn, [(tool, filled_arguments(tool, turn, pid)) for pid in paper_ids])


def fetched_ids(turn: Turn) -> list[str]:
    """The paper ids the model has fetched so far, in order."""
    ids: list[str] = []
    for call in turn.calls:
        tool = turn.tool(call.name)
        param = paper_param(tool) if tool is not None else None
        if param is None:
            continue
        try:
            value = json.loads(call.arguments).get(param)
        except (ValueError, AttributeError):
            continue
        ids += [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
    return list(dict.fromkeys(ids))


def listed_ids(turn: Turn) -> list[str]:
    """Paper ids the results of search-like calls list, in order."""
    searches = {call.call_id for call in turn.calls
                if (tool := turn.tool(call.name)) is not None and paper_param(tool) is None}
    ids: list[str] = []
    for result in turn.results:
        if result.call_id in searches:
            ids += _PAPER_ID.findall(result.content)
    return list(dict.fromkeys(ids))


def _next_step(turn: Turn) -> tuple[ToolCall, ...]:
    fetch = next((t for t in turn.tools if paper_param(t) is not None), None)
    search = next((t for t in turn.tools if query_param(t) is not None and paper_param(t) is None), None)
    if not turn.calls:
        named = list(read_prompt(turn.instructions).paper_ids)
        if fetch is not None and named:
            return _fetch(fetch, turn, named)
        if search is not None and turn.question:
            return _calls(turn, [(search, filled_arguments(search, turn))])
        return ()
    if fetch is not None:
        done = fetched_ids(turn)
        todo = [pid for pid in listed_ids(turn)[:TOP_PAPERS] if pid not in done]
        if todo:
            return _fetch(fetch, turn, todo)
    return ()


def plan_calls(turn: Turn) -> tuple[ToolCall, ...]:
    """The tool calls the model makes at this turn (empty: it answers in text)."""
    if not turn.tools or turn.tool_choice == "none":
        return ()
    forced = turn.forced_tool
    if forced is not None:
        tool = turn.tool(forced)
        return _calls(turn, [(tool, filled_arguments(tool, turn))]) if tool is not None else ()
    calls = _next_step(turn)
    if calls or turn.tool_choice != "required":
        return calls
    tool = next((t for t in turn.tools if _FINAL.search(t.name)), turn.tools[0])
    return _calls(turn, [(tool, filled_arguments(tool, turn))])
