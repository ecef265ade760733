"""Batch: 1 to 20 paper ids (else 400 bad_request before any model call); at most 4 LLM calls in
flight at once, a new one started as soon as one finishes; one item per id, in order, each with its
own status; the whole batch answers within 8.0 s with whatever finished (the rest llm_timeout).

The check that makes a paper fail on every provider has an app of its own: the failures it causes
may open the app's circuit breakers (app-wide state), which must not spoil the other checks."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from graders.checks.plugin import check
from graders.checks.scenario import (
    CLIENT_MARGIN_S,
    answered,
    attempts_text,
    calls,
    closed_in_time,
    fault,
    item_code,
    most_started_during_a_call,
    paper_range,
    rule,
    run_all,
    script,
    shown,
    slot_reuse,
    status_text,
    summary_problem,
    usage_problem,
)

UNFINISHED_CODES = ("llm_timeout", "llm_unavailable", "llm_invalid_output")


def _batch(app: Any, paper_ids: list[str], contract: dict[str, Any]) -> Any:
    return app.post("/summaries/batch", {"paper_ids": paper_ids},
                    timeout_s=contract["batch_deadline_s"] + CLIENT_MARGIN_S)


def _items(response: Any, paper_ids: list[str]) -> list[dict[str, Any]]:
    """The batch's items, asserting one per requested id, in request order."""
    assert response.status == 200, f"the batch answered {shown(response)}"
    items = response.json.get("items") if isinstance(response.json, dict) else None
    assert isinstance(items, list) and all(isinstance(i, dict) for i in items), "the batch has no items list"
    got = [item.get("paper_id") for item in items]
    assert got == paper_ids, f"the items are {got}, not one per requested id in request order {paper_ids}"
    return items


def _wrong_items(items: list[dict[str, Any]], papers: list[str]) -> list[str]:
    wrong = []
    for item, paper_id in zip(items, papers, strict=True):
        problem = summary_problem(item, paper_id) if item.get("status") == "ok" else \
            f"status {item.get('status')!r} ({item_code(item)})"
        if problem is not None:
            wrong.append(f"{paper_id}: {problem}")
    return wrong


def _overlap(rows: list[dict[str, Any]]) -> list[int]:
    """For each call, how many of ``rows`` were in flight when it arrived (itself included)."""
    counts = []
    for row in rows:
        at = float(row["arrival_s"])
        counts.append(sum(1 for other in rows if float(other["arrival_s"]) <= at
                          and (other.get("finish_s") is None or float(other["finish_s"]) > at)))
    return counts


@check(exercise="batch", tag="correctness", points=2, time_limit_s=25,
       clauses=("batch.size-limits", "batch.items-in-order"))
def test_invalid_batches_are_refused_before_any_model_call(app, fake, evidence, contract):
    """An empty list, 21 ids, or a string instead of a list is 400 bad_request, with no model call;
    the sizes at the limits, 1 id and 20 ids, are valid batches: 200 with one summary per id."""
    script(fake)
    too_many = paper_range(1, contract["max_batch_size"] + 1)
    bodies = [{"paper_ids": []}, {"paper_ids": too_many}, {"paper_ids": "P0001"}, {}]
    evidence.injected("POST /summaries/batch with no ids, 21 ids, a string, and no paper_ids")
    for body in bodies:
        response = app.post("/summaries/batch", body,
                            timeout_s=contract["batch_deadline_s"] + CLIENT_MARGIN_S)
        shown_body = f"{len(body['paper_ids'])} ids" if isinstance(body.get("paper_ids"), list) else str(body)
        evidence.observed(f"{shown_body}: {shown(response)}")
        assert response.status == contract["bad_request_status"] and response.code == "bad_request", (
            f"a batch with {shown_body} answered {status_text(response)} instead of "
            "400 bad_request")
    rows = evidence.ledger()
    assert not rows, f"invalid batches reached the model ({len(rows)} calls)"
    for papers in (paper_range(11, 1), paper_range(11, contract["max_batch_size"])):
        response = answered(_batch(app, papers, contract))
        evidence.observed(f"{len(papers)} id(s): {shown(response)}")
        assert response.status == 200, (
            f"a batch of {len(papers)} id(s) answered {status_text(response)}; 1 to "
            f"{contract['max_batch_size']} paper ids is a valid batch")
        wrong = _wrong_items(_items(response, papers), papers)
        assert not wrong, (
            f"a batch of {len(papers)} id(s): {len(wrong)} item(s) are not the right summary: {wrong[0]}")


