"""What the checks share: scripting the fake LLM, firing requests, reading the ledger, judging data.

Every check scripts its faults with :func:`script`, which ends the rules with a catch-all quiet
rule (a fixed small latency and no fault). A scripted rule decides a request's whole fate, so the
level's random faults never reach a check's requests: a check's verdict depends on the fault it
injects and on the app, not on the weather. (The weather is the soak check's business.)

The ledger is the judge of attempts and timings: one row per HTTP request the app made (SDK
retries included), with arrival and finish times on the fake LLM's own monotonic clock.

The app's answers are untrusted data (see :mod:`graders.harness.inner.client`): the helpers here read
them with ``isinstance`` guards and ``.get``, never assume a type, and turn text into numbers only
within bounds (:func:`marker_numbers`), so whatever the app sends fails the check with a reason
and never raises from the grader's own code.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fake_llm.corpus import get_paper
from fake_llm.model import cited_answer
from graders.harness.errors import AppFailure
from graders.harness.inner.client import AppResponse, SseStream

T = TypeVar("T")
R = TypeVar("R", AppResponse, SseStream)

QUIET_DELAY_MS = 10
# Client-side slack on top of a deadline: the app's own deadline is judged on the server clock,
# this only says when a grader stops waiting and calls it a hang.
CLIENT_MARGIN_S = 2.5
# Server-clock slack for "the last attempt started before the deadline".
SERVER_MARGIN_S = 0.5
# The slack allowed on a lower bound measured on the server clock is the briefs' own number:
# ``contract["lower_bound_slack_s"]`` (the retries and fallback briefs state it).

HONEST_STATUS = {
    "llm_timeout": 504, "llm_unavailable": 503, "llm_invalid_output": 502, "llm_rejected": 502,
    "llm_incomplete": 502, "agent_stuck": 502, "rate_limited": 429, "budget_exceeded": 402, "not_found": 404,
    "bad_request": 400,
}
_MARKER = re.compile(r"\[(\d+)\]")
NO_SUCH_MARKER = 10**9  # what a marker too long to be a source number reads as


# --- scripting the fake LLM ----------------------------------------------------------------------

def fault(kind: str, **params: Any) -> dict[str, Any]:
    """One fault spec, e.g. ``fault("http_error", status=503)``."""
    return {"kind": kind, **params}


def rule(faults: dict[str, Any] | list[dict[str, Any]], *, times: int | None = 1,
         **match: Any) -> dict[str, Any]:
    """A scripted rule: the fault(s), how many requests it applies to (None: until cleared), and
    what it matches (provider, model, task, paper_id, stream)."""
    body: dict[str, Any] = {"match": match, "times": times}
    body["faults" if isinstance(faults, list) else "fault"] = faults
    return body


def quiet_rule(delay_ms: float = QUIET_DELAY_MS) -> dict[str, Any]:
    """Every request the earlier rules did not take: a fixed small latency, no fault."""
    return rule(fault("latency", delay_ms=delay_ms), times=None)


def script(fake: Any, rules: Sequence[dict[str, Any]] = (), *, quiet: bool = True) -> None:
    """Replace the fake's scripted rules with ``rules`` (then the quiet catch-all)."""
    fake.admin.clear_script()
    fake.admin.script([*rules, quiet_rule()] if quiet else list(rules))


def fake_now(fake: Any) -> float:
    """The fake LLM's clock (the ledger's time base), in seconds."""
    return float(fake.admin.ledger_snapshot(since_id=2**62)["now_s"])


