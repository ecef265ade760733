"""The soak: mixed user requests under the session's level, with the level's own random faults
and its weather (latency regimes, outages, rate-limit storms), one whole weather cycle of it.

Every request ends correct, as an honest typed error, silently wrong, or as a server error (see
graders/soak.py). The check passes when nothing was silently wrong, nothing was a server error,
and the share of correct answers reaches the level's floor.
"""

from __future__ import annotations

from collections import Counter

from graders.checks.plugin import check
from graders.soak import (
    CONCURRENCY,
    CORRECT,
    DEFAULT_FLOOR,
    DEFAULT_SIZE,
    FLOORS,
    HONEST,
    SERVER,
    SIZES,
    WRONG,
    run_soak,
    soak_requests,
)


@check(exercise="soak", tag="correctness", points=10, time_limit_s=150,
       clauses=("retries.never-empty-or-500", "structured-output.values-from-reply",
                "streaming.done-only-complete", "batch.ok-only-with-summary"))
def test_mixed_requests_under_the_levels_weather(app, fake, evidence, level, seed):
    """Mixed summaries, extractions, answers, batches and streams (30 to 120 by level, 8 at a
    time) under the level's own faults, each of its fault kinds met for sure, and one cycle of its
    weather: none silently wrong, none a server error, and at least the level's share correct."""
    size, floor = SIZES.get(level, DEFAULT_SIZE), FLOORS.get(level, DEFAULT_FLOOR)
    fake.admin.clear_script()
    requests = soak_requests(size, seed)
    kinds = Counter(request.kind for request in requests)
    evidence.injected(f"the {level} level's own random faults (no script); {size} requests, "
                      f"{CONCURRENCY} at a time: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    report = run_soak(app.base_url, requests, CONCURRENCY, weather=fake.admin)
    cover = report.cover
    if cover is not None and cover.planned:
        evidence.injected(f"each of the level's faults on the first call of one request, on each kind "
                          f"of call it applies to ({len(cover.planned)} in all): " + "; ".join(
                              f"{c.name} for {requests[c.index].kind} #{c.index} ({c.paper_id})"
                              for c in cover.planned))
        if cover.moves or cover.missed:
            evidence.observed(f"covered faults: {cover.moves} moved to a later request (the app made "
                              f"no model call for theirs); never met: "
                              + (", ".join(c.name for c in cover.missed) or "none"))
    for leg in report.legs:
        met = Counter(outcome.verdict for outcome in report.outcomes[leg.first:leg.stop])
        evidence.observed(f"weather: requests {leg.first}-{leg.stop - 1} under {leg.phase}: "
                          + ", ".join(f"{met[v]} {v}" for v in (CORRECT, HONEST, WRONG, SERVER) if met[v]))
    rows = evidence.ledger()
    faults = Counter(f for row in rows for f in str(row.get("fault") or "none").split("+"))
    counts = report.counts
    evidence.observed(f"{len(rows)} model calls in {report.elapsed_s:.1f} s; faults met: "
                      + ", ".join(f"{k} {n}" for k, n in faults.most_common() if k != "latency"))
    evidence.observed(f"{counts[CORRECT]} correct, {counts[HONEST]} honest errors, {counts[WRONG]} "
                      f"silently wrong, {counts[SERVER]} server errors (correct share "
                      f"{report.correct_share:.0%}, floor {floor:.0%})")
    for verdict in (WRONG, SERVER, HONEST):
        for outcome in report.examples(verdict, 4):
            evidence.observed(f"{verdict}: {outcome.request.kind} {outcome.request.body}: {outcome.reason}")
    wrong = report.examples(WRONG, 1)
    assert not wrong, (
        f"{counts[WRONG]} of {size} answers were wrong but looked fine, e.g. a {wrong[0].request.kind} "
        f"of {wrong[0].request.body}: {wrong[0].reason}")
    broken = report.examples(SERVER, 1)
    assert not broken, (
        f"{counts[SERVER]} of {size} requests ended in a server error or no answer, e.g. a "
        f"{broken[0].request.kind} of {broken[0].request.body}: {broken[0].reason}")
    assert report.correct_share >= floor, (
        f"only {report.correct_share:.0%} of requests got a correct answer under the {level} level "
        f"(at least {floor:.0%} expected); the rest were honest errors")
