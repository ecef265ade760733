"""Cost: every success reports the usage of every call made for it (first attempts, retries,
re-asks, any provider, failed calls that reported usage), and no request makes another call once
its token budget is spent: 402 budget_exceeded. The ledger's billed tokens are the truth.

The check that fails the primary on every call has an app of its own: the failures may open the
app's circuit breaker (app-wide state), which must not spoil the other checks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from graders.checks.plugin import check
from graders.checks.scenario import (
    CLIENT_MARGIN_S,
    answer_and_calls,
    answered,
    attempts_text,
    calls,
    fault,
    honest_error,
    item_code,
    paper_range,
    rule,
    run_all,
    script,
    shown,
    status_text,
    summary_problem,
    usage_problem,
)

QUESTION = "What did these trials find?"


def _limit(contract: dict[str, Any]) -> float:
    return 4.0 + CLIENT_MARGIN_S


def _usage_of(response: Any) -> Any:
    return response.json.get("usage") if isinstance(response.json, dict) else None


def _with_usage(response: Any) -> str:
    return f"{shown(response)}, usage {_usage_of(response)}"


def _each_with_usage(evidence: Any, jobs: list[tuple[str, str, Callable[[], Any]]],
                     ) -> Iterator[tuple[str, str, Any, list[dict[str, Any]]]]:
    """Every job (kind, paper id, send) sent at once when the iteration starts; then, job by job,
    its kind, paper id, answer and calls, each observed with the usage it reports as it is
    yielded."""
    results = run_all([job for _, _, job in jobs])
    for (kind, paper_id, _), result in zip(jobs, results, strict=True):
        yield kind, paper_id, *answer_and_calls(evidence, kind, paper_id, result, _with_usage)


# Every kind of token_budget the brief refuses: not positive, not whole, a whole number written
# with a decimal point, a number in a string, a boolean, and other JSON types.
INVALID_BUDGETS: list[Any] = [0, -5, 1.5, 300.0, "300", "abc", True, False, [300], {"tokens": 300}]
BUDGET_ENDPOINTS: list[tuple[str, dict[str, Any]]] = [
    ("/extractions", {"paper_id": "P0011"}),
    ("/summaries", {"paper_id": "P0011"}),
    ("/answers", {"question": QUESTION, "paper_ids": ["P0011"]}),
    ("/summaries/batch", {"paper_ids": ["P0011"]}),
    ("/summaries/stream", {"paper_id": "P0011"}),
]


@check(exercise="cost", tag="correctness", points=1, time_limit_s=30,
       clauses=("cost.budget-validation",))
def test_invalid_token_budgets_are_refused(app, fake, evidence):
    """Every kind of token_budget that is not a positive whole number written as a JSON integer
    (0, -5, 1.5, 300.0, "300", "abc", true, false, a list, an object) is 400 bad_request on every
    LLM endpoint (the stream included), before any model call; a null token_budget is the default,
    not an error."""
    script(fake)
    evidence.injected("POST to each of " + ", ".join(path for path, _ in BUDGET_ENDPOINTS)
                      + " with token_budget " + ", ".join(json.dumps(b) for b in INVALID_BUDGETS))
    refused = []
    for path, body in BUDGET_ENDPOINTS:
        for budget in INVALID_BUDGETS:
            response = app.post(path, {**body, "token_budget": budget}, timeout_s=10.0)
            if honest_error(response, "bad_request") is not None:
                refused.append(f"POST {path} with token_budget {json.dumps(budget)} "
                               f"{honest_error(response, 'bad_request')}")
    evidence.observed(f"{len(BUDGET_ENDPOINTS) * len(INVALID_BUDGETS) - len(refused)} of "
                      f"{len(BUDGET_ENDPOINTS) * len(INVALID_BUDGETS)} requests answered 400 bad_request"
                      + (": not " + "; ".join(refused) if refused else ""))
    assert not refused, f"{len(refused)} invalid token budget(s) accepted, e.g. {refused[0]}"
    rows = evidence.ledger()
    assert not rows, f"requests with an invalid token_budget reached the model ({len(rows)} calls)"
    response = app.post("/extractions", {"paper_id": "P0012", "token_budget": None}, timeout_s=10.0)
    evidence.observed(f"/extractions with token_budget null: {shown(response)}")
    assert response.status == 200, (
        f"an extraction with token_budget null (the default budget) answered {status_text(response)}")


@check(exercise="cost", tag="cost", points=2, time_limit_s=20,
       clauses=("cost.usage-on-success", "cost.total-is-sum", "cost.provider-usage-names"))
def test_usage_matches_the_providers_count(app, fake, evidence):
    """On a healthy model, a summary, an extraction and an answer each report exactly the tokens
    the provider billed for their call, and total = input + output."""
    script(fake)
    evidence.injected("no fault; one summary (P0191), extraction (P0192) and answer (P0193, P0194)")
    jobs = [("summary", "P0191", lambda: app.post("/summaries", {"paper_id": "P0191"}, timeout_s=10.0)),
            ("extraction", "P0192", lambda: app.post("/extractions", {"paper_id": "P0192"}, timeout_s=10.0)),
            ("answer", "P0193", lambda: app.post(
                "/answers", {"question": QUESTION, "paper_ids": ["P0193", "P0194"]}, timeout_s=10.0))]
    for kind, _, response, rows in _each_with_usage(evidence, jobs):
        assert response.status == 200, f"a healthy {kind} answered {shown(response)}"
        problem = usage_problem(_usage_of(response), rows)
        assert problem is None, f"the {kind}'s {problem}"


@check(exercise="cost", tag="cost", points=3, time_limit_s=20,
       clauses=("cost.usage-every-call", "cost.no-usage-adds-nothing"))
def test_usage_counts_retries_and_re_asks(app, fake, evidence):
    """An extraction re-asked after a reply cut at the length limit, a summary retried after a
    503, and an answer re-asked after an empty reply each report the tokens of every call."""
    script(fake, [rule(fault("json_truncated"), times=1, paper_id="P0161"),
                  rule(fault("http_error", status=503), times=1, paper_id="P0162"),
                  rule(fault("empty_content"), times=1, paper_id="P0163")])
    evidence.injected("extraction of P0161: first reply cut at the length limit (billed); summary of "
                      "P0162: first call 503; answer over P0163: first reply empty (billed)")
    jobs = [("extraction", "P0161", lambda: app.post("/extractions", {"paper_id": "P0161"}, timeout_s=10.0)),
            ("summary", "P0162", lambda: app.post("/summaries", {"paper_id": "P0162"}, timeout_s=10.0)),
            ("answer", "P0163", lambda: app.post("/answers", {"question": QUESTION, "paper_ids": ["P0163"]},
                                                 timeout_s=10.0))]
    for kind, paper_id, response, rows in _each_with_usage(evidence, jobs):
        assert response.status == 200, f"the {kind} of {paper_id} answered {shown(response)}"
        problem = usage_problem(_usage_of(response), rows)
        assert problem is None, f"the {kind} of {paper_id} (after a failed first call): {problem}"


@check(exercise="cost", tag="cost", points=2, time_limit_s=20,
       clauses=("cost.batch-usage", "cost.stream-usage", "streaming.done-usage"))
def test_batch_and_stream_usage(app, fake, evidence):
    """A batch reports the tokens of all its calls (a retried item included); a stream's done
    event reports the usage the provider gave for the stream (which the app must ask for)."""
    papers = ["P0171", "P0172", "P0173"]
    script(fake, [rule(fault("http_error", status=503), times=1, paper_id="P0172")])
    evidence.injected("a batch of P0171, P0172 (first call 503), P0173; a streamed summary of P0174")
    batch, stream = run_all([lambda: app.post("/summaries/batch", {"paper_ids": papers}, timeout_s=12.0),
                             lambda: app.stream("/summaries/stream", {"paper_id": "P0174"}, timeout_s=12.0)])
    batch, stream = answered(batch), answered(stream)
    rows = evidence.ledger()
    batch_rows = [r for r in rows if set(r["paper_ids"]) & set(papers)]
    evidence.observed(f"batch: {shown(batch)}, usage {_usage_of(batch)}; {attempts_text(batch_rows)}")
    assert batch.status == 200, f"the batch answered {shown(batch)}"
    problem = usage_problem(_usage_of(batch), batch_rows)
    assert problem is None, f"the batch's {problem}"
    stream_rows = calls(rows, "P0174")
    done = stream[-1].data if len(stream) and stream[-1].event == "done" else None
    evidence.observed(f"stream: {len(stream)} events, done {done}; {attempts_text(stream_rows)}")
    assert isinstance(done, dict), "the stream did not end with a done event"
    assert stream_rows and all(r.get("usage_reported") for r in stream_rows), (
        "the app streamed without asking the provider for the stream's usage (stream_options."
        "include_usage), so it cannot know what the stream cost")
    problem = usage_problem(done.get("usage"), stream_rows)
    assert problem is None, f"the stream's done event: {problem}"


@check(exercise="cost", tag="cost", points=3, time_limit_s=25,
       clauses=("cost.budget-stops-calls", "cost.first-call-always", "cost.reask-limit",
                "cost.budget-default"))
def test_budget_stops_re_asks(app, fake, evidence, contract):
    """With every extraction reply cut short: a budget of 1 token gets one call then 402
    budget_exceeded; a budget just above one call's tokens gets one re-ask, then 402; the default
    budget lets all 3 generations happen (then 502 llm_invalid_output)."""
    paper_id = "P0151"
    script(fake, [rule(fault("json_truncated"), times=None, paper_id=paper_id)])
    evidence.injected(f"every extraction reply for {paper_id} is cut at the length limit (billed)")
    limit_s = _limit(contract)

    def extract(budget: int | None) -> tuple[Any, list[dict[str, Any]]]:
        before = {r["id"] for r in evidence.ledger()}
        body: dict[str, Any] = {"paper_id": paper_id}
        if budget is not None:
            body["token_budget"] = budget
        response = answered(app.post("/extractions", body, timeout_s=limit_s))
        rows = [r for r in calls(evidence.ledger(), paper_id) if r["id"] not in before]
        evidence.observed(f"token_budget {budget}: {shown(response)}; {attempts_text(rows)}")
        return response, rows

    response, rows = extract(1)
    problem = honest_error(response, "budget_exceeded")
    assert problem is None, f"an extraction with a 1-token budget and an unusable reply {problem}"
    assert len(rows) == 1, f"with its budget spent by the first call, the app still made {len(rows)} calls"
    first_call = int(rows[0]["tokens_in"]) + int(rows[0]["tokens_out"])
    response, rows = extract(first_call + 1)
    problem = honest_error(response, "budget_exceeded")
    assert problem is None, f"an extraction with a budget of {first_call + 1} tokens {problem}"
    assert len(rows) == 2, (
        f"with a budget of {first_call + 1} tokens (one call costs {first_call}) the app should re-ask "
        f"once and then stop; it made {len(rows)} calls")
    response, rows = extract(None)
    problem = honest_error(response, "llm_invalid_output")
    assert problem is None, f"an extraction with the default budget and unusable replies {problem}"
    assert len(rows) == contract["max_generations"], (
        f"under the default budget the app should try {contract['max_generations']} generations; it "
        f"made {len(rows)} calls")


@check(exercise="cost", tag="cost", points=1, time_limit_s=20,
       clauses=("cost.batch-item-budget", "cost.first-call-always", "cost.success-over-budget-used"))
def test_batch_items_have_the_batch_budget(app, fake, evidence):
    """In a batch with token_budget 1, an item whose reply is refused gets budget_exceeded after
    one call, while a healthy item is still summarised: the batch answers 200."""
    script(fake, [rule(fault("refusal"), times=None, paper_id="P0181")])
    evidence.injected("a batch of P0181 (every reply refused) and P0182 (healthy) with token_budget 1")
    response = answered(app.post("/summaries/batch", {"paper_ids": ["P0181", "P0182"], "token_budget": 1},
                                 timeout_s=12.0))
    rows = calls(evidence.ledger(), "P0181")
    evidence.observed(f"{shown(response)}; P0181: {attempts_text(rows)}")
    items = response.json.get("items") if isinstance(response.json, dict) else None
    assert response.status == 200 and isinstance(items, list) and len(items) == 2 \
        and all(isinstance(item, dict) for item in items), f"the batch answered {shown(response)}"
    code = item_code(items[0])
    assert items[0].get("status") == "error" and code == "budget_exceeded", (
        f"item P0181 is {items[0].get('status')!r} with code {code!r}; its budget was spent by the first "
        "call, so it should be an error budget_exceeded")
    assert len(rows) == 1, f"item P0181 made {len(rows)} calls after its budget was spent"
    assert items[1].get("status") == "ok", "the healthy item P0182 was not summarised"


@check(from_level="stormy", exercise="cost", tag="cost", points=2, time_limit_s=25, fresh_app=True,
       clauses=("cost.usage-every-call", "cost.provider-usage-names"))
def test_usage_counts_the_primary_when_the_secondary_answers(app, fake, evidence, contract):
    """A summary whose first primary reply is empty (billed) and whose later primary calls fail
    (503) reports, if the secondary writes it, the tokens of both providers; and a summary whose
    primary fails every call (503) and whose secondary's first reply is empty (billed, 0 output
    tokens) reports the secondary's tokens of both of its replies. Without a secondary, each
    must be an honest 503 llm_unavailable."""
    cases = {
        "P0164": ("the primary's first reply is empty (billed), then every primary call is 503; the "
                  "secondary is healthy",
                  [rule(fault("empty_content"), times=1, paper_id="P0164", provider="openai"),
                   rule(fault("http_error", status=503), times=None, paper_id="P0164",
                        provider="openai")]),
        "P0165": ("every primary call is 503; the secondary's first reply is empty (billed, 0 output "
                  "tokens), then it is healthy",
                  [rule(fault("http_error", status=503), times=None, paper_id="P0165", provider="openai"),
                   rule(fault("empty_content"), times=1, paper_id="P0165", provider="anthropic")]),
    }
    script(fake, [r for _, rules in cases.values() for r in rules])
    for paper_id, (what, _) in cases.items():
        evidence.injected(f"summary of {paper_id}: {what}")
    for paper_id in cases:
        response = answered(app.post("/summaries", {"paper_id": paper_id}, timeout_s=_limit(contract)))
        rows = calls(evidence.ledger(), paper_id)
        evidence.observed(f"summary of {paper_id}: {shown(response)}, usage {_usage_of(response)}; "
                          f"{attempts_text(rows)}")
        if response.status != 200:
            problem = honest_error(response, "llm_unavailable")
            assert problem is None, f"the summary of {paper_id} {problem}"
            continue
        problem = summary_problem(response.json, paper_id)
        assert problem is None, f"the summary of {paper_id} answered 200, but {problem}"
        problem = usage_problem(_usage_of(response), rows)
        assert problem is None, f"the summary of {paper_id} written by the secondary: {problem}"


@check(exercise="cost", tag="cost", points=1, time_limit_s=25,
       clauses=("cost.batch-item-budget", "cost.first-call-always", "batch.items-follow-summary-rules"))
def test_every_batch_item_has_the_whole_budget(app, fake, evidence):
    """A batch of 10 papers with token_budget 1, every call taking 300 ms, two papers failing
    their first call (503, no usage): no item has spent anything before its first call or its
    retry, so every item is its summary. (One budget shared by the items would refuse the later
    items, first calls included, once the first ones had spent a token.)"""
    papers = paper_range(225, 10)
    retried = [papers[5], papers[8]]
    slow = fault("latency", delay_ms=300)
    script(fake, [rule(fault("http_error", status=503), times=1, paper_id=p) for p in retried]
           + [rule(slow, times=None, task="summary")])
    evidence.injected(f"a batch of {len(papers)} papers with token_budget 1; every summary call takes "
                      f"300 ms; the first call about {' and '.join(retried)} is 503 (no usage)")
    response = answered(app.post("/summaries/batch", {"paper_ids": papers, "token_budget": 1},
                                 timeout_s=8.0 + CLIENT_MARGIN_S))
    items = response.json.get("items") if isinstance(response.json, dict) else None
    evidence.observed(f"{shown(response)}; items: " + (", ".join(
        f"{i.get('paper_id')} {i.get('status')} {item_code(i) or ''}".strip()
        for i in items if isinstance(i, dict)) if isinstance(items, list) else "none"))
    assert response.status == 200 and isinstance(items, list) and len(items) == len(papers) \
        and all(isinstance(item, dict) for item in items), f"the batch answered {shown(response)}"
    rows = evidence.ledger()
    for paper_id in retried:
        evidence.observed(f"{paper_id}: {attempts_text(calls(rows, paper_id))}")
    for item, paper_id in zip(items, papers, strict=True):
        problem = summary_problem(item, paper_id) if item.get("status") == "ok" else \
            f"{item.get('status')!r} with code {item_code(item)!r}"
        assert problem is None, (
            f"item {paper_id} of a batch with token_budget 1: {problem}; each item is one user "
            "request with the whole budget, and its first call (and, with nothing spent, a retry) "
            "is always made")