def wait_fake_until(fake: Any, moment_s: float, limit_s: float = 10.0) -> None:
    """Sleep until the fake's clock reads ``moment_s`` (at most ``limit_s`` of real time)."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        remaining = moment_s - fake_now(fake)
        if remaining <= 0:
            return
        time.sleep(min(remaining, 0.1))


def last_id(fake: Any) -> int:
    """The id of the newest ledger row (0 if none)."""
    rows = fake.admin.ledger()
    return int(rows[-1]["id"]) if rows else 0


# --- the ledger ----------------------------------------------------------------------------------

def calls(rows: Iterable[dict[str, Any]], paper_id: str | None = None, provider: str | None = None,
          task: str | None = None, stream: bool | None = None) -> list[dict[str, Any]]:
    """The rows about ``paper_id`` (and provider, task, stream when given), in arrival order."""
    return sorted(
        (row for row in rows
         if (paper_id is None or paper_id in (row.get("paper_ids") or []))
         and (provider is None or row.get("provider") == provider)
         and (task is None or row.get("task") == task)
         and (stream is None or bool(row.get("stream")) == stream)),
        key=lambda row: float(row["arrival_s"]))


def attempts_text(rows: Sequence[dict[str, Any]]) -> str:
    """A one-line picture of some calls: provider, fault, status, start time relative to the first."""
    if not rows:
        return "no calls"
    start = float(rows[0]["arrival_s"])
    parts = []
    for row in rows:
        status = row.get("status")
        outcome = "no status" if status is None else str(status)
        if row.get("client_gone"):
            outcome += ", closed by the app"
        parts.append(f"{row['provider']} {row.get('fault') or 'none'} -> {outcome} "
                     f"at +{float(row['arrival_s']) - start:.2f}s")
    return f"{len(rows)} call(s): " + "; ".join(parts)


def ledger_usage(rows: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """(input, output) tokens the fake LLM told the app about, over ``rows``."""
    tokens_in = tokens_out = 0
    for row in rows:
        if row.get("usage_reported"):
            tokens_in += int(row.get("tokens_in") or 0)
            tokens_out += int(row.get("tokens_out") or 0)
    return tokens_in, tokens_out


def usage_problem(usage: Any, rows: Sequence[dict[str, Any]]) -> str | None:
    """Why a reported ``usage`` differs from the ledger's, or None when it matches."""
    tokens_in, tokens_out = ledger_usage(rows)
    if not isinstance(usage, dict):
        return f"no usage object (the ledger shows {tokens_in} in + {tokens_out} out)"
    got = (usage.get("input_tokens"), usage.get("output_tokens"), usage.get("total_tokens"))
    want = (tokens_in, tokens_out, tokens_in + tokens_out)
    if got != want:
        return (f"usage says {got[0]} in + {got[1]} out = {got[2]} total, but the provider reported "
                f"{want[0]} + {want[1]} = {want[2]} over {len(rows)} call(s)")
    return None


def closed_in_time(fake: Any, paper_id: str | None, limit_s: float = 1.5) -> list[dict[str, Any]]:
    """Wait (up to ``limit_s``) until no call about ``paper_id`` (None: no call at all) is open;
    the rows still open."""
    started = time.monotonic()
    while True:
        open_rows = [row for row in calls(fake.admin.ledger(), paper_id) if row.get("finish_s") is None]
        if not open_rows or time.monotonic() - started > limit_s:
            return open_rows
        time.sleep(0.05)


BREAKER_THRESHOLD = 5  # the fallback exercise's breaker_failure_threshold
_TRANSIENT = {408, 409, 429, 500, 502, 503, 504, 529}


def failed(row: dict[str, Any]) -> bool:
    """Whether a call ended in a transient failure (no status at all, or a transient status)."""
    return row.get("status") is None or int(row["status"]) in _TRANSIENT


def breaker_tripped(rows: Sequence[dict[str, Any]], provider: str, by_s: float,
                    threshold: int = BREAKER_THRESHOLD) -> bool:
    """Whether ``threshold`` calls to ``provider`` in a row had failed by ``by_s`` (server clock):
    a circuit breaker may then rightly refuse further calls (and answer llm_unavailable)."""
    ended = sorted((row for row in rows if row.get("provider") == provider
                    and row.get("finish_s") is not None and float(row["finish_s"]) <= by_s),
                   key=lambda row: float(row["finish_s"]))
    run = 0
    for row in ended:
        run = run + 1 if failed(row) else 0
    return run >= threshold


