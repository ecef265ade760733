"""Deadlines: /summaries, /extractions and /answers answer within 4.0 s of arrival, whatever the
model does, with 504 llm_timeout when the time is spent, and close their calls when they give up."""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from graders.checks.plugin import check
from graders.checks.scenario import (
    CLIENT_MARGIN_S,
    SERVER_MARGIN_S,
    answer_and_calls,
    attempts_text,
    breaker_tripped,
    calls,
    closed_in_time,
    extraction_problem,
    fault,
    honest_error,
    rule,
    run_all,
    script,
    status_text,
    summary_problem,
)

SUMMARY, EXTRACT, ANSWER_SOURCES = "P0011", "P0012", ["P0013", "P0014"]


@check(exercise="deadlines", tag="timeouts", points=2, time_limit_s=20,
       clauses=("deadlines.slow-is-not-failure", "deadlines.healthy-unchanged", "deadlines.within-deadline"))
def test_slow_model_still_answered_within_the_deadline(app, fake, evidence, contract):
    """A latency spike on the first call (2.5 s, about 10x a slow median), or a model that takes
    1.2 s on every call, still gets the right answer, within the deadline: no premature give-up."""
    deadline_s = contract["deadline_s"]
    steady = "P0015"
    spike = fault("latency", delay_ms=round(contract["latency_spike_s"] * 1000))
    slow = fault("latency", delay_ms=round(contract["slow_model_s"] * 1000))
    script(fake, [rule(spike, times=1, paper_id=SUMMARY), rule(spike, times=1, paper_id=EXTRACT),
                  rule(spike, times=1, paper_id=ANSWER_SOURCES[0]),
                  rule(slow, times=None, paper_id=steady)], evidence=evidence)
    evidence.injected(f"a summary of {SUMMARY}, an extraction of {EXTRACT}, an answer over "
                      f"{ANSWER_SOURCES} and an extraction of {steady}")
    limit_s = deadline_s + CLIENT_MARGIN_S
    jobs: dict[str, tuple[str, dict[str, Any]]] = {
        SUMMARY: ("/summaries", {"paper_id": SUMMARY}),
        EXTRACT: ("/extractions", {"paper_id": EXTRACT}),
        ANSWER_SOURCES[0]: ("/answers", {"question": "What did these trials find?",
                                         "paper_ids": ANSWER_SOURCES}),
        steady: ("/extractions", {"paper_id": steady}),
    }
    results = run_all([lambda p=path, b=body: app.post(p, b, timeout_s=limit_s)
                       for path, body in jobs.values()])
    for (paper_id, (path, _)), result in zip(jobs.items(), results, strict=True):
        response, _ = answer_and_calls(evidence, f"POST {path} ({paper_id})", paper_id, result)
        assert response.status == 200, (
            f"POST {path} answered {status_text(response)} although the model "
            "answered within the deadline")
        assert response.elapsed_s <= limit_s, f"POST {path} took {response.elapsed_s:.1f} s"
        if path == "/summaries":
            problem = summary_problem(response.json, paper_id)
        elif path == "/extractions":
            problem = extraction_problem(response.json, paper_id)
        else:  # which paper each marker cites is the citations exercise's business
            body = response.json
            problem = None if isinstance(body, dict) and str(body.get("answer") or "").strip() \
                else "the answer is empty"
        assert problem is None, f"POST {path} for a slow model: {problem}"


@check(exercise="deadlines", tag="timeouts", points=3, time_limit_s=25,
       clauses=("deadlines.within-deadline", "deadlines.arrival-at-the-app",
                "deadlines.llm-timeout-504", "deadlines.hang-every-call-504", "deadlines.one-budget",
                "deadlines.retries-inside", "deadlines.close-the-call", "retries.deadline",
                "retries.timeout-closes-call", "retries.row-timeout", "fallback.row-timeout"))
