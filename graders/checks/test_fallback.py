"""Fallback: summaries (single and batch items) fall back to the secondary provider when the primary
is unavailable, and say so; extractions and answers never do; a rejection or unusable output is not
unavailability; a circuit breaker per provider stops calls during an outage and probes after 2 s.

The breaker and the retry budget are app-wide state that outlives a check, so the checks keep the
breaker closed (a healthy call after every scenario that fails the primary), and the checks that
need that state clean start with a fresh app: the hanging primary (a spent retry budget would hide
a missing deadline) and the checks about the breaker.
"""

from __future__ import annotations

import time
from typing import Any

from graders.checks.plugin import check
from graders.checks.scenario import (
    CLIENT_MARGIN_S,
    answer_and_calls,
    answered,
    attempts_text,
    calls,
    extraction_problem,
    failed,
    fake_now,
    fault,
    honest_error,
    rule,
    run_all,
    script,
    shown,
    summary_problem,
    wait_fake_until,
)

HEALTHY = "P0199"  # extracted between scenarios: a success on the primary closes its breaker's count


def _heal(app: Any) -> None:
    app.post("/extractions", {"paper_id": HEALTHY}, timeout_s=8.0)


def _summary(app: Any, paper_id: str, limit_s: float) -> Any:
    return app.post("/summaries", {"paper_id": paper_id}, timeout_s=limit_s)


def _fallback_problem(body: Any, paper_id: str, rows: list[dict[str, Any]]) -> str | None:
    """Why a summary body is not a correct, declared fallback summary, or None."""
    problem = summary_problem(body, paper_id)
    if problem is not None:
        return problem
    served = [r for r in rows if r["provider"] == "anthropic" and r.get("status") == 200]
    if not served:
        return "the secondary provider was never called"
    if body.get("provider") != "anthropic" or body.get("fallback") is not True:
        return (f"the secondary wrote it, but the response says provider={body.get('provider')!r}, "
                f"fallback={body.get('fallback')!r}")
    if body.get("model") != served[-1]["model"]:
        return f"model says {body.get('model')!r}, but {served[-1]['model']} wrote it"
    return None


@check(exercise="fallback", tag="fallback", points=3, time_limit_s=20,
       clauses=("fallback.rejected-no-fallback", "fallback.bad-output-no-fallback", "fallback.row-rejected"))
def test_no_fallback_after_a_rejection_or_unusable_output(app, fake, evidence, contract):
    """A 400 from the primary is 502 llm_rejected, an empty 200 body or a refusal on every reply
    is 502 llm_invalid_output: none of them is a reason to call the secondary."""
    cases = [("P0141", fault("http_error", status=400), "llm_rejected"),
             ("P0142", fault("empty_body"), "llm_invalid_output"),
             ("P0143", fault("refusal"), "llm_invalid_output")]
    script(fake, [rule(f, times=None, paper_id=p, provider="openai") for p, f, _ in cases])
    evidence.injected("summaries: the primary answers every call with a 400 (P0141), a 200 with an "
                      "empty body (P0142), a refusal (P0143); the secondary is healthy")
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    results = run_all([lambda p=p: _summary(app, p, limit_s) for p, _, _ in cases])
    for (paper_id, injected, code), result in zip(cases, results, strict=True):
        response, rows = answer_and_calls(evidence, f"summary of {paper_id}", paper_id, result)
        secondary = [r for r in rows if r["provider"] == "anthropic"]
        assert not secondary, (
            f"summary of {paper_id}: the primary answered {injected['kind']} "
            f"{injected.get('status', '')}, which the secondary would not fix, yet the app called it")
        problem = honest_error(response, code)
        assert problem is None, f"summary of {paper_id} after {injected['kind']} {problem}"


@check(exercise="fallback", tag="fallback", points=3, time_limit_s=40, fresh_app=True,
       clauses=("fallback.summaries-fall-back", "fallback.unavailable-exhausted", "fallback.say-so",
                "fallback.within-deadline", "fallback.secondary-config",
                "fallback.attempt-cap"))
