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


@check(exercise="deadlines", tag="timeouts", points=3, time_limit_s=20,
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
                  rule(slow, times=None, paper_id=steady)])
    evidence.injected(f"the first call for each endpoint waits 2.5 s before answering (a spike); "
                      f"every extraction call for {steady} waits 1.2 s")
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


@check(exercise="deadlines", tag="timeouts", points=5, time_limit_s=25,
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
                  rule(hang, times=None, paper_id=ANSWER_SOURCES[0])])
    evidence.injected(f"the model hangs (never answers) on every call, any provider, for a summary of "
                      f"{SUMMARY}, an extraction of {EXTRACT} and an answer over {ANSWER_SOURCES}")
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


@check(exercise="deadlines", tag="timeouts", points=2, time_limit_s=20,
       clauses=("deadlines.unrelated-stay-fast",))
def test_health_and_papers_stay_fast_while_the_model_hangs(app, fake, evidence, contract):
    """While model calls hang, GET /health and GET /papers/{id} keep answering within 1.0 s."""
    hanging = "P0016"
    script(fake, [rule(fault("hang"), times=None, paper_id=hanging)])
    evidence.injected(f"the model hangs on every call about {hanging}; 4 summaries of it are in "
                      "progress while the grader reads /health and /papers/P0001")
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
