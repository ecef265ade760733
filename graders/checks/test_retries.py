"""Retries: transient failures are retried (at most 4 attempts per provider per user request, SDK
retries included), with capped exponential backoff and full jitter, honouring retry-after, paid for
from an app-wide retry budget; nothing else is retried, and every way of giving up has its code.

The app's circuit breaker (fallback exercise) opens after five failed calls in a row; so that it
never hides a retry, no check lets more than four calls fail in a row unless that is the point.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from graders.checks.plugin import check
from graders.checks.scenario import (
    CLIENT_MARGIN_S,
    answer_and_calls,
    answered,
    attempts_text,
    calls,
    extraction_problem,
    fault,
    honest_error,
    jitter_problem,
    paper_range,
    percentile,
    rule,
    run_all,
    script,
    shown,
    status_text,
    stream_ending,
    stream_text,
    summary_problem,
)

QUESTION = "What did these trials find?"


def _request(app: Any, kind: str, paper_id: str, timeout_s: float) -> Any:
    if kind == "summary":
        return app.post("/summaries", {"paper_id": paper_id}, timeout_s=timeout_s)
    if kind == "extraction":
        return app.post("/extractions", {"paper_id": paper_id}, timeout_s=timeout_s)
    if kind == "answer":
        return app.post("/answers", {"question": QUESTION, "paper_ids": [paper_id, "P0001"]},
                        timeout_s=timeout_s)
    if kind == "batch":
        return app.post("/summaries/batch", {"paper_ids": [paper_id, "P0002"]}, timeout_s=timeout_s)
    return app.stream("/summaries/stream", {"paper_id": paper_id}, timeout_s=timeout_s)


def _result_problem(kind: str, paper_id: str, response: Any) -> str | None:
    """Why a response to a request that should have succeeded after retrying is not right."""
    if response.status != 200:
        return f"answered {status_text(response)}"
    if kind == "summary":
        return summary_problem(response.json, paper_id)
    if kind == "extraction":
        return extraction_problem(response.json, paper_id)
    if kind == "answer":
        body = response.json
        ok = isinstance(body, dict) and isinstance(body.get("answer"), str) and body["answer"].strip()
        return None if ok else "the answer is empty"
    if kind == "batch":
        items = response.json.get("items") if isinstance(response.json, dict) else None
        if not isinstance(items, list) or not items or not isinstance(items[0], dict):
            return "no batch items"
        if items[0].get("status") != "ok":
            return f"the retried item is {items[0].get('status')!r}"
        return summary_problem(items[0], paper_id)
    ending = stream_ending(response)
    if ending != ("done", None):
        return f"the stream ended with {ending}"
    return summary_problem({"paper_id": paper_id, "summary": stream_text(response)}, paper_id)


R1_CASES = [  # paper, endpoint, fault, how many times
    ("P0101", "extraction", fault("http_error", status=503), 2),
    ("P0102", "summary", fault("http_error", status=500), 1),
    ("P0103", "extraction", fault("http_error", status=502), 1),
    ("P0104", "summary", fault("http_error", status=529), 1),
    ("P0105", "extraction", fault("reset"), 1),
    ("P0106", "answer", fault("http_error", status=408), 1),
    ("P0107", "summary", fault("http_error", status=504), 1),
    ("P0108", "stream", fault("http_error", status=503), 1),
    ("P0109", "batch", fault("http_error", status=503), 1),
]


@check(exercise="retries", tag="retries", points=3, time_limit_s=40,
       clauses=("retries.transient-connection", "retries.transient-statuses",
                "retries.stream-before-first-text", "retries.batch-item-is-a-request"))
def test_transient_failures_are_retried_to_success(app, fake, evidence, contract):
    """503 twice, 500, 502 (HTML page), 529, a reset connection, 408, 504 (HTML page), on every
    endpoint (the stream before its first text, a batch item): each is retried on the same provider
    until it succeeds, and the user gets the real answer."""
    script(fake, [rule(f, times=n, paper_id=p, provider="openai") for p, _, f, n in R1_CASES])
    evidence.injected("; ".join(f"{kind} of {p}: {f['kind']} {f.get('status', '')} x{n}".replace("  ", " ")
                                for p, kind, f, n in R1_CASES) + " (one request at a time)")
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    for paper_id, kind, injected, times in R1_CASES:
        response = answered(_request(app, kind, paper_id, limit_s + (4 if kind == "batch" else 0)))
        rows = calls(evidence.ledger(), paper_id, provider="openai")
        evidence.observed(f"{kind} of {paper_id}: {shown(response)}; {attempts_text(rows)}")
        what = f"{injected['kind']} {injected.get('status', '')}".strip()
        problem = _result_problem(kind, paper_id, response)
        assert problem is None, f"{kind} of {paper_id} after {times} x {what}: {problem}"
        assert len(rows) == times + 1, (
            f"{kind} of {paper_id}: {times} x {what} should take {times + 1} calls to the primary "
            f"provider (retry until it works), but it took {len(rows)}")


@check(exercise="retries", tag="retries", points=3, time_limit_s=20,
       clauses=("retries.nothing-else-retried", "retries.4xx-rejected-at-once",
                "retries.should-retry-false", "retries.should-retry-true", "retries.row-rejected",
                "retries.row-unavailable"))
def test_non_transient_failures_are_never_retried(app, fake, evidence, contract):
    """400, 401, 404 and 422 from the provider are answered 502 llm_rejected after one call; a 5xx
    off the transient list (501, 505) is not retried either (one call, 503 llm_unavailable or 502
    llm_rejected: the table has no row of its own for it); a 503 carrying x-should-retry: false is
    answered 503 llm_unavailable after one call; and a 400 carrying x-should-retry: true, once, is
    retried and the user gets the answer (2 calls)."""
    cases = [("P0121", "extraction", 400), ("P0122", "extraction", 401), ("P0123", "answer", 404),
             ("P0124", "extraction", 422)]
    off_list = [("P0119", "extraction", 501), ("P0120", "answer", 505)]
    script(fake, [rule(fault("http_error", status=s), times=None, paper_id=p)
                  for p, _, s in cases + off_list]
           + [rule(fault("http_error", status=503, should_retry=False), times=None, paper_id="P0125"),
              rule(fault("http_error", status=400, should_retry=True), times=1, paper_id="P0126")])
    evidence.injected("every call answered: 400 (extraction of P0121), 401 (P0122), 404 (answer over "
                      "P0123), 422 (P0124), 501 (extraction of P0119), 505 (answer over P0120), and "
                      "503 with x-should-retry: false (extraction of P0125); the first call only: 400 "
                      "with x-should-retry: true (extraction of P0126)")
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    jobs = [(p, kind, ("llm_rejected",), f"a {s}") for p, kind, s in cases]
    jobs += [(p, kind, ("llm_unavailable", "llm_rejected"), f"a {s} (not on the transient list)")
             for p, kind, s in off_list]
    jobs.append(("P0125", "extraction", ("llm_unavailable",), "a 503 with x-should-retry: false"))
    results = run_all([lambda p=p, k=k: _request(app, k, p, limit_s) for p, k, _, _ in jobs])
    overridden = _request(app, "extraction", "P0126", limit_s)  # after the others: one at a time
    for (paper_id, kind, codes, what), result in zip(jobs, results, strict=True):
        response, rows = answer_and_calls(evidence, f"{kind} of {paper_id}", paper_id, result)
        assert len(rows) == 1, (
            f"{kind} of {paper_id}: {what} must not be retried, but the app made {len(rows)} calls")
        problems = [honest_error(response, code) for code in codes]
        assert None in problems, f"{kind} of {paper_id} after {what} {problems[0]}"
    response, rows = answer_and_calls(evidence, "extraction of P0126", "P0126", overridden)
    problem = _result_problem("extraction", "P0126", response)
    assert problem is None, (
        f"extraction of P0126: a 400 with x-should-retry: true may be retried, and the retry "
        f"succeeds, but the app {problem}")
    assert len(rows) == 2, (
        f"extraction of P0126: the provider said x-should-retry: true on a 400, which overrides the "
        f"list; one retry then gets the answer, so 2 calls, but the app made {len(rows)}")


@check(exercise="retries", tag="retries", points=2, time_limit_s=20, fresh_app=True,
       clauses=("retries.retry-after-honoured", "retries.lower-bound-slack",
                "retries.wait-past-deadline-gives-up", "retries.row-rate-limited",
                "retries.waiting-never-blocks"))
def test_retry_after_is_honoured_or_the_request_fails_at_once(app, fake, evidence, contract):
    """A 429 with retry-after-ms 400 is retried no sooner than 400 ms later; a 429 asking for 10 s,
    which does not fit in the deadline, is answered 429 rate_limited at once, without a retry; a
    429 asking for 2.9 s, a wait that ends well before the 4.0 s deadline, is waited out and
    retried to success late in the request; and while that request waits, another request is
    answered within 1 s."""
    waits, too_long, patient, other = "P0131", "P0132", "P0133", "P0134"
    script(fake, [rule(fault("http_error", status=429, retry_after_ms=400), times=1, paper_id=waits),
                  rule(fault("http_error", status=429, retry_after_ms=10_000), times=None,
                       paper_id=too_long),
                  rule(fault("http_error", status=429, retry_after_ms=PATIENT_MS), times=1,
                       paper_id=patient)])
    evidence.injected(f"extraction of {waits}: one 429 with retry-after-ms 400 (retry-after 1); "
                      f"extraction of {too_long}: 429 with retry-after-ms 10000 on every call; then "
                      f"extraction of {patient}: one 429 with retry-after-ms {PATIENT_MS}, and 0.6 s later a "
                      f"healthy extraction of {other}")
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    first, second = run_all([lambda: _request(app, "extraction", waits, limit_s),
                             lambda: _request(app, "extraction", too_long, limit_s)])
    first, second = answered(first), answered(second)
    rows_wait = calls(evidence.ledger(), waits)
    rows_long = calls(evidence.ledger(), too_long)
    evidence.observed(f"{waits}: {shown(first)}; {attempts_text(rows_wait)}")
    evidence.observed(f"{too_long}: {shown(second)}; {attempts_text(rows_long)}")
    problem = extraction_problem(first.json, waits) if first.status == 200 else \
        f"answered {status_text(first)}"
    assert problem is None, (
        f"extraction of {waits}: one 429 asking to wait 400 ms should be waited out and retried; the "
        f"app {problem}")
    assert len(rows_wait) == 2, f"extraction of {waits}: expected 2 calls, saw {len(rows_wait)}"
    gap_s = float(rows_wait[1]["arrival_s"]) - float(rows_wait[0]["finish_s"])
    evidence.observed(f"the retry of {waits} came {gap_s * 1000:.0f} ms after the 429 (server clock)")
    assert gap_s >= 0.4 - contract["lower_bound_slack_s"], (
        f"the provider asked for 400 ms (retry-after-ms) but the app retried after {gap_s * 1000:.0f} ms")
    assert len(rows_long) == 1, (
        f"extraction of {too_long}: the provider asked to wait 10 s, longer than the deadline, so the "
        f"app should give up at once; it made {len(rows_long)} calls")
    problem = honest_error(second, "rate_limited")
    assert problem is None, f"extraction of {too_long} {problem}"
    assert second.elapsed_s <= 2.0, (
        f"extraction of {too_long} took {second.elapsed_s:.1f} s to give up: a wait that cannot fit in "
        "the deadline should fail the request at once")

    def later() -> Any:
        time.sleep(0.6)
        return _request(app, "extraction", other, limit_s)

    waiting, meanwhile = run_all([lambda: _request(app, "extraction", patient, limit_s), later])
    waiting, meanwhile = answered(waiting), answered(meanwhile)
    evidence.observed(f"{patient}: {shown(waiting)}; {attempts_text(calls(evidence.ledger(), patient))}")
    evidence.observed(f"{other}, sent while {patient} waited: {shown(meanwhile)}")
    assert meanwhile.status == 200, f"extraction of {other} (healthy) answered {shown(meanwhile)}"
    assert meanwhile.elapsed_s <= 1.0, (
        f"a healthy extraction took {meanwhile.elapsed_s:.2f} s while another request waited out a "
        f"{PATIENT_MS / 1000:g} s retry-after: the wait blocks the app (a blocking sleep?) instead of "
        "only that request")
    problem = extraction_problem(waiting.json, patient) if waiting.status == 200 else \
        f"answered {status_text(waiting)}"
    assert problem is None, (
        f"extraction of {patient}: one 429 asking to wait {PATIENT_MS} ms, a wait that ends before "
        f"the {contract['deadline_s']:g} s deadline, should be waited out and retried; the app {problem}")


# A retry-after that ends with about 1 s of the deadline left: the healthy retry (10 ms) fits.
PATIENT_MS = 2900
TRANSIENT_STATUSES = (408, 409, 429, 500, 502, 503, 504, 529)
LONG_MS, SHORT_MS = 1000, 100  # retry-after-ms; retry-after (whole seconds, rounded up) says 1 s for both


@check(from_level="realistic", exercise="retries", tag="retries", points=2, time_limit_s=30, fresh_app=True,
       clauses=("retries.retry-after-honoured", "retries.retry-after-ms-wins",
                "retries.lower-bound-slack", "retries.transient-statuses"))
def test_retry_after_is_honoured_on_every_transient_status(app, fake, evidence, contract):
    """Each transient status (408, 409, 429, 500, 502, 503, 504, 529), once, carrying retry-after: 1
    and retry-after-ms: 1000, is retried no sooner than 1 s later; and carrying retry-after: 1 with
    retry-after-ms: 100 (the milliseconds win), about 100 ms later: the median of those waits is
    at most 0.5 s, where reading retry-after instead waits 1 s (10x)."""
    slack_s = contract["lower_bound_slack_s"]
    long_papers = paper_range(111, len(TRANSIENT_STATUSES))
    short_papers = paper_range(91, len(TRANSIENT_STATUSES))
    cases = [(p, s, LONG_MS) for p, s in zip(long_papers, TRANSIENT_STATUSES, strict=True)]
    cases += [(p, s, SHORT_MS) for p, s in zip(short_papers, TRANSIENT_STATUSES, strict=True)]
    script(fake, [rule(fault("http_error", status=s, retry_after_ms=ms), times=1, paper_id=p)
                  for p, s, ms in cases])
    evidence.injected(
        "one failure each, then healthy: extractions of " + ", ".join(
            f"{p} ({s}, retry-after-ms {ms})" for p, s, ms in cases)
        + "; every failure also carries retry-after: 1; sent 4 at a time (app freshly started), 8 "
        "healthy extractions between groups (they earn back the retry budget and end any run of "
        "failures)")
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    short_gaps: list[float] = []
    for start in range(0, len(cases), 4):
        group = cases[start:start + 4]
        if start:
            _refill_retry_budget(app, 8)
        results = run_all([lambda p=p: _request(app, "extraction", p, limit_s) for p, _, _ in group])
        for (paper_id, status, ms), result in zip(group, results, strict=True):
            label = f"extraction of {paper_id} ({status}, retry-after-ms {ms})"
            response, rows = answer_and_calls(evidence, label, paper_id, result)
            problem = _result_problem("extraction", paper_id, response)
            assert problem is None, (
                f"extraction of {paper_id}: one {status} asking to wait {ms} ms, then a good reply; "
                f"the app {problem}")
            assert len(rows) == 2 and rows[0].get("finish_s") is not None, (
                f"extraction of {paper_id}: one {status} then a good reply should take 2 calls, saw "
                f"{len(rows)}")
            gap_s = float(rows[1]["arrival_s"]) - float(rows[0]["finish_s"])
            evidence.observed(f"the retry of {paper_id} came {gap_s * 1000:.0f} ms after the {status}")
            assert gap_s >= ms / 1000 - slack_s, (
                f"a {status} carrying retry-after-ms {ms} (retry-after 1) was retried after "
                f"{gap_s * 1000:.0f} ms: the provider's wait is honoured on every status, not only 429")
            if ms == SHORT_MS:
                short_gaps.append(gap_s)
    median = percentile(short_gaps, 0.5)
    evidence.observed(f"waits after retry-after-ms {SHORT_MS} with retry-after 1: median "
                      f"{median * 1000:.0f} ms")
    assert median <= 0.5, (
        f"with retry-after-ms {SHORT_MS} and retry-after 1 on the same response, the app waited "
        f"{median * 1000:.0f} ms (median): retry-after-ms wins when both are present, so about "
        f"{SHORT_MS} ms, not the 1 s of retry-after")


@check(exercise="retries", tag="parsing", points=2, time_limit_s=25, fresh_app=True,
       clauses=("retries.transient-unreadable-200", "retries.unreadable-200-last-failure",
                "retries.give-up-last-failure", "retries.row-invalid-output", "retries.cap"))
def test_an_unreadable_200_is_retried(app, fake, evidence, contract):
    """A 200 with an empty body, or an HTML page instead of JSON, is a transient failure: once, it
    is retried and the user gets the answer; on every call, the user gets 502 llm_invalid_output
    within the deadline, after at most 4 calls; and after 503, 503, 503, then an HTML page, the
    last failure decides: 502 llm_invalid_output."""
    cap = contract["max_attempts"]
    once, always, mixed = "P0141", "P0142", "P0143"
    script(fake, [rule(fault("empty_body"), times=1, paper_id=once),
                  rule(fault("wrong_content_type"), times=None, paper_id=always),
                  rule(fault("http_error", status=503), times=cap - 1, paper_id=mixed),
                  rule(fault("wrong_content_type"), times=None, paper_id=mixed)])
    evidence.injected(f"the first call for {once} (extraction): 200 with an empty body; "
                      f"every call for {always} (summary): 200 with an HTML page; for {mixed} "
                      f"(extraction): {cap - 1} x 503, then 200 with an HTML page on every call")
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    first, second, third = run_all([lambda: _request(app, "extraction", once, limit_s),
                                    lambda: _request(app, "summary", always, limit_s),
                                    lambda: _request(app, "extraction", mixed, limit_s)])
    response, rows = answer_and_calls(evidence, f"extraction of {once}", once, first,
                                      provider="openai")
    problem = _result_problem("extraction", once, response)
    assert problem is None, f"extraction of {once}, whose first reply was an empty 200, {problem}"
    assert len(rows) == 2, (
        f"extraction of {once}: one empty 200 then a good reply should take 2 calls; the app made "
        f"{len(rows)}")
    response, rows = answer_and_calls(evidence, f"summary of {always}", always, second,
                                      provider="openai")
    problem = honest_error(response, "llm_invalid_output")
    assert problem is None, f"summary of {always} after an HTML 200 on every call {problem}"
    assert 2 <= len(rows) <= cap, (
        f"summary of {always}: every reply was an HTML page; the app should retry it, at most "
        f"{cap} calls in all, and made {len(rows)}")
    response, rows = answer_and_calls(evidence, f"extraction of {mixed}", mixed, third,
                                      provider="openai")
    if len(rows) == cap:  # every attempt was made, so the last failure was the HTML page
        problem = honest_error(response, "llm_invalid_output")
        assert problem is None, (
            f"extraction of {mixed}: {cap - 1} x 503 then an HTML 200 (the last failure) {problem}")
    assert len(rows) <= cap, f"extraction of {mixed}: {len(rows)} calls; at most {cap} allowed"


@check(exercise="retries", tag="retries", points=2, time_limit_s=30,
       clauses=("retries.cap", "retries.deadline", "retries.transient-statuses",
                "retries.row-unavailable", "retries.row-rate-limited"))
def test_attempts_are_capped_at_four(app, fake, evidence, contract):
    """A provider failing every call (503, 408, or 429 with a short retry-after) gets at most 4
    attempts per user request, SDK retries included, and the request gives up with the right code
    (503 llm_unavailable, also for a 408 that persists: it is transient, not a rejection; 429
    rate_limited) within the deadline."""
    cap = contract["max_attempts"]
    down, limited, healthy, timing_out = "P0151", "P0152", "P0153", "P0154"
    script(fake, [rule(fault("http_error", status=503), times=None, paper_id=down),
                  rule(fault("http_error", status=429, retry_after_ms=50), times=None, paper_id=limited),
                  rule(fault("http_error", status=408), times=None, paper_id=timing_out)])
    evidence.injected(f"every call for {down}: 503; for {limited}: 429 with retry-after-ms 50; for "
                      f"{timing_out}: 408; before each, 10 healthy extractions (they earn the retry "
                      f"budget back), and after each a healthy extraction of {healthy}")
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    for paper_id, code in ((down, "llm_unavailable"), (limited, "rate_limited"),
                           (timing_out, "llm_unavailable")):
        _refill_retry_budget(app, 10)
        response = _request(app, "extraction", paper_id, limit_s)
        _request(app, "extraction", healthy, limit_s)
        rows = calls(evidence.ledger(), paper_id)
        evidence.observed(f"extraction of {paper_id}: {shown(response)}; {attempts_text(rows)}")
        assert len(rows) <= cap, (
            f"extraction of {paper_id}: {len(rows)} calls for one user request; at most {cap} allowed")
        assert len(rows) >= 2, (
            f"extraction of {paper_id}: a transient failure was never retried (one call only)")
        problem = honest_error(response, code)
        assert problem is None, f"extraction of {paper_id}, failing every time, {problem}"
        assert response.elapsed_s <= limit_s, f"extraction of {paper_id} took {response.elapsed_s:.1f} s"


@check(exercise="retries", tag="retries", points=3, time_limit_s=40, fresh_app=True,
       clauses=("retries.backoff-full-jitter",))
def test_backoff_is_jittered(app, fake, evidence, contract):
    """24 extractions, each failing once with a 503, four at a time: the waits before their first
    retries are jittered (at least two shorter than the backoff base, and the median at least
    max(12 ms, 0.15 x median) above the shortest), not a fixed delay that the machine's load alone
    spreads."""
    waves, per_wave, refill = 6, 4, 12
    papers = paper_range(161, waves * per_wave)
    script(fake, [rule(fault("http_error", status=503), times=1, paper_id=p) for p in papers])
    evidence.injected(f"each of {len(papers)} extractions ({papers[0]}..{papers[-1]}) fails once with a "
                      f"503; sent in {waves} waves of {per_wave} simultaneous requests (app freshly "
                      f"started), {refill} healthy extractions between waves (they earn back the retry "
                      "budget a wave spends)")
    for wave in range(waves):
        if wave:
            _refill_retry_budget(app, refill)
        run_all([lambda p=p: _request(app, "extraction", p, 8.0)
                 for p in papers[wave * per_wave: (wave + 1) * per_wave]])
    rows = evidence.ledger()
    delays = []
    for paper_id in papers:
        mine = calls(rows, paper_id, provider="openai")
        if len(mine) >= 2 and mine[0].get("status") == 503 and mine[0].get("finish_s") is not None:
            delays.append(float(mine[1]["arrival_s"]) - float(mine[0]["finish_s"]))
    evidence.observed(f"{len(delays)} first retries; waits (ms): "
                      + ", ".join(f"{d * 1000:.0f}" for d in sorted(delays)))
    assert len(delays) >= 20, (
        f"only {len(delays)} of {len(papers)} calls that failed once were retried, although the retry "
        "budget was kept topped up")
    p10, p50, p90 = (percentile(delays, q) for q in (0.1, 0.5, 0.9))
    evidence.observed(f"shortest {min(delays) * 1000:.0f} ms, p10 {p10 * 1000:.0f} ms, median "
                      f"{p50 * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms")
    problem = jitter_problem(delays, contract["backoff_base_ms"] / 1000)
    assert problem is None, (
        f"{problem}: without jitter, clients that fail together retry together and hit the "
        "provider in waves")


@check(from_level="stormy", exercise="retries", tag="retries", points=3, time_limit_s=40, fresh_app=True,
       clauses=("retries.budget-app-wide", "retries.budget-bucket", "retries.budget-deposit",
                "retries.budget-retry-cost", "retries.row-unavailable"))
def test_retry_budget_limits_retries(app, fake, evidence, contract):
    """40 extractions whose first call fails (503), four at a time, a healthy one after each
    four: the app retries at most 10 + 0.3 per request of them (the retry budget), so a bad spell
    cannot multiply the load; those it does not retry are 503 llm_unavailable."""
    cap_tokens = contract["retry_budget_max_tokens"]
    deposit = contract["retry_budget_deposit"]
    papers, healthy = paper_range(181, 40), paper_range(221, 11)
    script(fake, [rule(fault("http_error", status=503), times=1, paper_id=p) for p in papers])
    evidence.injected("the first call of each of 40 extractions (P0181..P0220) fails with a 503 (a retry "
                      "would succeed); sent in 10 waves of 4 simultaneous requests, a healthy extraction "
                      "before the first wave and after each (so no circuit breaker opens)")
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    _request(app, "extraction", healthy[0], limit_s)
    responses = []
    for wave in range(10):
        responses += [answered(r) for r in run_all([lambda p=p: _request(app, "extraction", p, limit_s)
                                                    for p in papers[wave * 4: wave * 4 + 4]])]
        _request(app, "extraction", healthy[wave + 1], limit_s)
    rows = evidence.ledger()
    retried = [p for p in papers if len(calls(rows, p)) > 1]
    allowed = cap_tokens + deposit * (len(papers) + len(healthy)) + 2
    answers = Counter(status_text(r) for r in responses)
    evidence.observed(f"{len(retried)} of {len(papers)} failed requests retried (the budget allows at "
                      f"most {allowed:.0f}); answers: " + ", ".join(f"{n} x {k}" for k, n in answers.items()))
    assert retried, "the app never retried a 503, so it has no retries for a budget to limit"
    assert len(retried) <= allowed, (
        f"the app retried {len(retried)} of {len(papers)} failed requests; a retry budget of "
        f"{cap_tokens} plus {deposit} per request allows about {allowed:.0f}: without one, a bad spell "
        "multiplies the load on the provider")
    for paper_id, response in zip(papers, responses, strict=True):
        if paper_id in retried:
            continue
        problem = honest_error(response, "llm_unavailable")
        assert problem is None, f"extraction of {paper_id}, failed once and not retried, {problem}"


def _refill_retry_budget(app: Any, count: int, kind: str = "extraction") -> None:
    """``count`` healthy requests, eight at a time: each first attempt earns the retry budget 0.2."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda p: _request(app, kind, p, 8.0), paper_range(221, count)))