@check(exercise="batch", tag="concurrency", points=3, time_limit_s=30,
       clauses=("batch.in-flight-cap", "batch.items-in-order", "batch.ok-only-with-summary"))
def test_batch_calls_run_in_parallel_within_the_cap(app, fake, evidence, contract):
    """12 papers whose every call takes 300 ms: the calls overlap (at least 2 in flight) but never
    more than 4 at once, and every item is the right summary."""
    cap = contract["max_in_flight"]
    papers = paper_range(41, 12)
    script(fake, [rule(fault("latency", delay_ms=300), times=None, task="summary")])
    evidence.injected("every summary call takes 300 ms; a batch of 12 papers")
    response = answered(_batch(app, papers, contract))
    items = _items(response, papers)
    rows = calls(evidence.ledger(), task="summary")
    in_flight = _overlap(rows)
    fakes_count = [r["in_flight"] for r in rows]
    evidence.observed(f"{shown(response)}; {len(rows)} calls; in flight at each arrival "
                      f"(the batch's own calls): {in_flight}; the fake's count: {fakes_count}")
    assert max(in_flight, default=0) <= cap, (
        f"{max(in_flight)} model calls were in flight at once; the provider allows this app {cap}")
    assert max(in_flight, default=0) >= 2, (
        "the batch called the model one paper at a time: 12 slow papers take 12 times as long")
    wrong = _wrong_items(items, papers)
    assert not wrong, f"{len(wrong)} item(s) are not the right summary: {wrong[0]}"


@check(exercise="batch", tag="concurrency", points=2, time_limit_s=30,
       clauses=("batch.sliding-window", "batch.items-in-order"))
def test_a_free_slot_is_used_at_once(app, fake, evidence, contract):
    """12 papers, every fourth slow (600 ms) and the rest fast (100 ms): with a sliding window, the
    next paper starts when a fast call ends, while the slow one still runs; in fixed groups, only
    once every call of the group has ended (:func:`slot_reuse`, on the fake's clock, so a busy
    machine changes nothing)."""
    papers = paper_range(61, 12)
    slow = papers[0::4]
    script(fake, [rule(fault("latency", delay_ms=600), times=None, task="summary", paper_id=p) for p in slow]
           + [rule(fault("latency", delay_ms=100), times=None, task="summary")])
    evidence.injected(f"summary calls for {', '.join(slow)} take 600 ms, the other 9 take 100 ms; "
                      "a batch of the 12")
    response = answered(_batch(app, papers, contract))
    items = _items(response, papers)
    rows = calls(evidence.ledger(), task="summary")
    assert rows and all(r.get("finish_s") is not None for r in rows), "the batch's calls did not all end"
    span_s = max(float(r["finish_s"]) for r in rows) - min(float(r["arrival_s"]) for r in rows)
    reused = slot_reuse(rows, contract["max_in_flight"])
    evidence.observed(f"{shown(response)}; the model was busy for {span_s:.2f} s (server clock), "
                      f"in flight at each arrival: {_overlap(rows)}; a freed slot used at once: "
                      f"{reused or 'never'}")
    wrong = _wrong_items(items, papers)
    assert not wrong, f"{len(wrong)} item(s) are not the right summary: {wrong[0]}"
    cap = contract["max_in_flight"]
    assert reused is not None, (
        f"the batch worked in fixed groups: while a call ran, at most {most_started_during_a_call(rows)} "
        f"other calls started (in flight at each arrival: {_overlap(rows)}); starting the next paper "
        f"as soon as a call finishes starts at least {cap} while the slow one runs")


@check(exercise="batch", tag="cost", points=1, time_limit_s=20,
       clauses=("batch.usage-sum", "cost.batch-usage"))
def test_batch_usage_is_the_sum_of_its_calls(app, fake, evidence, contract):
    """The batch's usage is the sum of what every call made for it reported."""
    papers = paper_range(91, 3)
    script(fake)
    evidence.injected("no fault; a batch of 3 papers")
    response = answered(_batch(app, papers, contract))
    _items(response, papers)
    rows = calls(evidence.ledger(), task="summary")
    usage = response.json.get("usage")
    evidence.observed(f"usage {usage}; {attempts_text(rows)}")
    problem = usage_problem(usage, rows)
    assert problem is None, f"the batch's {problem}"


@check(exercise="batch", tag="timeouts", points=2, time_limit_s=30,
       clauses=("batch.deadline", "batch.unfinished-llm-timeout", "batch.one-failure-never-fails-batch",
                "batch.items-in-order", "retries.batch-item-deadline"))