def test_hanging_model_gets_llm_timeout_within_the_deadline(app, fake, evidence, contract):
    """A model that never answers (on every attempt, any provider) gets each endpoint a 504
    llm_timeout within the deadline, and the app closes its calls instead of leaving them open."""
    deadline_s = contract["deadline_s"]
    hang = fault("hang")
    script(fake, [rule(hang, times=None, paper_id=SUMMARY), rule(hang, times=None, paper_id=EXTRACT),
                  rule(hang, times=None, paper_id=ANSWER_SOURCES[0])], evidence=evidence)
    evidence.injected(f"a summary of {SUMMARY}, an extraction of {EXTRACT} and an answer over "
                      f"{ANSWER_SOURCES}; any provider")
    limit_s = deadline_s + CLIENT_MARGIN_S
    requests = {SUMMARY: ("/summaries", {"paper_id": SUMMARY}),
                EXTRACT: ("/extractions", {"paper_id": EXTRACT}),
                ANSWER_SOURCES[0]: ("/answers", {"question": "What did these trials find?",
                                                 "paper_ids": ANSWER_SOURCES})}
    results = run_all([lambda p=path, b=body: app.post(p, b, timeout_s=limit_s)
                       for path, body in requests.values()])
    for paper_id, (path, _), result in zip(requests, requests.values(), results, strict=True):
        response, rows = answer_and_calls(evidence, f"POST {path}", paper_id, result)
        problem = honest_error(response, "llm_timeout")
        if problem is not None and response.code == "llm_unavailable" and rows:
            # Three hanging requests at once: the app's circuit breaker (fallback exercise) may
            # rightly open after five failed calls in a row and stop calling: 503 is honest then.
            by_s = max(float(row["finish_s"] or row["arrival_s"]) for row in rows) + 1.0
            everything = evidence.ledger()
            if any(breaker_tripped(everything, p, by_s) for p in {r["provider"] for r in rows}):
                problem = honest_error(response, "llm_unavailable")
                evidence.observed(f"POST {path}: 503 accepted: five calls in a row had failed, so a "
                                  "circuit breaker may rightly stop calling")
        assert problem is None, f"POST {path} with a hanging model {problem}"
        assert response.elapsed_s <= limit_s, (
            f"POST {path} took {response.elapsed_s:.1f} s; the deadline is {deadline_s:g} s")
        assert rows, f"POST {path} never called the model"
        first, last = float(rows[0]["arrival_s"]), float(rows[-1]["arrival_s"])
        assert last - first <= deadline_s + SERVER_MARGIN_S, (
            f"POST {path} started a call {last - first:.1f} s after its first one, past the "
            f"{deadline_s:g} s deadline")
    for paper_id, (path, _) in requests.items():
        still_open = closed_in_time(fake, paper_id)
        assert not still_open, (
            f"POST {path} gave up but left {len(still_open)} call(s) to the model open: giving up "
            "must close the call")


TRICKLE = fault("trickle", pieces=100, interval_ms=150)  # a plain body over 15 s, never idle 0.2 s
DRIP = fault("drip", chunk_interval_ms=1000)  # a stream: a chunk a second, over 10 s for any answer
QUESTION = "What did these trials find?"


def _dribbles(paper_id: str, times: int | None = None) -> list[dict[str, Any]]:
    """Rules that make every call about ``paper_id`` dribble its answer, plain or streamed."""
    return [rule(TRICKLE, times=times, paper_id=paper_id), rule(DRIP, times=times, paper_id=paper_id)]


def _post(app: Any, path: str, paper_id: str, timeout_s: float) -> Any:
    body: dict[str, Any] = {"paper_id": paper_id}
    if path == "/answers":
        body = {"question": QUESTION, "paper_ids": [paper_id, "P0001"]}
    return app.post(path, body, timeout_s=timeout_s)


