"""What the checks share: scripting the fake LLM (and saying what was scripted), firing requests,
reading the ledger. Judging an answer against the ground truth is :mod:`graders.judge`'s, the
one judge the soak uses too; its functions are re-exported here for the checks.

Every check scripts its faults with :func:`script`, which ends the rules with a catch-all quiet
rule (a fixed small latency and no fault). A scripted rule decides a request's whole fate, so the
level's random faults never reach a check's requests: a check's verdict depends on the fault it
injects and on the app, not on the weather. (The weather is the soak check's business.)

The ledger is the judge of attempts and timings: one row per HTTP request the app made (SDK
retries included), with arrival and finish times on the fake LLM's own monotonic clock.

The app's answers are untrusted data (see :mod:`graders.harness.inner.client`): the helpers here read
them with ``isinstance`` guards and ``.get``, never assume a type, so whatever the app sends fails
the check with a reason and never raises from the grader's own code. The contract's numbers (the
breaker's threshold, the transient statuses) are read from the exercises (:mod:`graders.clauses`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from graders.checks.describe import describe_rules
from graders.clauses import load_contracts
from graders.harness.errors import AppFailure
from graders.harness.inner.client import AppResponse, SseStream
from graders.judge import (
    CLIENT_MARGIN_S,
    HONEST_STATUS,
    NO_SUCH_MARKER,
    answer_problem,
    error_code,
    extraction_problem,
    marker_numbers,
    same_text,
    stream_ending,
    stream_text,
    summary_problem,
)

__all__ = [  # the judge's, for the checks: one judge of answers (graders/judge.py)
    "CLIENT_MARGIN_S", "HONEST_STATUS", "NO_SUCH_MARKER", "answer_problem", "extraction_problem",
    "marker_numbers", "same_text", "stream_ending", "stream_text", "summary_problem",
]

T = TypeVar("T")
R = TypeVar("R", AppResponse, SseStream)

QUIET_DELAY_MS = 10
# Server-clock slack for "the last attempt started before the deadline".
SERVER_MARGIN_S = 0.5
# The slack allowed on a lower bound measured on the server clock is the briefs' own number:
# ``contract["lower_bound_slack_s"]`` (the retries and fallback briefs state it).

_FALLBACK = load_contracts()["fallback"]


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


def script(fake: Any, rules: Sequence[dict[str, Any]] = (), *, quiet: bool = True,
           evidence: Any = None) -> None:
    """Replace the fake's scripted rules with ``rules`` (then the quiet catch-all). With
    ``evidence``, record the rules in plain words as what the check injected
    (:func:`graders.checks.describe.describe_rules`): the evidence follows from the rules."""
    fake.admin.clear_script()
    fake.admin.script([*rules, quiet_rule()] if quiet else list(rules))
    if evidence is not None:
        said = describe_rules(rules) if rules else "no fault"
        if quiet:
            said += f"; every other call: no fault, an answer after {QUIET_DELAY_MS} ms"
        evidence.injected(said)


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


BREAKER_THRESHOLD: int = _FALLBACK["breaker_failure_threshold"]
_TRANSIENT = frozenset(_FALLBACK["transient_statuses"])


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


# --- small helpers -------------------------------------------------------------------------------

def item_code(item: Any) -> str | None:
    """A batch item's ``error.code``, or None."""
    return error_code(item)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) with linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# How many waits before first retries must be shorter than the backoff base (see jitter_problem).
SHORT_WAITS = 2


def jitter_problem(waits_s: Sequence[float], base_s: float) -> str | None:
    """Why waits before first retries look like a fixed delay rather than a jittered one (None:
    they are spread out). ``base_s`` is the brief's backoff base: full jitter draws a first retry's
    wait from 0 to it.

    A wait is measured on the fake's clock, from the failed call's end to the retry's arrival, so
    it is never shorter than the app's own wait: a loaded machine only lengthens waits. Two signs
    of jitter, and a fixed delay lacks at least one however loaded the machine is:

    - *waits shorter than the base*: at least two. Full jitter makes most waits shorter than the
      base (half of them, with 50 ms of noise on every wait); a backoff without jitter waits the
      base itself, so none of its waits can be shorter, however many a loaded machine lengthens.
    - *spread*: the median at least max(12 ms, 0.15 x median) above the shortest. This fails a
      fixed delay shorter than the base (a retry at once, a fixed 50 ms) while fewer than half of
      its waits are lengthened.

    Full jitter over 24 waits fails the first about once in 300,000 gradings with 50 ms of
    noise on every wait, and clears the second whatever the noise.
    """
    shortest, median = min(waits_s), percentile(waits_s, 0.5)
    short = sum(1 for wait in waits_s if wait < base_s)
    if short < SHORT_WAITS:
        return (f"only {short} of {len(waits_s)} waits before retrying were shorter than the "
                f"{base_s * 1000:.0f} ms backoff (shortest {shortest * 1000:.0f} ms, median "
                f"{median * 1000:.0f} ms); full jitter makes most of them shorter")
    needed = max(0.012, 0.15 * median)
    if median - shortest >= needed:
        return None
    return (f"the waits before retrying are nearly all the same (shortest {shortest * 1000:.0f} ms, "
            f"median {median * 1000:.0f} ms; jitter would put the median at least "
            f"{needed * 1000:.0f} ms above the shortest)")


def slot_reuse(rows: Sequence[Mapping[str, Any]], cap: int) -> str | None:
    """How a batch's calls show freed slots used while a call still ran (None: they never do,
    as in fixed groups of ``cap``).

    In fixed groups the next group starts only once every call of the last has ended, so while
    one call runs, at most the ``cap - 1`` others of its group can start, however late a loaded
    machine starts each. With a window that starts the next paper as a call ends, the fast calls'
    slots turn over while a slow call runs, and at least ``cap`` calls start within its flight.
    Only the order of the calls on the fake's clock counts.
    """
    started, running = _busiest(rows)
    if running is None or started < cap:
        return None
    return f"{started} calls started while {_paper(running)} ran (fixed groups of {cap}: at most {cap - 1})"


def most_started_during_a_call(rows: Sequence[Mapping[str, Any]]) -> int:
    """The most calls that started while one call ran (see :func:`slot_reuse`)."""
    return _busiest(rows)[0]


def _busiest(rows: Sequence[Mapping[str, Any]]) -> tuple[int, Mapping[str, Any] | None]:
    """The ended call during whose flight the most others started, and how many."""
    best: tuple[int, Mapping[str, Any] | None] = (0, None)
    for running in rows:
        if running.get("finish_s") is None:
            continue
        began, ended = float(running["arrival_s"]), float(running["finish_s"])
        started = sum(1 for other in rows if began < float(other["arrival_s"]) < ended)
        if best[1] is None or started > best[0]:
            best = (started, running)
    return best


def _paper(row: Mapping[str, Any]) -> str:
    ids = row.get("paper_ids") or ()
    return f"the call for {ids[0]}" if ids else f"call #{row.get('id')}"


def paper_range(first: int, count: int) -> list[str]:
    """``count`` consecutive paper ids from ``P{first:04d}``."""
    return [f"P{n:04d}" for n in range(first, first + count)]