def test_one_hanging_paper_costs_only_that_paper(app, fake, evidence, contract):
    """8 papers, one of which hangs on every call (any provider): the batch still answers within
    8.0 s, that item is an honest error (llm_timeout), the 7 others are their summaries, and the
    hanging calls are closed."""
    deadline_s = contract["batch_deadline_s"]
    papers = paper_range(101, 8)
    hanging = papers[3]
    script(fake, [rule(fault("hang"), times=None, paper_id=hanging)])
    evidence.injected(f"every call about {hanging} hangs (never answers); a batch of 8 papers")
    response = answered(_batch(app, papers, contract))
    items = _items(response, papers)
    rows = evidence.ledger()
    evidence.observed(f"{shown(response)}; {hanging}: {attempts_text(calls(rows, hanging))}")
    assert response.elapsed_s <= deadline_s + CLIENT_MARGIN_S, (
        f"the batch took {response.elapsed_s:.1f} s; it must answer within {deadline_s:g} s")
    item = items[3]
    code = item_code(item)
    # llm_unavailable is honest too when the app's own attempt timeouts ran out before the deadline.
    assert item.get("status") == "error" and code in ("llm_timeout", "llm_unavailable"), (
        f"the hanging paper's item is {item.get('status')!r} with code {code!r}; it should be an "
        "error with code llm_timeout")
    wrong = _wrong_items([i for i in items if i is not item], [p for p in papers if p != hanging])
    assert not wrong, f"one hanging paper spoiled another: {wrong[0]}"
    still_open = closed_in_time(fake, hanging)
    assert not still_open, (
        f"the batch answered but left {len(still_open)} call(s) about {hanging} open: unfinished items' "
        "calls must be closed")


@check(exercise="batch", tag="timeouts", points=1, time_limit_s=30,
       clauses=("batch.unfinished-llm-timeout", "batch.deadline", "retries.batch-item-deadline"))
def test_papers_still_waiting_at_the_batch_deadline_have_their_calls_closed(app, fake, evidence,
                                                                            contract):
    """8 papers: the first 4 slow (1 s), then 3 that hang on every call (any provider) and a
    healthy one; healthy extractions every 0.3 s meanwhile (so no circuit breaker opens). The
    hanging papers start about 1 s in, so an app that gives each item the whole 8.0 s still has a
    call about each of them in flight when the batch's deadline comes: every such call is closed
    when the batch answers, however the item's own timeouts and the batch's meet."""
    deadline_s = contract["batch_deadline_s"]
    papers = paper_range(231, 8)
    slow, hanging = papers[:4], papers[4:7]
    script(fake, [rule(fault("hang"), times=None, paper_id=p) for p in hanging]
           + [rule(fault("latency", delay_ms=1000), times=None, task="summary", paper_id=p)
              for p in slow])
    evidence.injected(f"a batch of {papers[0]}..{papers[-1]}: the summary calls about "
                      f"{slow[0]}..{slow[-1]} take 1 s, every call about {', '.join(hanging)} hangs "
                      "(never answers); meanwhile a healthy extraction every 0.3 s")
    done = threading.Event()

    def meanwhile() -> int:
        sent = 0
        started = time.monotonic()
        while not done.is_set() and time.monotonic() - started < deadline_s + CLIENT_MARGIN_S:
            app.post("/extractions", {"paper_id": f"P{211 + sent % 20:04d}"},
                     timeout_s=contract["batch_deadline_s"])
            sent += 1
            done.wait(0.3)
        return sent

    def batch() -> Any:
        try:
            return _batch(app, papers, contract)
        finally:
            done.set()

    response, _ = (answered(r) for r in run_all([batch, meanwhile]))
    items = _items(response, papers)
    rows = evidence.ledger()
    evidence.observed(f"{shown(response)}; items: " + ", ".join(
        f"{i.get('paper_id')} {i.get('status')} {item_code(i) or ''}".strip() for i in items))
    assert response.elapsed_s <= deadline_s + CLIENT_MARGIN_S, (
        f"the batch took {response.elapsed_s:.1f} s; it must answer within {deadline_s:g} s")
    still_open = {p: closed_in_time(fake, p) for p in hanging}
    for paper_id in hanging:
        evidence.observed(f"{paper_id}: {attempts_text(calls(rows, paper_id))}")
        item = items[papers.index(paper_id)]
        code = item_code(item)
        assert item.get("status") == "error" and code in UNFINISHED_CODES, (
            f"the hanging paper {paper_id}'s item is {item.get('status')!r} with code {code!r}; it "
            "should be an error with code llm_timeout")
    left = [f"{len(rows_)} about {p}" for p, rows_ in still_open.items() if rows_]
    assert not left, (
        f"the batch answered but left call(s) open ({', '.join(left)}): the calls of items not "
        "finished by the deadline must be closed, not left running")
    wrong = _wrong_items([items[papers.index(p)] for p in papers if p not in hanging],
                         [p for p in papers if p not in hanging])
    assert not wrong, f"a hanging paper spoiled another: {wrong[0]}"