def test_summaries_fall_back_when_the_primary_is_down(app, fake, evidence, contract):
    """With the primary failing every call (503, a reset connection, 429), a summary and a batch
    item are written by the secondary within the deadline and say so (provider anthropic,
    fallback true, the secondary's model), after at most 4 attempts at the primary, while a healthy
    batch item stays on the primary."""
    deadline_s = contract["deadline_s"]
    cases = [("P0151", fault("http_error", status=503)), ("P0152", fault("reset")),
             ("P0153", fault("http_error", status=429, retry_after_ms=50)),
             ("P0154", fault("http_error", status=503))]
    script(fake, [rule(f, times=None, paper_id=p, provider="openai") for p, f in cases])
    evidence.injected("the primary fails every summary call: 503 (P0151), reset (P0152), 429 with "
                      "retry-after-ms 50 (P0153), 503 (P0154, in a batch with the healthy P0155); "
                      "one request at a time, a healthy extraction in between")
    limit_s = deadline_s + CLIENT_MARGIN_S
    for paper_id, injected in cases[:3]:
        response = answered(_summary(app, paper_id, limit_s))
        rows = calls(evidence.ledger(), paper_id)
        evidence.observed(f"summary of {paper_id} ({injected['kind']}): {shown(response)}; "
                          f"{attempts_text(rows)}")
        assert response.status == 200, (
            f"summary of {paper_id}: the primary was down ({injected['kind']} "
            f"{injected.get('status', '')}) and the app answered {shown(response)} instead of "
            "falling back to the secondary")
        problem = _fallback_problem(response.json, paper_id, rows)
        assert problem is None, f"summary of {paper_id} with the primary down: {problem}"
        primary = [r for r in rows if r["provider"] == "openai"]
        assert len(primary) <= contract["max_attempts"], (
            f"summary of {paper_id}: {len(primary)} attempts at the primary for one user request; "
            f"at most {contract['max_attempts']} are allowed, then the secondary")
        assert response.elapsed_s <= limit_s, f"summary of {paper_id} took {response.elapsed_s:.1f} s"
        _heal(app)
    batch = answered(app.post("/summaries/batch", {"paper_ids": ["P0154", "P0155"]},
                              timeout_s=contract.get("batch_deadline_s", 8.0) + CLIENT_MARGIN_S))
    rows = evidence.ledger()
    evidence.observed(f"batch [P0154, P0155]: {shown(batch)}; P0154 {attempts_text(calls(rows, 'P0154'))}")
    items = batch.json.get("items") if isinstance(batch.json, dict) else None
    assert batch.status == 200 and isinstance(items, list) and len(items) == 2 \
        and all(isinstance(item, dict) for item in items), f"the batch answered {shown(batch)}"
    problem = _fallback_problem(items[0], "P0154", calls(rows, "P0154"))
    assert problem is None, f"batch item P0154 with the primary down: {problem}"
    healthy = items[1]
    problem = summary_problem(healthy, "P0155")
    assert problem is None, f"batch item P0155 (primary healthy): {problem}"
    said = (healthy.get("provider"), healthy.get("fallback"))
    assert said in (("openai", False), ("anthropic", True)), (
        f"batch item P0155 says provider={said[0]!r}, fallback={said[1]!r}: a summary must say which "
        "provider wrote it, and fallback true exactly when it is the secondary")
    _heal(app)


@check(exercise="fallback", tag="fallback", points=3, time_limit_s=20, fresh_app=True,
       clauses=("fallback.unavailable-timeout", "fallback.leave-secondary-time", "fallback.within-deadline"))
def test_a_hanging_primary_falls_back_within_the_deadline(app, fake, evidence, contract):
    """With the primary hanging on every call, a summary still comes from the secondary, within
    the deadline (leaving the secondary enough of it)."""
    deadline_s = contract["deadline_s"]
    paper_id = "P0156"
    script(fake, [rule(fault("hang"), times=None, paper_id=paper_id, provider="openai")])
    evidence.injected(f"the primary never answers a summary call for {paper_id} (app freshly started: "
                      "its retry budget is full); the secondary is healthy")
    response = answered(_summary(app, paper_id, deadline_s + CLIENT_MARGIN_S))
    rows = calls(evidence.ledger(), paper_id)
    evidence.observed(f"summary of {paper_id}: {shown(response)}; {attempts_text(rows)}")
    assert response.status == 200, (
        f"summary of {paper_id}: the primary hung and the app answered {shown(response)} instead of "
        "falling back in time")
    problem = _fallback_problem(response.json, paper_id, rows)
    assert problem is None, f"summary of {paper_id} with a hanging primary: {problem}"
    served = [r for r in rows if r["provider"] == "anthropic" and r.get("status") == 200][-1]
    start = float(rows[0]["arrival_s"])
    assert float(served["finish_s"]) - start <= deadline_s + 0.25, (
        f"the secondary's summary was ready {float(served['finish_s']) - start:.1f} s after the first "
        f"call, past the {deadline_s:g} s deadline")
    _heal(app)


