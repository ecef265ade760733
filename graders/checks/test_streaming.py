"""Streaming: the summary streams as SSE (delta events, then exactly one done or error); the first
event within 2.0 s of arrival, an upstream silence over 1.5 s ends it with llm_timeout, a dropped,
cut, corrupt or failed upstream stream ends it with llm_incomplete, and `done` only follows the
whole summary. Before the first text the app may retry (at most 4 attempts), never after it."""

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
    closed_in_time,
    fake_now,
    fault,
    rule,
    run_all,
    script,
    shown,
    status_text,
    stream_ending,
    stream_text,
    summary_problem,
)

STREAM = "/summaries/stream"


def _stream(app: Any, paper_id: str, timeout_s: float = 15.0) -> Any:
    return app.stream(STREAM, {"paper_id": paper_id}, timeout_s=timeout_s)


def _describe(events: Any) -> str:
    kinds = [event for event, _ in events]
    first = f", first event at {events[0].at_s:.2f} s" if events else ""
    ending = stream_ending(events)
    end = ending if isinstance(ending, str) else " ".join(x for x in ending if x)
    return f"status {events.status}, {kinds.count('delta')} deltas{first}, ended: {end}"


def _ends_with_error(events: Any, code: str | tuple[str, ...], what: str) -> None:
    """Assert that a stream ended with exactly one error event with ``code`` (or one of the
    codes) and no done."""
    assert events.status == 200, f"{what}: the stream answered {shown(events)} instead of an SSE stream"
    ending = stream_ending(events)
    assert not isinstance(ending, str), f"{what}: {ending}"
    assert ending[0] != "done", (
        f"{what}: the stream ended with done after {len(stream_text(events))} characters: a broken "
        "summary was presented as complete")
    codes = (code,) if isinstance(code, str) else code
    assert ending[1] in codes, (
        f"{what}: the stream ended with an error event {ending[1]!r}, not {' or '.join(codes)}")


@check(exercise="streaming", tag="correctness", points=1, time_limit_s=20,
       clauses=("streaming.bad-requests-json",))
def test_bad_stream_requests_are_plain_json_errors(app, fake, evidence):
    """An unknown paper is 404 not_found and a body without paper_id is 400 bad_request, as plain
    JSON errors before any stream starts and before any model call."""
    script(fake)
    evidence.injected("POST /summaries/stream for P9999, and with an empty body")
    for body, status, code in (({"paper_id": "P9999"}, 404, "not_found"), ({}, 400, "bad_request")):
        events = app.stream(STREAM, body, timeout_s=10.0)
        evidence.observed(f"{body}: {shown(events)}, {len(events)} events")
        assert events.status == status and events.code == code and not len(events), (
            f"POST {STREAM} with {body} answered {status_text(events)} "
            f"({len(events)} events) instead of a plain {status} {code}")
    assert not evidence.ledger(), "a stream request that was invalid reached the model"


@check(exercise="streaming", tag="streaming", points=2, time_limit_s=20,
       clauses=("streaming.deltas-forwarded", "streaming.one-ending", "streaming.done-usage",
                "streaming.complete-definition"))
def test_healthy_stream_is_complete(app, fake, evidence, contract):
    """On a healthy model the summary arrives as several delta events and exactly one done at the
    end, carrying provider, model and usage; the deltas add up to the whole summary."""
    paper_id = "P0121"
    script(fake)
    evidence.injected(f"no fault; a streamed summary of {paper_id}")
    events = answered(_stream(app, paper_id))
    evidence.observed(_describe(events))
    assert events.status == 200, f"the stream answered {shown(events)}"
    assert stream_ending(events) == ("done", None), f"a healthy stream: {stream_ending(events)}"
    deltas = [data for event, data in events if event == "delta"]
    assert len(deltas) >= 2, "the summary came as a single event: it should flow as the model writes"
    problem = summary_problem({"paper_id": paper_id, "summary": stream_text(events)}, paper_id)
    assert problem is None, f"the streamed summary: {problem}"
    done = events[-1].data
    assert isinstance(done, dict) and done.get("provider") and done.get("model") and \
        isinstance(done.get("usage"), dict), f"the done event lacks provider, model or usage: {done}"
    assert events[0].at_s <= contract["first_event_s"] + CLIENT_MARGIN_S, (
        f"the first event came {events[0].at_s:.1f} s after the request")