# --- firing requests -----------------------------------------------------------------------------

def run_all(jobs: Sequence[Callable[[], T]]) -> list[T | AppFailure]:
    """Run every job at once (one thread each); an AppFailure takes its job's place."""

    def one(job: Callable[[], T]) -> T | AppFailure:
        try:
            return job()
        except AppFailure as failure:
            return failure

    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(one, jobs))


def answered(result: T | AppFailure) -> T:
    """The response, or the AppFailure re-raised (a fail: the app did not answer)."""
    if isinstance(result, AppFailure):
        raise result
    return result


def status_text(response: AppResponse | SseStream) -> str:
    """``200``, ``504 llm_timeout``, ``500 (no error code)``: the status and the error code; with
    why the body could not be read, when it is not readable JSON (for an SSE stream: when the
    answer was not a stream)."""
    unreadable = response.unreadable if response.json is None else None
    if response.code:
        return f"{response.status} {response.code}"
    if response.status < 400:
        return f"{response.status} (unreadable body: {unreadable})" if unreadable else str(response.status)
    return f"{response.status} (no error code: {unreadable})" if unreadable \
        else f"{response.status} (no error code)"


def shown(response: AppResponse | SseStream) -> str:
    """``200``, ``504 llm_timeout`` ... with the client-side time."""
    return f"{status_text(response)} in {response.elapsed_s:.2f} s"


def answer_and_calls(evidence: Any, label: str, paper_id: str, result: R | AppFailure,
                     describe: Callable[[R], str] = shown, provider: str | None = None,
                     ) -> tuple[R, list[dict[str, Any]]]:
    """A request's answer (an AppFailure re-raised: a fail) and the ledger's calls about
    ``paper_id`` (to ``provider`` when given), observed as ``label: <describe(answer)>; <the calls>``."""
    response = answered(result)
    rows = calls(evidence.ledger(), paper_id, provider=provider)
    evidence.observed(f"{label}: {describe(response)}; {attempts_text(rows)}")
    return response, rows


def honest_error(response: AppResponse, code: str) -> str | None:
    """Why ``response`` is not the error ``code`` with its status, or None when it is."""
    status = HONEST_STATUS[code]
    if response.status == status and response.code == code:
        return None
    return f"answered {status_text(response)} instead of {status} {code}"


# --- judging data against the ground truth -------------------------------------------------------

def same_text(got: Any, want: str) -> bool:
    """Equal up to whitespace."""
    return isinstance(got, str) and got.split() == want.split()


def summary_problem(body: Any, paper_id: str) -> str | None:
    """Why ``body`` is not a whole, correct summary of ``paper_id``, or None."""
    paper = get_paper(paper_id)
    assert paper is not None, f"grader bug: unknown paper {paper_id}"
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if body.get("paper_id") != paper_id:
        return f"paper_id is {body.get('paper_id')!r}, not {paper_id}"
    text = body.get("summary")
    if not isinstance(text, str) or not text.strip():
        return "the summary is empty"
    if not same_text(text, paper.summary()):
        return f"the summary is not the model's summary (cut short or altered: {len(text)} of " \
               f"{len(paper.summary())} characters)"
    return None


def extraction_problem(body: Any, paper_id: str) -> str | None:
    """Why ``body`` is not the correct extraction of ``paper_id``, or None."""
    paper = get_paper(paper_id)
    assert paper is not None, f"grader bug: unknown paper {paper_id}"
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if body.get("paper_id") != paper_id:
        return f"paper_id is {body.get('paper_id')!r}, not {paper_id}"
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


def item_code(item: Any) -> str | None:
    """A batch item's ``error.code``, or None."""
    error = item.get("error") if isinstance(item, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


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


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) with linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def paper_range(first: int, count: int) -> list[str]:
    """``count`` consecutive paper ids from ``P{first:04d}``."""
    return [f"P{n:04d}" for n in range(first, first + count)]