@check(exercise="fallback", tag="fallback", points=3, time_limit_s=30, fresh_app=True,
       clauses=("fallback.extractions-answers-never", "fallback.give-up-last-provider",
                "fallback.row-unavailable", "fallback.row-rate-limited", "fallback.other-status"))
def test_extractions_and_answers_never_fall_back(app, fake, evidence, contract):
    """With the primary down, an extraction and an answer are 503 llm_unavailable without a call
    to the secondary; an extraction the primary rate-limits on every call is 429 rate_limited,
    without one either; an extraction answered 501 (a status on neither list) is 503
    llm_unavailable after one call; with both providers down, a summary is 503 llm_unavailable
    too."""
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    down = fault("http_error", status=503)
    script(fake, [rule(down, times=None, paper_id="P0161", provider="openai"),
                  rule(down, times=None, paper_id="P0162", provider="openai"),
                  rule(down, times=None, paper_id="P0163"),
                  rule(fault("http_error", status=429, retry_after_ms=50), times=None, paper_id="P0165",
                       provider="openai"),
                  rule(fault("http_error", status=501), times=None, paper_id="P0166", provider="openai")])
    evidence.injected("the primary answers 503 to every call about P0161 (extraction) and P0162 "
                      "(answer), 429 with retry-after-ms 50 to every call about P0165 (extraction), "
                      "501 to every call about P0166 (extraction); "
                      "both providers answer 503 to every summary call about P0163; one request at a "
                      "time, a healthy extraction in between")
    jobs = [("extraction", "P0161",
             lambda: app.post("/extractions", {"paper_id": "P0161"}, timeout_s=limit_s)),
            ("answer", "P0162",
             lambda: app.post("/answers", {"question": "What did it find?", "paper_ids": ["P0162"]},
                              timeout_s=limit_s)),
            ("extraction", "P0165",
             lambda: app.post("/extractions", {"paper_id": "P0165"}, timeout_s=limit_s)),
            ("extraction", "P0166",
             lambda: app.post("/extractions", {"paper_id": "P0166"}, timeout_s=limit_s))]
    for kind, paper_id, job in jobs:
        response = answered(job())
        rows = calls(evidence.ledger(), paper_id)
        evidence.observed(f"{kind} of {paper_id}: {shown(response)}; {attempts_text(rows)}")
        secondary = [r for r in rows if r["provider"] == "anthropic"]
        assert not secondary, (
            f"{kind} of {paper_id}: extractions and answers must never come from the secondary "
            f"provider, but the app called it {len(secondary)} time(s)")
        code = "rate_limited" if paper_id == "P0165" else "llm_unavailable"
        problem = honest_error(response, code)
        assert problem is None, f"{kind} of {paper_id} with the primary down {problem}"
        if paper_id == "P0166":
            assert len(rows) == 1, (
                f"extraction of P0166: a 501 is on neither list, so it is not retried; the app made "
                f"{len(rows)} calls")
        _heal(app)
    response = answered(_summary(app, "P0163", limit_s))
    rows = calls(evidence.ledger(), "P0163")
    evidence.observed(f"summary of P0163 (both down): {shown(response)}; {attempts_text(rows)}")
    problem = honest_error(response, "llm_unavailable")
    assert problem is None, f"summary of P0163 with both providers down {problem}"
    _heal(app)


def _open_breaker(app: Any, evidence: Any, first: int, limit_s: float) -> float:
    """Extractions (which never fall back), one at a time, while the primary is down, until one
    makes no call to it: its breaker is open. Returns when it opened, on the fake's clock: the end
    of the primary's last failed call (the one that opened the breaker, or re-opened it)."""
    for n in range(12):
        before = len(calls(evidence.ledger(), provider="openai"))
        response = answered(_extract(app, f"P{first + n:04d}", limit_s))
        rows = calls(evidence.ledger(), provider="openai")
        evidence.observed(f"outage extraction {n + 1}: {shown(response)}, "
                          f"{len(rows) - before} primary call(s)")
        problem = honest_error(response, "llm_unavailable")
        assert problem is None, f"an extraction during the primary's outage {problem}"
        if len(rows) == before and rows:
            return _last_failure_s(rows)
    if not calls(evidence.ledger(), provider="openai"):
        raise AssertionError("in 12 extractions during an outage the app never called the primary")
    raise AssertionError("after 12 extractions during an outage the app still called the failing primary "
                         "every time: no circuit breaker opened")