@check(exercise="batch", tag="timeouts", points=3, time_limit_s=30,
       clauses=("batch.deadline", "batch.unfinished-llm-timeout", "retries.batch-item-deadline",
                "batch.others-dont-wait"))
def test_a_batch_too_big_for_its_deadline_answers_on_time(app, fake, evidence, contract):
    """20 papers whose first reply is empty (a summary needs a second call) and every call takes
    1.1 s: with 4 calls in flight the work takes at least 11 s, so the batch answers at its 8.0 s
    deadline with the items that finished, every other one an honest error (llm_timeout), and
    the unfinished items' calls closed. Per-item deadlines alone answer after 11 s at the soonest.
    Meanwhile, an extraction sent 1 s into the batch is answered within 2 s: it does not wait."""
    deadline_s = contract["batch_deadline_s"]
    papers = paper_range(141, contract["max_batch_size"])
    slow = fault("latency", delay_ms=1100)
    script(fake, [rule([slow, fault("empty_content")], times=1, task="summary", paper_id=p) for p in papers]
           + [rule(slow, times=None, task="summary")])
    evidence.injected(f"a batch of {len(papers)} papers; every summary call takes 1.1 s, and each "
                      "paper's first reply is empty")
    def meanwhile() -> Any:
        time.sleep(1.0)
        return app.post("/extractions", {"paper_id": "P0199"}, timeout_s=contract["batch_deadline_s"])

    response, other = (answered(r) for r in run_all([lambda: _batch(app, papers, contract), meanwhile]))
    evidence.observed(f"an extraction of P0199 sent 1 s into the batch: {shown(other)}")
    assert other.status == 200 and other.elapsed_s <= 2.0, (
        f"an extraction sent while the batch ran answered {shown(other)}: other requests must not "
        "wait for a batch")
    items = _items(response, papers)
    codes = Counter(item.get("status") if item.get("status") == "ok" else item_code(item) for item in items)
    evidence.observed(f"{shown(response)}; items: {dict(codes)}")
    assert response.elapsed_s <= deadline_s + CLIENT_MARGIN_S, (
        f"the batch took {response.elapsed_s:.1f} s; it must answer within {deadline_s:g} s with "
        "whatever has finished")
    for item, paper_id in zip(items, papers, strict=True):
        if item.get("status") == "ok":
            problem = summary_problem(item, paper_id)
            assert problem is None, f"item {paper_id} is \"ok\" but {problem}"
        else:
            code = item_code(item)
            # An item may also end honestly before the deadline, on the app's own limits.
            assert item.get("status") == "error" and code in UNFINISHED_CODES, (
                f"item {paper_id} is {item.get('status')!r} with code {code!r}; an item not finished "
                "by the deadline is an error with code llm_timeout")
    still_open = closed_in_time(fake, None)
    assert not still_open, (
        f"the batch answered but left {len(still_open)} call(s) open: unfinished items' calls must "
        "be closed")


@check(exercise="batch", tag="correctness", points=2, time_limit_s=25, fresh_app=True,
       clauses=("batch.unknown-id-is-an-item", "batch.error-item-code",
                "batch.one-failure-never-fails-batch", "batch.ok-only-with-summary",
                "batch.items-follow-summary-rules", "batch.repeated-ids"))