@check(exercise="streaming", tag="timeouts", points=4, time_limit_s=20,
       clauses=("streaming.first-event", "streaming.failures-are-events"))
def test_slow_first_token_ends_with_llm_timeout_in_time(app, fake, evidence, contract):
    """When the model sends nothing for 20 s (10x the 2.0 s limit), the first event the user gets
    is an error llm_timeout, within the limit; the call to the model is closed."""
    first_event_s = contract["first_event_s"]
    paper_id = "P0122"
    script(fake, [rule(fault("slow_first_token", delay_ms=20_000), times=None, paper_id=paper_id)])
    evidence.injected(f"every stream for {paper_id} waits 20 s before its first token")
    events = answered(_stream(app, paper_id, timeout_s=first_event_s + 4.0))
    rows = calls(evidence.ledger(), paper_id)
    evidence.observed(f"{_describe(events)}; {attempts_text(rows)}")
    assert len(events) and events[0].at_s <= first_event_s + 1.5, (
        f"the user waited {events[0].at_s if len(events) else events.elapsed_s:.1f} s for a first event; "
        f"it must come within {first_event_s:g} s")
    assert events[0].event == "error", (
        f"the first event is {events[0].event!r}; with no text after {first_event_s:g} s it should be "
        "an error llm_timeout")
    _ends_with_error(events, "llm_timeout", "a stream whose first token never came")
    still_open = closed_in_time(fake, paper_id)
    assert not still_open, f"the app gave up but left {len(still_open)} stream(s) to the model open"


@check(exercise="streaming", tag="timeouts", points=4, time_limit_s=25,
       clauses=("streaming.max-gap", "streaming.slow-steady-fine"))
def test_silence_mid_stream_ends_it_but_a_slow_steady_stream_completes(app, fake, evidence, contract):
    """A stream that stalls for 15 s (10x the 1.5 s gap limit) after 3 chunks ends with an error
    llm_timeout soon after the gap limit; a stream that drips a chunk every 300 ms (about 5 s in
    all) is not cut: it ends with done and the whole summary."""
    max_gap_s = contract["max_gap_s"]
    stalled, dripping = "P0123", "P0124"
    script(fake, [rule(fault("stall", after_chunks=3, pause_ms=15_000), times=None, paper_id=stalled),
                  rule(fault("drip", chunk_interval_ms=300), times=None, paper_id=dripping)])
    evidence.injected(f"the stream for {stalled} pauses 15 s after 3 chunks; the stream for "
                      f"{dripping} sends a chunk every 300 ms")
    stall_events, drip_events = (answered(r) for r in run_all([
        lambda: _stream(app, stalled, timeout_s=12.0), lambda: _stream(app, dripping, timeout_s=20.0)]))
    evidence.observed(f"stall: {_describe(stall_events)}")
    evidence.observed(f"drip: {_describe(drip_events)}, lasting {drip_events.elapsed_s:.1f} s")
    _ends_with_error(stall_events, "llm_timeout", "a stream that went silent for 15 s")
    deltas = [e for e in stall_events if e.event == "delta"]
    quiet_from = deltas[-1].at_s if deltas else 0.0
    waited = stall_events[-1].at_s - quiet_from
    assert waited <= max_gap_s + 1.5, (
        f"the upstream went silent, and the user waited {waited:.1f} s before the error; silence over "
        f"{max_gap_s:g} s should end the stream")
    assert stream_ending(drip_events) == ("done", None), (
        f"a slow but steady stream (a chunk every 300 ms) was cut: {stream_ending(drip_events)}; only a "
        f"silence over {max_gap_s:g} s should end a stream")
    problem = summary_problem({"paper_id": dripping, "summary": stream_text(drip_events)}, dripping)
    assert problem is None, f"the slow stream's summary: {problem}"
    deltas = [e for e in drip_events if e.event == "delta"]
    assert len(deltas) >= 2 and deltas[0].at_s <= drip_events[-1].at_s - 2.0, (
        "the slow stream's text reached the user only at the end: deltas must be forwarded as they arrive")