def _last_failure_s(rows: list[dict[str, Any]]) -> float:
    """When the last failed call among ``rows`` ended, on the fake's clock: a breaker that is open
    now opened (or re-opened after a failed probe) then."""
    return max(float(r["finish_s"]) for r in rows if failed(r) and r.get("finish_s") is not None)


def _extract(app: Any, paper_id: str, limit_s: float) -> Any:
    return app.post("/extractions", {"paper_id": paper_id}, timeout_s=limit_s)


def _extract_until_served(app: Any, fake: Any, limit_s: float, until_s: float) -> int:
    """Extractions every 0.2 s until two in a row are right or the fake's clock reads ``until_s``;
    returns how many in a row were right at the end."""
    served = 0
    n = 0
    while served < 2 and fake_now(fake) < until_s:
        paper_id = f"P{181 + n % 10:04d}"
        response = answered(_extract(app, paper_id, limit_s))
        n += 1
        right = response.status == 200 and extraction_problem(response.json, paper_id) is None
        served = served + 1 if right else 0
        time.sleep(0.2)
    return served


@check(exercise="fallback", tag="fallback", points=2, time_limit_s=30, fresh_app=True,
       clauses=("fallback.breaker-probe", "fallback.breaker-probe-outcome", "fallback.lower-bound-slack"))
def test_breaker_probes_after_its_cooldown_and_closes(app, fake, evidence, contract):
    """After the primary's breaker opened, the primary comes back: the app sends it a probe no
    sooner than the 2.0 s cooldown (and not much later), and once the probe succeeds, requests are
    served by the primary again."""
    cooldown_s = contract["breaker_cooldown_s"]
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    script(fake, [rule(fault("http_error", status=503), times=None, provider="openai")])
    evidence.injected("the primary answers 503 to every call until its breaker opens (app freshly "
                      "started), then recovers; from the end of the cooldown the grader asks for an "
                      "extraction every 0.2 s")
    opened_s = _open_breaker(app, evidence, 171, limit_s)
    script(fake)
    # No request during the cooldown: the first one after it must probe, however long the app's
    # requests retried before the breaker opened.
    wait_fake_until(fake, opened_s + cooldown_s)
    served = _extract_until_served(app, fake, limit_s, until_s=opened_s + cooldown_s + 2.5)
    rows = calls(evidence.ledger(), provider="openai")
    later = [r for r in rows if float(r["arrival_s"]) > opened_s]
    evidence.observed(f"breaker opened at {opened_s:.2f} s (server clock); primary calls after it: "
                      + ", ".join(f"+{float(r['arrival_s']) - opened_s:.2f}s -> {r['status']}"
                                  for r in later))
    assert later, f"the primary was back, but in {cooldown_s + 2.5:g} s the app never probed it"
    probe_s = float(later[0]["arrival_s"]) - opened_s
    assert probe_s >= cooldown_s - contract["lower_bound_slack_s"], (
        f"the app called the primary {probe_s:.2f} s after its breaker opened, before the "
        f"{cooldown_s:g} s cooldown ended")
    assert probe_s <= cooldown_s + 1.0, (
        f"the first probe came {probe_s:.2f} s after the breaker opened, long after the "
        f"{cooldown_s:g} s cooldown, although requests came every 0.2 s from its end")
    assert served >= 2, "the probe succeeded, yet requests kept failing: the breaker never closed"


@check(exercise="fallback", tag="fallback", points=2, time_limit_s=30, fresh_app=True,
       clauses=("fallback.breaker-counts", "fallback.breaker-opens",
                "fallback.unavailable-breaker-open", "fallback.breaker-app-wide",
                "fallback.lower-bound-slack"))