def _calls_closed_by(rows: list[dict[str, Any]], limit_s: float) -> str | None:
    """Why the calls in ``rows`` were not all over within ``limit_s`` of the first one's arrival
    (server clock), or None. The first call arrives after the request reached the app, so this
    never counts more time against the app than it had."""
    first = float(rows[0]["arrival_s"])
    still_open = [row for row in rows if row.get("finish_s") is None]
    if still_open:
        return f"{len(still_open)} call(s) still open"
    last = max(float(row["finish_s"]) for row in rows)
    if last - first > limit_s:
        return f"its last call ended {last - first:.2f} s after its first one began"
    return None


def _breaker_may_refuse(rows: list[dict[str, Any]], mine: list[dict[str, Any]]) -> bool:
    """Whether five calls in a row had failed, a dribbled call the app gave up on counting as a
    failure, before this request's last call ended: a circuit breaker may then rightly refuse."""
    by_s = max(float(row["finish_s"] or row["arrival_s"]) for row in mine) + 1.0
    gave_up = [{**row, "status": None} if row.get("client_gone") else row for row in rows]
    return any(breaker_tripped(gave_up, p, by_s) for p in {row["provider"] for row in mine})


@check(exercise="deadlines", tag="timeouts", points=2, time_limit_s=25, fresh_app=True,
       clauses=("deadlines.within-deadline", "deadlines.llm-timeout-504", "deadlines.one-budget",
                "deadlines.close-the-call", "retries.timeout-closes-call"))
def test_dribbling_model_gets_llm_timeout_within_the_deadline(app, fake, evidence, contract):
    """A model that answers every call a little at a time (a plain body trickled over 15 s, or a
    stream of a chunk a second), never silent for long, gets each endpoint a 504 llm_timeout
    within the deadline: the deadline bounds each call as a whole, not each read of it; and the
    calls are closed. (How late a retry may start is the next check's business.)"""
    deadline_s = contract["deadline_s"]
    jobs = {"P0017": "/summaries", "P0018": "/extractions", "P0021": "/answers"}
    script(fake, [r for paper_id in jobs for r in _dribbles(paper_id)])
    evidence.injected("every call, any provider, about P0017 (summary), P0018 (extraction) and P0021 "
                      "(answer over P0021, P0001): a 200 whose body comes in 100 pieces 150 ms apart "
                      "(plain), or a stream with one chunk a second; the three requests at once")
    limit_s = deadline_s + CLIENT_MARGIN_S
    results = run_all([lambda p=p, path=path: _post(app, path, p, limit_s) for p, path in jobs.items()])
    for (paper_id, path), result in zip(jobs.items(), results, strict=True):
        response, rows = answer_and_calls(evidence, f"POST {path} ({paper_id})", paper_id, result)
        assert rows, f"POST {path} never called the model"
        problem = honest_error(response, "llm_timeout")
        if problem is not None and response.code == "llm_unavailable" and \
                _breaker_may_refuse(evidence.ledger(), rows):
            problem = None
            evidence.observed(f"POST {path}: 503 accepted: five calls in a row had failed, so a "
                              "circuit breaker may rightly stop calling")
        assert problem is None, f"POST {path} with a model that dribbles its answer {problem}"
        assert response.elapsed_s <= limit_s, (
            f"POST {path} took {response.elapsed_s:.1f} s; the deadline is {deadline_s:g} s")
    for paper_id, path in jobs.items():
        still_open = closed_in_time(fake, paper_id)
        assert not still_open, (
            f"POST {path} gave up but left {len(still_open)} call(s) to the model open, still "
            "receiving the dribble: giving up must close the call")


@check(exercise="deadlines", tag="timeouts", points=2, time_limit_s=25, fresh_app=True,
       clauses=("deadlines.one-budget", "deadlines.retries-inside", "deadlines.close-the-call",
                "retries.deadline"))