def _one_attempt(rows: list[dict[str, Any]], events: Any, what: str) -> None:
    if any(event == "delta" for event, _ in events):
        assert len(rows) == 1, (
            f"{what}: text had reached the user, yet the app called the model {len(rows)} times (a "
            "restart makes the user read the beginning twice)")


def _each_ends_with_llm_incomplete(app: Any, evidence: Any, cases: list[tuple[str, str]]) -> None:
    """Stream every case's paper at once (``cases``: paper id, what is wrong with its upstream);
    assert, case by case, that each stream ended with an error llm_incomplete and was not
    restarted once text had reached the user."""
    results = run_all([lambda p=p: _stream(app, p) for p, _ in cases])
    for (paper_id, what), result in zip(cases, results, strict=True):
        events, rows = answer_and_calls(evidence, f"{what} ({paper_id})", paper_id, result, _describe)
        _ends_with_error(events, "llm_incomplete", what)
        _one_attempt(rows, events, what)


@check(exercise="streaming", tag="streaming", points=2, time_limit_s=20,
       clauses=("streaming.dropped-or-no-finish", "streaming.done-only-complete",
                "streaming.never-restart", "streaming.one-ending", "retries.stream-before-first-text"))
def test_dropped_or_cut_upstream_ends_with_llm_incomplete(app, fake, evidence):
    """An upstream connection dropped after 3 chunks, and an upstream stream that ends cleanly but
    early (no finish reason), each end the user's stream with an error llm_incomplete, never with
    done, and are not restarted once text reached the user."""
    dropped, truncated = "P0125", "P0126"
    script(fake, [rule(fault("disconnect", after_chunks=3), times=None, paper_id=dropped),
                  rule(fault("truncate", keep_fraction=0.5), times=None, paper_id=truncated)])
    evidence.injected(f"the stream for {dropped} is cut after 3 chunks (connection closed); the stream "
                      f"for {truncated} stops half-way without a finish reason")
    _each_ends_with_llm_incomplete(app, evidence, [(dropped, "a dropped stream"),
                                                   (truncated, "a stream cut short")])


# Every way the fake ends a whole upstream stream but stop and [DONE]: (paper, stream_end
# parameters, the codes the brief allows, what it is). A content filter is a finish reason other
# than stop, and a refusal of a kind too: llm_invalid_output is as honest as llm_incomplete.
_INCOMPLETE = ("llm_incomplete",)
_ENDINGS = (
    ("P0138", {"end_marker": False}, _INCOMPLETE,
     "a stream with finish reason stop that ended without [DONE]"),
    ("P0139", {"finish_reason": None}, _INCOMPLETE,
     "a stream whose whole text ended with [DONE] but no finish reason"),
    ("P0140", {"finish_reason": None, "end_marker": False}, _INCOMPLETE,
     "a stream whose whole text ended with neither a finish reason nor [DONE]"),
    ("P0141", {"finish_reason": "length"}, _INCOMPLETE,
     "a stream that ended with finish reason length and [DONE]"),
    ("P0142", {"finish_reason": "content_filter"}, ("llm_incomplete", "llm_invalid_output"),
     "a stream that ended with finish reason content_filter and [DONE]"),
)


@check(exercise="streaming", tag="streaming", points=2, time_limit_s=25,
       clauses=("streaming.complete-definition", "streaming.other-finish-reason",
                "streaming.dropped-or-no-finish", "streaming.done-only-complete",
                "streaming.never-restart"))
