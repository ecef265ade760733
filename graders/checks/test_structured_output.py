"""Structured output: extractions repair thin disguises of valid JSON without another call, re-ask
(at most 2 re-asks, 3 generations) for anything else, and answer 502 llm_invalid_output rather
than ever guessing a value; summaries and answers never come back empty, refused or cut short."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

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
    last_id,
    rule,
    run_all,
    script,
    shown,
    status_text,
    summary_problem,
)

# Papers whose sample size has four digits, so a string_number drift reads like "1,024".
BIG_SAMPLES = ["P0019", "P0020", "P0023", "P0024", "P0027", "P0031", "P0037", "P0038", "P0040",
               "P0041", "P0044", "P0045", "P0049", "P0050", "P0060", "P0061"]
REPAIRABLE = {
    "json_fences": fault("json_fences"),
    "json_prose_wrap": fault("json_prose_wrap"),
    "json_trailing_comma": fault("json_trailing_comma"),
    "json_single_quotes": fault("json_single_quotes"),
    "string_number": fault("schema_drift", variant="string_number"),
}
UNREPAIRABLE = {
    "json_truncated": fault("json_truncated"),
    "missing_key": fault("schema_drift", variant="missing_key"),
    "refusal": fault("refusal"),
    "empty_content": fault("empty_content"),
}


def _extract(app: Any, paper_id: str, limit_s: float) -> Any:
    return app.post("/extractions", {"paper_id": paper_id}, timeout_s=limit_s)


def _extract_each(app: Any, evidence: Any, cases: dict[str, str],
                  limit_s: float) -> Iterator[tuple[str, str, Any, list[dict[str, Any]]]]:
    """Extractions of every case's paper (``cases``: name -> paper id), sent at once when the
    iteration starts; then, case by case, its name, paper id, answer and calls, each observed as
    it is yielded."""
    results = run_all([lambda p=p: _extract(app, p, limit_s) for p in cases.values()])
    for (name, paper_id), result in zip(cases.items(), results, strict=True):
        yield name, paper_id, *answer_and_calls(evidence, f"{name} ({paper_id})", paper_id, result)


def _assert_re_asked_once(app: Any, evidence: Any, cases: dict[str, str], contract: dict[str, Any],
                          why: str) -> None:
    """Each case's first reply ``why``: the app asks again, and the good second reply gives the
    exact extraction, in 2 calls."""
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    for name, paper_id, response, rows in _extract_each(app, evidence, cases, limit_s):
        assert response.status == 200, (
            f"extraction of {paper_id}: after one reply with {name} the app answered "
            f"{status_text(response)} instead of asking the model again")
        problem = extraction_problem(response.json, paper_id)
        assert problem is None, f"extraction of {paper_id} after a reply with {name}: {problem}"
        assert len(rows) == 2, (
            f"extraction of {paper_id}: a reply with {name} {why}, so it must be re-asked (2 calls "
            f"with the good second reply); the app made {len(rows)} call(s)"
            + (", and used the guessed value" if len(rows) == 1 else ""))


@check(exercise="structured-output", tag="parsing", points=3, time_limit_s=20,
       clauses=("structured-output.repair-fence", "structured-output.repair-prose",
                "structured-output.repair-trailing-comma", "structured-output.repair-single-quotes",
                "structured-output.repair-sample-size-string", "structured-output.text-fields",
                "structured-output.sample-size-integer", "structured-output.effect-direction",
                "structured-output.extra-keys-ignored"))
def test_disguised_json_is_repaired_without_another_call(app, fake, evidence, contract):
    """A fenced reply, prose around the JSON, a trailing comma, single quotes, a sample size of
    "1,234", and keys the contract does not name (valued true, false, null, a number, a list, an
    object): each becomes the exact extraction (the ground truth) from that one reply."""
    faults = {**REPAIRABLE, "extra_keys": fault("schema_drift", variant="extra_keys")}
    cases = dict(zip(faults, BIG_SAMPLES, strict=False))
    script(fake, [rule(faults[name], times=1, paper_id=p) for name, p in cases.items()])
    evidence.injected("one extraction reply each: " + ", ".join(f"{n} ({p})" for n, p in cases.items()))
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    for name, paper_id, response, rows in _extract_each(app, evidence, cases, limit_s):
        assert response.status == 200, (
            f"a reply with {name} holds valid data in a thin disguise, but the extraction of "
            f"{paper_id} answered {status_text(response)}")
        problem = extraction_problem(response.json, paper_id)
        assert problem is None, f"extraction of {paper_id} from a reply with {name}: {problem}"
        assert len(rows) == 1, (
            f"extraction of {paper_id}: a reply with {name} can be repaired, but the app called the "
            f"model {len(rows)} times")


@check(from_level="realistic", exercise="structured-output", tag="parsing", points=2, time_limit_s=40,
       clauses=("structured-output.repair-fence", "structured-output.repair-prose",
                "structured-output.repair-trailing-comma", "structured-output.repair-single-quotes",
                "structured-output.repair-sample-size-string"))
def test_combined_disguises_are_repaired(app, fake, evidence, contract):
    """Generated combinations of the repairable disguises (hypothesis, derandomized: the same
    12 combinations every run) each become the exact extraction from one reply."""
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    tried: list[str] = []
    failures: list[str] = []

    @settings(max_examples=12, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(names=st.sets(st.sampled_from(sorted(REPAIRABLE)), min_size=2),
           paper_id=st.sampled_from(BIG_SAMPLES))
    def one(names: set[str], paper_id: str) -> None:
        combo = sorted(names)
        script(fake, [rule([REPAIRABLE[n] for n in combo], times=1, paper_id=paper_id)])
        since = last_id(fake)
        response = _extract(app, paper_id, limit_s)
        rows = calls(fake.admin.ledger(since), paper_id)
        label = f"{'+'.join(combo)} on {paper_id}"
        tried.append(label)
        problem = None
        if response.status != 200:
            problem = f"answered {status_text(response)}"
        else:
            problem = extraction_problem(response.json, paper_id)
        if problem is None and len(rows) != 1:
            problem = f"{len(rows)} calls instead of one"
        if problem is not None:
            failures.append(f"{label}: {problem}")

    one()
    evidence.injected(f"{len(tried)} extraction replies, each with several disguises at once")
    evidence.observed("tried: " + "; ".join(tried))
    if failures:
        evidence.observed("failed: " + "; ".join(failures))
    assert not failures, (
        f"{len(failures)} of {len(tried)} replies with combined disguises were not repaired into the "
        f"right extraction, e.g. {failures[0]}")


@check(exercise="structured-output", tag="parsing", points=2, time_limit_s=20,
       clauses=("structured-output.no-other-repair", "structured-output.length-is-invalid",
                "structured-output.values-from-reply", "structured-output.reask-limit"))
def test_unusable_reply_is_re_asked(app, fake, evidence, contract):
    """A reply cut at the length limit, one missing a key, a refusal and an empty reply are not
    guessed at: the app asks again, and the second (good) reply gives the exact extraction. So
    is a reply that stopped at the length limit though its JSON arrived whole (prose after the
    object was cut): it is invalid even if what arrived happens to parse."""
    cases = dict(zip(UNREPAIRABLE, ["P0062", "P0063", "P0064", "P0065"], strict=True))
    faults: dict[str, Any] = dict(UNREPAIRABLE)
    # Prose wrapped around the JSON, then the last 3 % of the text cut (finish reason length):
    # the cut falls inside the closing sentence, so the object itself arrives whole and parses.
    faults["length_limit_with_whole_json"] = [fault("json_prose_wrap"),
                                              fault("json_truncated", keep_fraction=0.97)]
    cases["length_limit_with_whole_json"] = "P0076"
    script(fake, [rule(faults[name], times=1, paper_id=p) for name, p in cases.items()])
    evidence.injected("the first extraction reply only: " +
                      ", ".join(f"{n} ({p})" for n, p in cases.items()))
    _assert_re_asked_once(app, evidence, cases, contract, "is unusable")


@check(exercise="structured-output", tag="parsing", points=2, time_limit_s=25, fresh_app=True,
       clauses=("structured-output.reask-limit", "structured-output.reask-is-attempt",
                "structured-output.values-from-reply",
                "structured-output.unreadable-200-not-a-generation",
                "structured-output.unreadable-200-last-failure", "cost.attempt-cap"))
def test_persistently_broken_output_is_an_honest_502(app, fake, evidence, contract):
    """When every reply is cut short, missing a key, refused or empty, the extraction is 502
    llm_invalid_output after at most 3 generations (never a guessed value); when every reply is a
    200 with an empty body, it is 502 llm_invalid_output too, after at most 4 calls (retries, if the
    app retries those; an unreadable body is no generation to re-ask); and after two 503s then
    replies cut short, the re-asks share the 4 attempts with the retries: 502 after at most 4 calls."""
    generations = contract["max_generations"]
    cases = dict(zip(UNREPAIRABLE, ["P0066", "P0067", "P0068", "P0069"], strict=True))
    cases["empty_body"] = "P0070"
    faults = {**UNREPAIRABLE, "empty_body": fault("empty_body")}
    mixed = "P0075"
    script(fake, [rule(faults[name], times=None, paper_id=p) for name, p in cases.items()]
           + [rule(fault("http_error", status=503), times=2, paper_id=mixed),
              rule(fault("json_truncated"), times=None, paper_id=mixed)])
    cases["503_twice_then_json_truncated"] = mixed
    evidence.injected("every extraction reply: " + ", ".join(f"{n} ({p})" for n, p in cases.items()))
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    for name, paper_id, response, rows in _extract_each(app, evidence, cases, limit_s):
        problem = honest_error(response, "llm_invalid_output")
        assert problem is None, f"extraction of {paper_id} when every reply has {name} {problem}"
        by_attempts = paper_id in ("P0070", mixed)
        allowed = contract["max_attempts"] if by_attempts else generations
        assert len(rows) <= allowed, (
            f"extraction of {paper_id}: {len(rows)} calls for replies with {name}; at most {allowed} "
            + ("attempts (first calls, retries and re-asks) are allowed" if by_attempts
               else "generations are allowed"))


@check(exercise="structured-output", tag="correctness", points=2, time_limit_s=25,
       clauses=("structured-output.text-honesty", "structured-output.text-reask-then-502",
                "structured-output.reask-limit", "cost.reask-limit-any-answer"))
def test_summaries_and_answers_are_never_empty_or_refused(app, fake, evidence, contract):
    """A refused summary or an empty answer, once, is asked again and answered with the real
    text; when every reply is empty or refused, the user gets 502 llm_invalid_output after at most
    3 generations, never a 200 with an empty text."""
    once_summary, once_answer, always_summary, always_answer = "P0071", "P0072", "P0073", "P0074"
    script(fake, [rule(fault("refusal"), times=1, paper_id=once_summary),
                  rule(fault("empty_content"), times=1, paper_id=once_answer),
                  rule(fault("empty_content"), times=None, paper_id=always_summary),
                  rule(fault("refusal"), times=None, paper_id=always_answer)])
    evidence.injected(f"summary of {once_summary}: refused once; answer over {once_answer}: empty "
                      f"once; summary of {always_summary}: always empty; answer over "
                      f"{always_answer}: always refused (any provider)")
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    question = "What did this trial find?"
    results = run_all([
        lambda: app.post("/summaries", {"paper_id": once_summary}, timeout_s=limit_s),
        lambda: app.post("/answers", {"question": question, "paper_ids": [once_answer]}, timeout_s=limit_s),
        lambda: app.post("/summaries", {"paper_id": always_summary}, timeout_s=limit_s),
        lambda: app.post("/answers", {"question": question, "paper_ids": [always_answer]},
                         timeout_s=limit_s),
    ])
    first, second, third, fourth = (answered(r) for r in results)
    for label, paper_id, response in (("summary", once_summary, first), ("answer", once_answer, second),
                                      ("summary", always_summary, third),
                                      ("answer", always_answer, fourth)):
        evidence.observed(f"{label} of {paper_id}: {shown(response)}; "
                          f"{attempts_text(calls(evidence.ledger(), paper_id))}")
    assert first.status == 200, (
        f"summary of {once_summary}: one refusal, then a good reply, but the app answered "
        f"{status_text(first)}")
    problem = summary_problem(first.json, once_summary)
    assert problem is None, f"summary of {once_summary} after a refusal: {problem}"
    answer = second.json.get("answer") if isinstance(second.json, dict) else None
    assert second.status == 200 and isinstance(answer, str) and answer.strip(), (
        f"answer over {once_answer}: one empty reply, then a good one, but the app answered "
        f"{status_text(second)}" + (" with an empty answer" if second.status == 200 else ""))
    for label, paper_id, response in (("summary", always_summary, third),
                                      ("answer", always_answer, fourth)):
        problem = honest_error(response, "llm_invalid_output")
        assert problem is None, (
            f"{label} of {paper_id}, when every reply is empty or refused, {problem}")
        generations = len(calls(evidence.ledger(), paper_id))
        assert generations <= contract["max_generations"], (
            f"{label} of {paper_id}: every reply was empty or refused, and the app asked "
            f"{generations} times; at most {contract['max_generations']} generations are allowed")


# Values no parser may convert, each one reply's drift: (fault, a paper whose truth it breaks).
# decimal_string needs a paper of 1,000 participants or more, so that it reads "1.024".
NOT_REPAIRABLE_VALUES = {
    "sample_size 1024.0": ("float_number", "P0200"),
    "sample_size 0": ("zero", "P0202"),
    "sample_size below 0": ("negative", "P0203"),
    "sample_size true": ("boolean", "P0204"),
    "sample_size \"1.024\"": ("decimal_string", "P0201"),
    "sample_size \"about 1000\"": ("approx_string", "P0205"),
    "effect_direction synonym (positive/negative/none)": ("effect_synonym", "P0206"),
    "effect_direction in another case (Increase)": ("effect_case", "P0207"),
    "another paper's extraction": ("other_paper", "P0208"),
}


@check(exercise="structured-output", tag="parsing", points=2, time_limit_s=20,
       clauses=("structured-output.wrong-type-not-repaired", "structured-output.same-paper",
                "structured-output.no-other-repair", "structured-output.sample-size-integer",
                "structured-output.effect-direction", "structured-output.values-from-reply"))
def test_wrong_values_are_re_asked_not_repaired(app, fake, evidence, contract):
    """A first reply whose sample_size is 1024.0, 0, negative, true, "1.024" or "about 1000",
    whose effect_direction is a synonym or in another case, or which is another paper's
    extraction, is valid JSON but not a valid extraction: no parser may convert it, so the app
    asks again and the second (good) reply gives the exact extraction, in 2 calls."""
    cases = {name: paper_id for name, (_, paper_id) in NOT_REPAIRABLE_VALUES.items()}
    script(fake, [rule(fault("schema_drift", variant=variant), times=1, paper_id=paper_id)
                  for variant, paper_id in NOT_REPAIRABLE_VALUES.values()])
    evidence.injected("the first extraction reply only: " +
                      ", ".join(f"{n} ({p})" for n, p in cases.items()))
    _assert_re_asked_once(app, evidence, cases, contract, "cannot be repaired without guessing")


@check(exercise="structured-output", tag="timeouts", points=1, time_limit_s=20,
       clauses=("structured-output.reask-deadline", "structured-output.reask-limit"))
def test_re_asks_stop_at_the_deadline(app, fake, evidence, contract):
    """Every extraction reply for P0209 is cut short and takes 1.6 s: two generations take 3.2 s,
    and a third cannot end inside the 4.0 s deadline, so the app answers 504 llm_timeout at its
    deadline (never a late answer, never more than 3 generations)."""
    paper_id, delay_ms = "P0209", 1600
    deadline_s = contract["deadline_s"]
    script(fake, [rule([fault("latency", delay_ms=delay_ms), fault("json_truncated")], times=None,
                       paper_id=paper_id)])
    evidence.injected(f"every extraction reply for {paper_id} is cut short and takes {delay_ms} ms")
    response, rows = answer_and_calls(
        evidence, f"extraction of {paper_id}", paper_id,
        run_all([lambda: _extract(app, paper_id, deadline_s + CLIENT_MARGIN_S)])[0])
    problem = honest_error(response, "llm_timeout")
    assert problem is None, (
        f"extraction of {paper_id}, when re-asks cannot finish inside the {deadline_s:g} s deadline, "
        f"{problem}")
    assert response.elapsed_s <= deadline_s + CLIENT_MARGIN_S, (
        f"the extraction took {response.elapsed_s:.1f} s; re-asks happen inside its {deadline_s:g} s")
    assert len(rows) <= contract["max_generations"], (
        f"{len(rows)} calls; at most {contract['max_generations']} generations are allowed")
    assert len(rows) >= 2, (
        f"the app gave up after {len(rows)} call(s) though a re-ask had time to finish")


@check(exercise="structured-output", tag="correctness", points=1, time_limit_s=30, fresh_app=True,
       clauses=("structured-output.reasks-not-retries", "structured-output.reask-limit"))
def test_re_asks_do_not_spend_the_retry_budget(app, fake, evidence, contract):
    """Four summaries, one after another, each failing its first three calls (503) then answered:
    their retries drain any app-wide retry budget. Then an extraction whose first two replies are
    cut short is still re-asked twice (re-asks are no retries) and gives the exact extraction."""
    drains = ["P0210", "P0211", "P0212", "P0213"]
    paper_id = "P0214"
    script(fake, [rule(fault("http_error", status=503), times=3, paper_id=p) for p in drains]
           + [rule(fault("json_truncated"), times=2, paper_id=paper_id)])
    evidence.injected(f"summaries of {', '.join(drains)} one after another, each failing its first 3 "
                      f"calls (503, any provider); then an extraction of {paper_id} whose first 2 "
                      "replies are cut short")
    limit_s = contract["deadline_s"] + CLIENT_MARGIN_S
    for drain in drains:
        answer_and_calls(evidence, f"summary of {drain}", drain,
                         run_all([lambda d=drain: app.post("/summaries", {"paper_id": d},
                                                           timeout_s=limit_s)])[0])
    response, rows = answer_and_calls(evidence, f"extraction of {paper_id}", paper_id,
                                      run_all([lambda: _extract(app, paper_id, limit_s)])[0])
    assert response.status == 200, (
        f"extraction of {paper_id}: after retries drained the retry budget, two cut-short replies "
        f"then a good one answered {status_text(response)}; re-asks must not draw on a retry budget")
    problem = extraction_problem(response.json, paper_id)
    assert problem is None, f"extraction of {paper_id}: {problem}"
    assert len(rows) == contract["max_generations"], (
        f"extraction of {paper_id}: two cut-short replies then a good one take "
        f"{contract['max_generations']} calls; the app made {len(rows)}")