def test_breaker_stops_calls_to_a_failing_primary(app, fake, evidence, contract):
    """During an outage the breaker opens after 5 failed calls in a row; while it is open (2.0 s)
    the app makes no call to the primary: extractions and answers fail at once with 503
    llm_unavailable, and summaries go to the secondary (or fail at once without one)."""
    cooldown_s = contract["breaker_cooldown_s"]
    threshold = contract["breaker_failure_threshold"]
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    script(fake, [rule(fault("http_error", status=503), times=None, provider="openai")])
    evidence.injected("the primary answers 503 to every call; extractions one at a time until the "
                      "breaker opens (app freshly started), then an extraction, an answer and a "
                      "summary every ~0.2 s for the cooldown")
    opened_s = _open_breaker(app, evidence, 171, limit_s)
    failures = len(calls(evidence.ledger(), provider="openai"))
    slowest = 0.0
    n = 0
    while fake_now(fake) < opened_s + cooldown_s - 0.3:
        paper_id = f"P{191 + n % 8:04d}"
        extraction, answer, summary = (answered(r) for r in run_all([
            lambda p=paper_id: _extract(app, p, limit_s),
            lambda p=paper_id: app.post("/answers", {"question": "What did it find?", "paper_ids": [p]},
                                        timeout_s=limit_s),
            lambda p=paper_id: _summary(app, p, limit_s)]))
        n += 1
        slowest = max(slowest, extraction.elapsed_s, answer.elapsed_s)
        for what, response in (("an extraction", extraction), ("an answer", answer)):
            problem = honest_error(response, "llm_unavailable")
            assert problem is None, f"{what} while the breaker was open {problem}"
        if summary.status == 200:
            problem = summary_problem(summary.json, paper_id)
            assert problem is None, f"a summary while the breaker was open: {problem}"
        else:
            problem = honest_error(summary, "llm_unavailable")
            assert problem is None, f"a summary while the breaker was open {problem}"
        time.sleep(0.15)
    rows = calls(evidence.ledger(), provider="openai")
    cooldown_end_s = opened_s + cooldown_s - contract["lower_bound_slack_s"]
    during = [r for r in rows if opened_s < float(r["arrival_s"]) < cooldown_end_s]
    evidence.observed(f"{failures} failed primary calls before the breaker opened; {n} rounds while "
                      f"open, slowest extraction or answer {slowest:.2f} s; primary calls during the "
                      f"cooldown: {len(during)}")
    assert failures <= threshold, (
        f"the breaker opened only after {failures} failed calls in a row; it should open after {threshold}")
    assert not during, (
        f"the app called the failing primary {len(during)} time(s) during the {cooldown_s:g} s "
        "after its breaker opened")
    assert slowest <= 1.0, (
        f"a request took {slowest:.2f} s to fail while the breaker was open; it should fail at once")


def _after(delay_s: float, job: Any) -> Any:
    """``job()`` once ``delay_s`` has passed (requests spread over time, each on its own thread)."""
    time.sleep(delay_s)
    return job()


@check(from_level="stormy", exercise="fallback", tag="fallback", points=2, time_limit_s=30, fresh_app=True,
       clauses=("fallback.breaker-probe",))
def test_one_probe_at_a_time_when_requests_crowd_in(app, fake, evidence, contract):
    """After the primary's breaker opened, the primary comes back slowly (each call takes 1 s).
    From the end of the 2.0 s cooldown, 8 extractions arrive 0.1 s apart, while the first probe
    is in flight: only that one call reaches the primary until it has answered; everyone else
    still sees the breaker open."""
    cooldown_s = contract["breaker_cooldown_s"]
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    script(fake, [rule(fault("http_error", status=503), times=None, provider="openai")])
    evidence.injected("the primary answers 503 to every call until its breaker opens (app freshly "
                      "started), then answers every call after 1 s; from the end of the cooldown, "
                      "8 extractions 0.1 s apart, all at once")
    opened_s = _open_breaker(app, evidence, 171, limit_s)
    script(fake, [rule(fault("latency", delay_ms=1000), times=None, provider="openai")])
    wait_fake_until(fake, opened_s + cooldown_s + 0.05)
    later: list[dict[str, Any]] = []
    for attempt in range(3):  # the app's clock may end the cooldown a little after the fake's
        results = run_all([lambda n=n: _after(0.1 * n, lambda: _extract(app, f"P{201 + n:04d}", limit_s))
                           for n in range(8)])
        answers = [answered(result) for result in results]
        later = sorted((r for r in calls(evidence.ledger(), provider="openai")
                        if float(r["arrival_s"]) > opened_s), key=lambda r: float(r["arrival_s"]))
        evidence.observed(f"round {attempt + 1}: " + ", ".join(str(a.status) for a in answers)
                          + "; primary calls after the breaker opened: "
                          + ", ".join(f"+{float(r['arrival_s']) - opened_s:.2f}s..+"
                                      f"{float(r['finish_s'] or 0) - opened_s:.2f}s -> {r['status']}"
                                      for r in later))
        if later:
            break
    assert later, (f"the primary was back, but in 3 rounds of 8 extractions after the {cooldown_s:g} s "
                   "cooldown the app never probed it")
    probe = later[0]
    assert probe.get("finish_s") is not None, "the probe call never ended"
    crowd = [r for r in later[1:] if float(r["arrival_s"]) < float(probe["finish_s"])]
    assert not crowd, (
        f"{len(crowd) + 1} calls reached the primary while its first probe was in flight "
        f"(+{float(probe['arrival_s']) - opened_s:.2f} s to +{float(probe['finish_s']) - opened_s:.2f} s "
        "after the breaker opened); the breaker lets one call through as a probe, and everyone else "
        "still sees it open until the probe has answered")