def test_each_item_has_its_own_status(app, fake, evidence, contract):
    """A batch with an unknown id, a paper the provider rejects (400) and a paper both providers
    fail (503) answers 200: those items are errors with not_found, llm_rejected and
    llm_unavailable, the healthy items are their summaries, and no item is "ok" without one. A
    repeated id gets an item, and a call, of its own each time."""
    papers = ["P0081", "P9999", "P0082", "P0083", "P0084", "P0081"]
    script(fake, [rule(fault("http_error", status=400), times=None, paper_id="P0082"),
                  rule(fault("http_error", status=503), times=None, paper_id="P0083")])
    evidence.injected("a batch of P0081 (healthy), P9999 (no such paper), P0082 (every call 400), "
                      "P0083 (every call 503, any provider), P0084 (healthy), P0081 again")
    response = answered(_batch(app, papers, contract))
    items = _items(response, papers)
    rows = evidence.ledger()
    evidence.observed(f"{shown(response)}; items: " + ", ".join(
        f"{i.get('paper_id')} {i.get('status')} {item_code(i) or ''}".strip()
        for i in items))
    for paper_id in ("P0082", "P0083"):
        evidence.observed(f"{paper_id}: {attempts_text(calls(rows, paper_id))}")
    expected = {"P9999": "not_found", "P0082": "llm_rejected", "P0083": "llm_unavailable"}
    for item in items:
        paper_id = item["paper_id"]
        if paper_id in expected:
            code = item_code(item)
            assert item.get("status") == "error" and code == expected[paper_id], (
                f"item {paper_id} is {item.get('status')!r} with code {code!r}; it should be an error "
                f"with code {expected[paper_id]}")
        else:
            problem = summary_problem(item, paper_id) if item.get("status") == "ok" else \
                f"status {item.get('status')!r}"
            assert problem is None, f"healthy item {paper_id}: {problem}"
    repeated = calls(rows, "P0081")
    assert len(repeated) >= 2, (
        f"P0081 is asked for twice, so it gets two items and a summary call for each; the app made "
        f"{len(repeated)} call(s) for it")


@check(from_level="realistic", exercise="batch", tag="concurrency", points=2, time_limit_s=25,
       clauses=("batch.cap-per-batch", "batch.others-dont-wait", "batch.in-flight-cap"))
def test_a_second_batch_does_not_wait_for_the_first(app, fake, evidence, contract):
    """A batch of 8 papers whose calls take 1.2 s (a slow model every app must still answer)
    keeps its 4 slots busy for 2.4 s; a second batch of 4 fast papers, sent once the first one's
    calls are in flight, has slots of its own (the cap is per batch, and other requests don't wait
    for a batch): at some moment the two batches have more than 4 calls in flight between them.
    Both answer with their summaries, and neither has more than 4 calls in flight."""
    cap = contract["max_in_flight"]
    first, second = paper_range(121, 2 * cap), paper_range(201, cap)
    script(fake, [rule(fault("latency", delay_ms=1200), times=None, task="summary", paper_id=p)
                  for p in first] + [rule(fault("latency", delay_ms=100), times=None, task="summary")])
    evidence.injected(f"a batch of {len(first)} papers {first[0]}..{first[-1]} (every call takes 1.2 s); "
                      f"once its calls are in flight, a batch of {', '.join(second)} (every call takes "
                      "100 ms)")

    def second_batch() -> Any:
        started = time.monotonic()
        while time.monotonic() - started < 2.0:
            if sum(1 for r in calls(fake.admin.ledger(), task="summary")
                   if set(r.get("paper_ids") or []) & set(first)) >= cap:
                break
            time.sleep(0.02)
        return _batch(app, second, contract)

    one, two = (answered(r) for r in run_all([lambda: _batch(app, first, contract), second_batch]))
    rows = calls(evidence.ledger(), task="summary")
    first_rows = [r for r in rows if set(r.get("paper_ids") or []) & set(first)]
    second_rows = [r for r in rows if set(r.get("paper_ids") or []) & set(second)]
    evidence.observed(f"first batch: {shown(one)}; {attempts_text(first_rows)}")
    evidence.observed(f"second batch: {shown(two)}; {attempts_text(second_rows)}")
    for label, response, papers, own in (("first", one, first, first_rows),
                                         ("second", two, second, second_rows)):
        items = _items(response, papers)
        wrong = _wrong_items(items, papers)
        assert not wrong, f"the {label} batch: {len(wrong)} item(s) are not the right summary: {wrong[0]}"
        assert max(_overlap(own), default=0) <= cap, (
            f"the {label} batch had {max(_overlap(own))} calls in flight at once; its cap is {cap}")
    both = _overlap(first_rows + second_rows)
    evidence.observed(f"the two batches' calls in flight at each arrival: {both}")
    assert max(both, default=0) > cap, (
        f"the two batches never had more than {max(both, default=0)} calls in flight between them: "
        "the second batch's calls waited for the first batch's slots; the cap is per batch request "
        f"(two batches may have {2 * cap} calls in flight), and other requests don't wait for a batch")