def test_a_late_retry_gets_only_the_time_left(app, fake, evidence, contract):
    """A 429 asking to wait 3.6 s, then a model that hangs (extraction) or dribbles (answer) on
    every call: an app that retries at 3.6 s may give that attempt only what is left of the 4.0 s,
    so every call is over within the deadline of the first one's start (server clock, + 0.5 s),
    where a fresh per-attempt timeout runs about 1 s past it; the user gets an error within the
    deadline (504 llm_timeout, or 429 rate_limited / 503 llm_unavailable for an app that does not
    wait)."""
    deadline_s = contract["deadline_s"]
    hanging, dribbling = "P0025", "P0026"
    asked = fault("http_error", status=429, retry_after_ms=3600)
    script(fake, [rule(asked, times=1, paper_id=hanging), rule(fault("hang"), times=None, paper_id=hanging),
                  rule(asked, times=1, paper_id=dribbling), *_dribbles(dribbling)])
    evidence.injected(f"the first call about {hanging} (extraction) and about {dribbling} (answer over "
                      f"{dribbling}, P0001): a 429 with retry-after-ms 3600 (retry-after 4); every "
                      f"later call: {hanging} hangs, {dribbling} dribbles (a plain body in 100 pieces "
                      "150 ms apart, or a chunk a second)")
    limit_s = deadline_s + CLIENT_MARGIN_S
    jobs = {hanging: "/extractions", dribbling: "/answers"}
    results = run_all([lambda p=p, path=path: _post(app, path, p, limit_s) for p, path in jobs.items()])
    for (paper_id, path), result in zip(jobs.items(), results, strict=True):
        response, rows = answer_and_calls(evidence, f"POST {path} ({paper_id})", paper_id, result)
        problems = [honest_error(response, code)
                    for code in ("llm_timeout", "rate_limited", "llm_unavailable")]
        assert None in problems, (
            f"POST {path}: the model never gave a usable answer, yet the app {problems[0]}")
        assert response.elapsed_s <= limit_s, (
            f"POST {path} took {response.elapsed_s:.1f} s; the deadline is {deadline_s:g} s")
    for paper_id, path in jobs.items():
        closed_in_time(fake, paper_id)
        rows = calls(evidence.ledger(), paper_id)
        assert rows, f"POST {path} never called the model"
        late = _calls_closed_by(rows, deadline_s + SERVER_MARGIN_S)
        assert late is None, (
            f"POST {path}: {late}: a retry that starts late must get only what is left of the "
            f"request's {deadline_s:g} s, not a full per-attempt timeout of its own")


@check(exercise="deadlines", tag="timeouts", points=1, time_limit_s=20,
       clauses=("deadlines.unrelated-stay-fast",))
def test_health_and_papers_stay_fast_while_the_model_hangs(app, fake, evidence, contract):
    """While model calls hang, GET /health and GET /papers/{id} keep answering within 1.0 s."""
    hanging = "P0016"
    script(fake, [rule(fault("hang"), times=None, paper_id=hanging)], evidence=evidence)
    evidence.injected(f"4 summaries of {hanging} in progress while the grader reads /health and "
                      "/papers/P0001")
    pool = ThreadPoolExecutor(max_workers=4)
    for _ in range(4):
        pool.submit(_ignore_failure, lambda: app.post("/summaries", {"paper_id": hanging}, timeout_s=2.0))
    pool.shutdown(wait=False)
    time.sleep(0.3)
    slowest = 0.0
    for _ in range(5):
        for path in ("/health", "/papers/P0001"):
            response = app.get(path, timeout_s=5.0)
            slowest = max(slowest, response.elapsed_s)
            assert response.status == 200, f"GET {path} answered {response.status} while the model hung"
            if path.startswith("/papers"):
                assert isinstance(response.json, dict) and response.json.get("paper_id") == "P0001", (
                    "GET /papers/P0001 did not return the paper while the model hung")
    evidence.observed(f"10 GETs, slowest {slowest:.3f} s; "
                      f"{attempts_text(calls(evidence.ledger(), hanging))}")
    assert slowest <= contract["unrelated_limit_s"], (
        f"a GET that needs no model took {slowest:.2f} s while model calls hung: something blocks "
        "the server while it waits for the model")


def _ignore_failure(job: Any) -> None:
    # The background requests only keep the model busy; how they end is another check's business.
    with contextlib.suppress(Exception):
        job()