@check(exercise="fallback", tag="fallback", points=1, time_limit_s=30, fresh_app=True,
       clauses=("fallback.breaker-resets", "fallback.breaker-counts"))
def test_a_success_or_a_rejection_resets_the_count(app, fake, evidence, contract):
    """The primary's calls fail (503) 4 in a row, then one succeeds; 4 fail, then one is a 400;
    4 fail, then it is healthy. Never 5 failures in a row: the breaker stays closed, and every
    extraction, one at a time, calls the primary."""
    streak = contract["breaker_failure_threshold"] - 1
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    down = fault("http_error", status=503)
    script(fake, [rule(down, times=streak, provider="openai"),
                  rule(fault("latency", delay_ms=10), times=1, provider="openai"),
                  rule(down, times=streak, provider="openai"),
                  rule(fault("http_error", status=400), times=1, provider="openai"),
                  rule(down, times=streak, provider="openai")])
    scripted = 3 * streak + 2
    evidence.injected(f"the primary's calls, in order: {streak} x 503, a success, {streak} x 503, a "
                      f"400, {streak} x 503, then healthy (app freshly started); extractions one at a "
                      "time until it is healthy again")
    rows: list[dict[str, Any]] = []
    for n in range(scripted + 1):
        before = len(rows)
        response = answered(_extract(app, f"P{221 + n:04d}", limit_s))
        rows = calls(evidence.ledger(), provider="openai")
        evidence.observed(f"extraction {n + 1}: {shown(response)}; primary calls "
                          + ", ".join(str(r["status"]) for r in rows[before:]))
        assert len(rows) > before, (
            f"extraction {n + 1} made no call to the primary: its breaker opened, though the primary "
            f"never failed {streak + 1} calls in a row (calls so far: "
            + ", ".join(str(r["status"]) for r in rows) + "); a success or a 400 resets the count")
        if len(rows) > scripted:
            break
    assert len(rows) > scripted and response.status == 200, (
        f"the primary was healthy again after {scripted} scripted calls, but the last extraction "
        f"answered {shown(response)}")


@check(exercise="fallback", tag="timeouts", points=1, time_limit_s=30, fresh_app=True,
       clauses=("fallback.both-open",))
def test_with_both_breakers_open_a_summary_fails_at_once(app, fake, evidence, contract):
    """With both providers answering 503 to every call, summaries one at a time open the
    primary's breaker and then the secondary's; the next summary makes no call at all and is
    503 llm_unavailable at once (well inside the 4.0 s deadline)."""
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    script(fake, [rule(fault("http_error", status=503), times=None)])
    evidence.injected("both providers answer 503 to every call (app freshly started); summaries "
                      "one at a time until one makes no call")
    for n in range(10):
        before = len(evidence.ledger())
        response = answered(_summary(app, f"P{231 + n:04d}", limit_s))
        rows = evidence.ledger()[before:]
        evidence.observed(f"summary {n + 1}: {shown(response)}; "
                          f"{attempts_text(rows)}")
        if not rows:
            break
    else:
        raise AssertionError("after 10 summaries with both providers down the app still called a "
                             "provider every time: the two breakers never were open together")
    problem = honest_error(response, "llm_unavailable")
    assert problem is None, f"a summary with both breakers open {problem}"
    assert response.elapsed_s <= contract["deadline_s"] / 2, (
        f"with both breakers open a summary took {response.elapsed_s:.2f} s to fail; it should fail "
        "at once")
