"""The one judge of answers: is what the app sent true to the ground truth, or an honest error?

The checks (through :mod:`graders.checks.scenario`, which re-exports these) and the soak
(:mod:`graders.soak`) judge with the same functions, so a summary, an extraction, a cited answer,
an error or the end of a stream is right or wrong by one rule wherever the kit looks at it.

- The ground truth is the fake LLM's corpus (:mod:`fake_llm.corpus`): the model's answers are
  fixed by it, so a whole answer is known exactly.
- The honest statuses are the briefs' own: every ``<code>_status`` of the exercises' ``[contract]``
  tables (read by :mod:`graders.clauses`), which the briefs and the candidate's README state.

Answers are untrusted data: everything here reads them with ``isinstance`` guards, turns text
into numbers only within bounds (:func:`marker_numbers`), and never raises on what the app sent.
A ``*_problem`` function says in one plain sentence what is wrong, or returns None.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from fake_llm.corpus import Paper, get_paper
from fake_llm.model import cited_answer
from graders.clauses import load_contracts

# How late an answer may come, beyond the deadline the brief states, before the grader stops
# waiting and calls it a hang: the app's own deadline is judged on the server's clock; this is
# only slack for the grader's busy machine.
CLIENT_MARGIN_S = 2.5
# The one error code with no status of its own: a stream that was cut short ends with an error
# event carrying it (the streaming brief), never a response status; judged like its kin, 502.
STREAM_ONLY_CODES = {"llm_incomplete": 502}
# Codes a failure of the model may never be: the request itself was wrong, or the paper unknown.
REQUEST_CODES = ("not_found", "bad_request")
NO_SUCH_MARKER = 10**9  # what a marker too long to be a source number reads as
_MARKER = re.compile(r"\[(\d+)\]")


def honest_statuses(contracts: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """``{code: status}`` from every ``<code>_status`` of the contracts (and the stream-only code);
    ValueError when two exercises give one code two statuses."""
    table: dict[str, int] = dict(STREAM_ONLY_CODES)
    for slug, contract in sorted(contracts.items()):
        for key, value in contract.items():
            if not key.endswith("_status"):
                continue
            code = key.removesuffix("_status")
            if table.setdefault(code, value) != value:
                raise ValueError(f"exercises/{slug}: contract.{key} = {value}, but another exercise "
                                 f"says {table[code]}")
    return table


HONEST_STATUS: Mapping[str, int] = honest_statuses(load_contracts())


def error_code(body: Any) -> str | None:
    """``body["error"]["code"]`` when it is a string (an error response, a batch item), else None."""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def is_honest(status: int | None, code: str | None) -> bool:
    """Whether ``status`` is the status the briefs give error ``code``."""
    return code is not None and HONEST_STATUS.get(code) == status


# --- data against the ground truth ---------------------------------------------------------------

def same_text(got: Any, want: str) -> bool:
    """Equal up to whitespace."""
    return isinstance(got, str) and got.split() == want.split()


def _about(body: Any, paper_id: str) -> tuple[Paper, None] | tuple[None, str]:
    """The paper ``body`` must be about, or why it is not an object about it."""
    paper = get_paper(paper_id)
    assert paper is not None, f"grader bug: unknown paper {paper_id}"
    if not isinstance(body, dict):
        return None, "the body is not a JSON object"
    if body.get("paper_id") != paper_id:
        return None, f"paper_id is {body.get('paper_id')!r}, not {paper_id}"
    return paper, None


def summary_problem(body: Any, paper_id: str) -> str | None:
    """Why ``body`` is not a whole, correct summary of ``paper_id``, or None."""
    paper, problem = _about(body, paper_id)
    if paper is None:
        return problem
    text = body.get("summary")
    if not isinstance(text, str) or not text.strip():
        return "the summary is empty"
    if not same_text(text, paper.summary()):
        return f"the summary is not the model's summary (cut short or altered: {len(text)} of " \
               f"{len(paper.summary())} characters)"
    return None


def extraction_problem(body: Any, paper_id: str) -> str | None:
    """Why ``body`` is not the correct extraction of ``paper_id``, or None."""
    paper, problem = _about(body, paper_id)
    if paper is None:
        return problem
    wrong = []
    for name, want in paper.truth().items():
        got = body.get(name)
        if got != want or type(got) is not type(want):
            wrong.append(f"{name}={got!r} (truth {want!r})")
    return ("wrong values: " + ", ".join(wrong)) if wrong else None


def answer_problem(body: Any, paper_ids: Sequence[str]) -> str | None:
    """Why ``body`` is not a correctly cited answer over ``paper_ids``, or None.

    The fake model cites every source once, in order, so the right citations are exactly
    ``[1] -> paper_ids[0] ... [k] -> paper_ids[k-1]``; the answer keeps the model's cited sentences.
    """
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    text, citations = body.get("answer"), body.get("citations")
    if not isinstance(text, str) or not text.strip():
        return "the answer is empty"
    if not isinstance(citations, list):
        return "no citations list"
    k = len(paper_ids)
    invalid = sorted({m for m in marker_numbers(text) if not 1 <= m <= k})
    if invalid:
        shown_markers = ", ".join("[a number too long to be a source]" if m == NO_SUCH_MARKER else f"[{m}]"
                                  for m in invalid)
        return f"the answer text still cites {shown_markers}, but only {k} source(s) were given"
    want = [{"marker": n, "paper_id": pid} for n, pid in enumerate(paper_ids, start=1)]
    got = [{"marker": c.get("marker"), "paper_id": c.get("paper_id")} if isinstance(c, dict) else c
           for c in citations]
    if got != want:
        return f"citations are {_citations_text(got)}; they should be {_citations_text(want)}"
    clean = cited_answer(tuple(enumerate(paper_ids, start=1)))
    if text.split()[: len(clean.split())] != clean.split():
        return "the answer's cited sentences are not the model's (changed, dropped or renumbered)"
    return None


def marker_numbers(text: str) -> list[int]:
    """The numbers of the citation markers ``[n]`` in ``text``, in order; a marker too long to be
    a source number reads as NO_SUCH_MARKER (Python refuses to read a number of thousands of
    digits, and the app chooses the text)."""
    return [int(m) if len(m) <= 9 else NO_SUCH_MARKER for m in _MARKER.findall(text)]


def _citations_text(citations: Sequence[Any]) -> str:
    parts = []
    for c in citations:
        parts.append(f"[{c.get('marker')}]={c.get('paper_id')}" if isinstance(c, dict) else repr(c))
    return "[" + ", ".join(parts) + "]"


# --- streams -------------------------------------------------------------------------------------

def stream_text(events: Sequence[tuple[str, Any]]) -> str:
    """The text of a stream's ``delta`` events, joined."""
    return "".join(str(data.get("text", "")) for event, data in events
                   if event == "delta" and isinstance(data, dict))


def stream_ending(events: Sequence[tuple[str, Any]]) -> tuple[str, str | None] | str:
    """``("done", None)`` or ``("error", code)`` for a stream that ends with exactly one of them
    and nothing after; otherwise a description of what is wrong with its ending."""
    kinds = [event for event, _ in events]
    terminal = [i for i, kind in enumerate(kinds) if kind in ("done", "error")]
    if not terminal:
        return f"the stream ended without a done or error event ({kinds.count('delta')} deltas)"
    if len(terminal) > 1 or terminal[0] != len(kinds) - 1:
        return f"the stream did not end with exactly one done or error event: {kinds}"
    event, data = events[-1]
    if event == "done":
        return ("done", None)
    code = data.get("code") if isinstance(data, dict) else None
    return ("error", code if isinstance(code, str) else None)