def test_only_stop_then_done_marker_is_complete(app, fake, evidence):
    """Every upstream stream carries the whole summary and ends cleanly; only the one with finish
    reason stop followed by [DONE] ends with done. A stop without [DONE], a [DONE] without a
    finish reason, neither, and a finish reason length each end the user's stream with an error
    llm_incomplete (content_filter: llm_incomplete or llm_invalid_output), and are not restarted
    once text reached the user."""
    complete = "P0137"
    script(fake, [rule(fault("stream_end"), times=None, paper_id=complete)]
           + [rule(fault("stream_end", **params), times=None, paper_id=paper_id)
              for paper_id, params, _, _ in _ENDINGS])
    evidence.injected(f"every stream sends the whole summary, then ends: {complete} with finish "
                      "reason stop and [DONE]; " + "; ".join(f"{paper_id}: {what}"
                                                            for paper_id, _, _, what in _ENDINGS))
    # A failed call counts towards the breaker (5 in a row open it): a complete stream before,
    # between and after the broken ones keeps the count low, for this check and the next.
    broken = [(p, codes, what) for p, _, codes, what in _ENDINGS]
    for group in (broken[:3], broken[3:], []):
        events, _ = answer_and_calls(evidence, f"stop and [DONE] ({complete})", complete,
                                     _stream(app, complete), _describe)
        problem = summary_problem({"paper_id": complete, "summary": stream_text(events)}, complete)
        assert stream_ending(events) == ("done", None) and problem is None, (
            f"a stream with finish reason stop and [DONE] is complete; it ended "
            f"{stream_ending(events)} and {problem or 'the summary was whole'}")
        results = run_all([lambda p=p: _stream(app, p) for p, _, _ in group])
        for (paper_id, codes, what), result in zip(group, results, strict=True):
            events, rows = answer_and_calls(evidence, f"{what} ({paper_id})", paper_id, result,
                                            _describe)
            _ends_with_error(events, codes, what)
            _one_attempt(rows, events, what)


@check(exercise="streaming", tag="streaming", points=2, time_limit_s=20,
       clauses=("streaming.unparseable-chunk", "streaming.mid-stream-error", "streaming.done-only-complete"))
def test_corrupt_chunk_or_upstream_error_ends_with_llm_incomplete(app, fake, evidence):
    """An upstream chunk that cannot be parsed, and an error event in the middle of the upstream
    stream, each end the user's stream with an error llm_incomplete, never with done."""
    corrupt, failing = "P0127", "P0128"
    script(fake, [rule(fault("corrupt_chunk", chunk_index=2), times=None, paper_id=corrupt),
                  rule(fault("error_event", after_chunks=3), times=None, paper_id=failing)])
    evidence.injected(f"the 3rd chunk of the stream for {corrupt} is cut-off JSON; the stream for "
                      f"{failing} carries an error event after 3 chunks")
    _each_ends_with_llm_incomplete(app, evidence, [(corrupt, "a stream with a corrupt chunk"),
                                                   (failing, "a stream with an upstream error")])


@check(exercise="streaming", tag="streaming", points=1, time_limit_s=20,
       clauses=("streaming.user-leaves",))
def test_leaving_user_closes_the_upstream_stream(app, fake, evidence):
    """When the user disconnects after the first delta, the app closes its stream to the model
    (within a second) instead of reading it to the end."""
    paper_id = "P0129"
    script(fake, [rule(fault("drip", chunk_interval_ms=300), times=None, paper_id=paper_id)])
    evidence.injected(f"the stream for {paper_id} sends a chunk every 300 ms (about 5 s); the user "
                      "leaves after the first delta")
    events = app.stream(STREAM, {"paper_id": paper_id}, timeout_s=10.0, until=lambda event: True)
    assert events.status == 200, f"the stream answered {shown(events)}"
    left_s = fake_now(fake)
    deadline = time.monotonic() + 3.0
    rows = calls(evidence.ledger(), paper_id)
    while time.monotonic() < deadline and (not rows or rows[-1].get("finish_s") is None):
        time.sleep(0.1)
        rows = calls(evidence.ledger(), paper_id)
    evidence.observed(attempts_text(rows))
    assert rows, "the app never called the model"
    finish = rows[-1].get("finish_s")
    assert finish is not None and float(finish) - left_s <= 1.0, (
        "the user left, but the app kept reading the model's stream"
        + (f" for {float(finish) - left_s:.1f} s" if finish is not None else ""))


@check(exercise="streaming", tag="retries", points=2, time_limit_s=25,
       clauses=("streaming.retries-before-text", "streaming.before-stream-codes",
                "streaming.primary-only", "fallback.stream-never",
                "streaming.refusal", "streaming.break-before-text"))
def test_failures_before_the_first_text_are_retried_or_reported(app, fake, evidence, contract):
    """Before any text reached the user: one 503 is retried and the stream completes; a 400 ends
    the stream with error llm_rejected after one call; a refusal on every call ends it with error
    llm_invalid_output, and a connection dropped before the first chunk on every call with error
    llm_incomplete, each after at most 4 calls; two 503s and then a refusal on every call end it
    with error llm_invalid_output too (the last failure decides, also once the attempts are
    spent); a 503 on every call ends it with error llm_unavailable after at most 4 calls, none to
    the secondary provider."""
    cap = contract["max_attempts"]
    once, rejected, down = "P0131", "P0132", "P0133"
    refused, dropped, healthy, late_refused = "P0134", "P0135", "P0136", "P0137"
    script(fake, [rule(fault("http_error", status=503), times=1, paper_id=once),
                  rule(fault("http_error", status=400), times=None, paper_id=rejected),
                  rule(fault("http_error", status=503), times=None, paper_id=down),
                  rule(fault("refusal"), times=None, paper_id=refused),
                  rule(fault("disconnect", after_chunks=0), times=None, paper_id=dropped),
                  rule(fault("http_error", status=503), times=2, paper_id=late_refused),
                  rule(fault("refusal"), times=None, paper_id=late_refused)])
    evidence.injected(f"streams: {once} fails once with 503; {rejected} gets 400 on every call; "
                      f"{refused} is refused on every call; {dropped}'s connection drops before the "
                      f"first chunk on every call; {late_refused} gets 503 twice, then is refused on "
                      f"every call; {healthy} is healthy (no breaker stays counting); "
                      f"{down} gets 503 on every call (any provider); one at a time")
    events = answered(_stream(app, once))
    rows = calls(evidence.ledger(), once)
    evidence.observed(f"{once}: {_describe(events)}; {attempts_text(rows)}")
    problem = summary_problem({"paper_id": once, "summary": stream_text(events)}, once)
    assert stream_ending(events) == ("done", None) and problem is None, (
        f"a stream whose first call failed with a 503 should be retried and complete; it ended "
        f"{stream_ending(events)} and {problem or 'the summary was whole'}")
    cases = ((rejected, "llm_rejected", 1, "got 400"), (refused, "llm_invalid_output", cap, "was refused"),
             (dropped, "llm_incomplete", cap, "dropped before the first chunk"),
             (healthy, None, 1, "was healthy"),
             (late_refused, "llm_invalid_output", cap, "after two 503s was refused"),
             (down, "llm_unavailable", cap, "got 503"))
    for paper_id, code, allowed, what in cases:
        events = answered(_stream(app, paper_id, timeout_s=contract["first_event_s"] + 4.0))
        rows = calls(evidence.ledger(), paper_id)
        evidence.observed(f"{paper_id}: {_describe(events)}; {attempts_text(rows)}")
        if code is None:
            continue
        _ends_with_error(events, code, f"a stream whose every call {what}")
        assert 1 <= len(rows) <= allowed, (
            f"stream of {paper_id}: {len(rows)} calls to the model; at most {allowed} allowed")
        assert all(r["provider"] == "openai" for r in rows), (
            "a stream was sent to the secondary provider; streams are served by the primary only")
