"""The review agent (POST /reviews): the model looks papers up with tools the app runs; the app
owns the loop (a step limit, re-asks for malformed calls, repeats not run again, one deadline and
one budget per review) and cites only papers fetched in the review.

How a check knows what the model did: the fake's simulated model follows a fixed policy (search
with the question, fetch the top two papers the search listed, then answer citing each fetched
paper as ``[P0042]``), and every question here names one paper's intervention, outcome and
population, so that paper is the search's clear first hit (by the fake's embeddings, whatever
text the app joins a paper's title and abstract with). The ledger shows the rest: one ``chat``
row per model step, one ``embed`` row per search. Faults aimed at the fetch step match the first
hit's paper id, which first appears in the conversation with the search's result.

Every check first sends one review with no fault, so the app's one-time corpus index is built
before the ledger window that the check judges.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from fake_llm.corpus import get_paper
from graders.checks.plugin import check
from graders.checks.scenario import (
    CLIENT_MARGIN_S,
    SERVER_MARGIN_S,
    attempts_text,
    closed_in_time,
    fault,
    honest_error,
    last_id,
    rule,
    script,
    shown,
    status_text,
    usage_problem,
)
from graders.harness.errors import AppFailure

CHAT = "chat"  # the task the fake reads in a review's model calls
EMBED = "embed"  # an embeddings call
# Papers whose question (see _question) finds them first by a wide margin.
TARGETS = ["P0152", "P0085", "P0046", "P0163", "P0038", "P0055", "P0036", "P0037", "P0089",
           "P0192", "P0207", "P0147"]
WARM_UP = "P0035"
UNKNOWN_PAPER = "P9999"  # a well-formed id the corpus does not hold
FETCHED_BY_THE_MODEL = 2  # the fake model fetches the top two papers a search lists
SLOW_STEP_MS = 1200  # a slow but healthy model step, well inside any sane attempt timeout
_MARKER = re.compile(r"\[(P\d+)\]")


def _question(paper_id: str) -> str:
    paper = get_paper(paper_id)
    assert paper is not None, f"grader bug: unknown paper {paper_id}"
    return f"Does {paper.intervention} change {paper.outcome} in {paper.population}?"


def _limit(contract: dict[str, Any]) -> float:
    return float(contract["review_deadline_s"]) + CLIENT_MARGIN_S


def _of(rows: list[dict[str, Any]], task: str) -> list[dict[str, Any]]:
    return [row for row in rows if row.get("task") == task]


def _cited(response: Any) -> list[Any]:
    """The paper ids of the answer's citations (anything else as it came)."""
    body = response.json if isinstance(response.json, dict) else {}
    citations = body.get("citations")
    if not isinstance(citations, list):
        return []
    return [c.get("paper_id") if isinstance(c, dict) else c for c in citations]


def _answer_text(response: Any) -> str:
    body = response.json if isinstance(response.json, dict) else {}
    text = body.get("answer")
    return text if isinstance(text, str) else ""


def _described(response: Any) -> str:
    if response.status != 200:
        return shown(response)
    return f"{shown(response)}, citations {_cited(response)}"


def _calls_text(rows: list[dict[str, Any]]) -> str:
    return (f"{len(_of(rows, CHAT))} model call(s), {len(_of(rows, EMBED))} embedding call(s); "
            + attempts_text(sorted(rows, key=lambda row: float(row["arrival_s"]))))


def _review(app: Any, fake: Any, evidence: Any, label: str, body: dict[str, Any],
            limit_s: float) -> tuple[Any, list[dict[str, Any]]]:
    """POST /reviews; the answer (an AppFailure propagates: a fail) and the review's ledger rows."""
    before = last_id(fake)
    response = app.post("/reviews", body, timeout_s=limit_s)
    rows = [row for row in evidence.ledger() if int(row["id"]) > before]
    evidence.observed(f"{label}: {_described(response)}; {_calls_text(rows)}")
    return response, rows


def _warm_up(app: Any, fake: Any, contract: dict[str, Any]) -> None:
    """One review with no fault, so the corpus index exists before the check's own reviews."""
    script(fake)
    with contextlib.suppress(AppFailure):  # the check's own reviews will show what is wrong
        app.post("/reviews", {"question": _question(WARM_UP)}, timeout_s=_limit(contract) + 30.0)


def _listed_by_the_search(rows: list[dict[str, Any]]) -> list[str] | None:
    """The paper ids the model's first step after the search's embedding call was shown (the
    fake's ledger names the ids in a call's conversation: here, the search's result), or None."""
    ordered = sorted(rows, key=lambda row: float(row["arrival_s"]))
    embeds = [i for i, row in enumerate(ordered) if row.get("task") == EMBED]
    after = [row for row in ordered[embeds[0] + 1:] if row.get("task") == CHAT] if embeds else []
    return list(dict.fromkeys(after[0].get("paper_ids") or ())) if after else None


def _citation_problem(response: Any, must_cite: str | None = None,
                      must_not_cite: str | None = None) -> str | None:
    """Why a 200 review's citations are wrong, or None."""
    cited = _cited(response)
    text = _answer_text(response)
    if not re.search(r"\w", text):
        return "the answer is empty"
    if len(cited) != len(set(map(str, cited))) or not all(isinstance(c, str) for c in cited):
        return f"citations are not each cited paper id once: {cited}"
    markers = list(dict.fromkeys(_MARKER.findall(text)))
    if markers != cited:
        return (f"the answer's markers {markers} are not the citations {cited} (each cited paper "
                "once, in order of first use)")
    if must_not_cite is not None and must_not_cite in cited:
        return f"it cites {must_not_cite}, which the app never fetched (the model's call was malformed)"
    if must_cite is not None and must_cite not in cited:
        return f"it does not cite {must_cite}, the search's first hit, which the model fetched"
    return None


@check(exercise="agent", tag="correctness", points=2, time_limit_s=60,
       clauses=("agent.search-by-embedding", "agent.fetch-local", "agent.run-every-call",
                "agent.cite-only-fetched", "agent.index-not-the-reviews"))
def test_a_review_cites_the_papers_it_fetched(app, fake, evidence, contract):
    """With no fault, a review finds the paper its question is about (embedding search), fetches
    the model's two papers (no call to the provider), and cites exactly them, each once; one
    embedding call for the one search."""
    _warm_up(app, fake, contract)
    target = TARGETS[0]
    evidence.injected(f"no fault; a question about {target}'s intervention, outcome and population")
    response, rows = _review(app, fake, evidence, "review", {"question": _question(target)},
                             _limit(contract))
    assert response.status == 200, f"a review with no fault answered {status_text(response)}"
    problem = _citation_problem(response, must_cite=target)
    assert problem is None, f"the review's answer: {problem}"
    cited = _cited(response)
    assert len(cited) == FETCHED_BY_THE_MODEL, (
        f"the model fetched {FETCHED_BY_THE_MODEL} papers and cited both, but the review cites "
        f"{cited} (a call of a reply not run?)")
    other = [row for row in rows if row.get("task") not in (CHAT, EMBED)]
    embeds = _of(rows, EMBED)
    assert not other, f"the review made calls that are neither model steps nor embeddings: {other[:2]}"
    assert len(embeds) == 1, (
        f"one search needs one embedding call (the corpus is indexed once, papers are fetched "
        f"locally); the review made {len(embeds)}")
    listed = _listed_by_the_search(rows)
    assert listed is not None, "no model step followed the search's embedding call"
    assert len(listed) == contract["search_results"] and target in listed, (
        f"a search returns the {contract['search_results']} nearest papers, the first hit "
        f"{target} among them; the model's step after the search was shown {len(listed)}: {listed}")


@check(exercise="agent", tag="correctness", points=1, time_limit_s=60,
       clauses=("agent.fetch-local", "agent.never-500"))
def test_a_fetch_of_a_paper_not_in_the_corpus_is_answered(app, fake, evidence, contract):
    """The question names a paper id the corpus does not hold, so the model fetches it: the
    fetch is a valid call whose result says the paper does not exist, the model answers, and the
    review is a 200 that cites nothing (never an error for the model's fetch)."""
    _warm_up(app, fake, contract)
    assert get_paper(UNKNOWN_PAPER) is None, f"grader bug: {UNKNOWN_PAPER} is in the corpus"
    evidence.injected(f"no fault; the question names {UNKNOWN_PAPER}, which is not in the corpus, "
                      "so the model fetches it first")
    response, _ = _review(app, fake, evidence, "review",
                          {"question": f"What does paper {UNKNOWN_PAPER} find about sleep?"},
                          _limit(contract))
    assert response.status == 200, (
        f"a fetch of a paper not in the corpus is a valid call (its result says the paper does "
        f"not exist), but the review answered {status_text(response)}")
    assert re.search(r"\w", _answer_text(response)), "the answer is empty"
    cited = _cited(response)
    assert UNKNOWN_PAPER not in cited, f"it cites {UNKNOWN_PAPER}, which does not exist: {cited}"


@check(exercise="agent", tag="correctness", points=2, time_limit_s=60,
       clauses=("agent.cite-only-fetched", "agent.empty-answer", "agent.never-500"))
def test_only_fetched_papers_are_cited(app, fake, evidence, contract):
    """The model's fetch of the first hit carries an unknown key (so the app must not run it), yet
    the model's answer cites that paper: its marker is removed and it is not a citation. An empty
    final answer is 502 llm_invalid_output, never a 200."""
    _warm_up(app, fake, contract)
    target = TARGETS[1]
    script(fake, [rule(fault("tool_args_schema", variant="extra_key"), times=1, task=CHAT,
                       paper_id=target)])
    evidence.injected(f"the model's fetch of {target} carries an extra key (a malformed call); "
                      f"its answer still cites [{target}]")
    response, _ = _review(app, fake, evidence, "review", {"question": _question(target)},
                          _limit(contract))
    assert response.status == 200, (
        f"one malformed fetch within the re-ask limit, then an answer, but the review answered "
        f"{status_text(response)}")
    problem = _citation_problem(response, must_not_cite=target)
    assert problem is None, f"the review's answer: {problem}"
    assert _cited(response), "the answer cites nothing, though the model fetched another paper"

    empty_target = TARGETS[2]
    script(fake, [rule(fault("empty_content"), times=None, task=CHAT)])
    evidence.injected(f"a review about {empty_target}: the model's final answer is empty")
    response, _ = _review(app, fake, evidence, "review with an empty answer",
                          {"question": _question(empty_target)}, _limit(contract))
    problem = honest_error(response, "llm_invalid_output")
    assert problem is None, f"an empty final answer: the review {problem}"


MALFORMED = {
    "arguments that are not JSON": fault("tool_args_not_json", variant="truncated"),
    "a missing argument": fault("tool_args_schema", variant="missing_key"),
    "an unknown tool name": fault("tool_unknown_name"),
}


@check(exercise="agent", tag="parsing", points=3, time_limit_s=90,
       clauses=("agent.malformed-not-run", "agent.malformed-reask", "agent.run-every-call",
                "agent.never-500"))
def test_a_malformed_tool_call_is_re_asked(app, fake, evidence, contract):
    """The model's fetch of the first hit is malformed once (arguments not JSON, a missing
    argument, an unknown tool: one review each): the app answers it with a re-ask, the model
    fetches the paper properly, and the review cites it."""
    _warm_up(app, fake, contract)
    failures = []
    for (name, spec), target in zip(MALFORMED.items(), TARGETS[3:], strict=False):
        script(fake, [rule(spec, times=1, task=CHAT, paper_id=target)])
        evidence.injected(f"review about {target}: the fetch of {target} has {name}, once")
        response, rows = _review(app, fake, evidence, f"{name} ({target})",
                                 {"question": _question(target)}, _limit(contract))
        if response.status != 200:
            failures.append(f"{name}: answered {status_text(response)} instead of re-asking")
            continue
        problem = _citation_problem(response, must_cite=target)
        if problem is not None:
            failures.append(f"{name}: {problem}")
        elif len(_of(rows, EMBED)) != 1:
            failures.append(f"{name}: {len(_of(rows, EMBED))} embedding calls for one search")
    assert not failures, "; ".join(failures)


@check(exercise="agent", tag="parsing", points=2, time_limit_s=60,
       clauses=("agent.malformed-reask", "agent.malformed-then-502"))
def test_persistently_malformed_calls_end_in_502(app, fake, evidence, contract):
    """Every fetch the model sends has arguments that are not JSON: after the re-asks the brief
    allows, the next malformed reply ends the review with 502 llm_invalid_output: one search step
    plus re-asks + 1 malformed replies, no more."""
    _warm_up(app, fake, contract)
    target = TARGETS[6]
    script(fake, [rule(fault("tool_args_not_json", variant="truncated"), times=None, task=CHAT,
                       paper_id=target)])
    evidence.injected(f"every fetch of {target} has arguments that are not JSON")
    response, rows = _review(app, fake, evidence, "review", {"question": _question(target)},
                             _limit(contract))
    problem = honest_error(response, "llm_invalid_output")
    assert problem is None, f"with every fetch malformed, the review {problem}"
    expected = 1 + contract["max_tool_reasks"] + 1
    steps = len(_of(rows, CHAT))
    assert steps == expected, (
        f"the search, then {contract['max_tool_reasks']} re-asks and one more malformed reply: "
        f"{expected} model calls; the review made {steps}")


@check(exercise="agent", tag="correctness", points=2, time_limit_s=60,
       clauses=("agent.step-limit", "agent.repeat-not-run"))
def test_a_looping_model_stops_at_the_step_limit(app, fake, evidence, contract):
    """After its search, the model repeats the same search call without end: the app never runs
    it again (one embedding call) and stops at the step limit with 502 agent_stuck."""
    _warm_up(app, fake, contract)
    target = TARGETS[7]
    script(fake, [rule(fault("tool_loop"), times=None, task=CHAT)])
    evidence.injected("after the first call, the model repeats its last call without end")
    response, rows = _review(app, fake, evidence, "review", {"question": _question(target)},
                             _limit(contract))
    problem = honest_error(response, "agent_stuck")
    assert problem is None, f"a model looping for ever: the review {problem}"
    steps, embeds = len(_of(rows, CHAT)), len(_of(rows, EMBED))
    assert steps == contract["max_steps"], (
        f"at most {contract['max_steps']} steps, and the loop only ends there: the review made "
        f"{steps} model calls")
    assert embeds == 1, f"the repeated search was run again: {embeds} embedding calls, not 1"


@check(exercise="agent", tag="correctness", points=1, time_limit_s=60,
       clauses=("agent.run-every-call", "agent.repeat-not-run"))
def test_copies_of_one_call_in_one_reply_run_once(app, fake, evidence, contract):
    """The model sends its search twice in one reply (two ids, same arguments): the app answers
    both, runs the search once, and the review goes on to its answer."""
    _warm_up(app, fake, contract)
    target = TARGETS[8]
    script(fake, [rule(fault("tool_parallel_calls", copies=2), times=1, task=CHAT)])
    evidence.injected("the model's first reply holds the same search call twice")
    response, rows = _review(app, fake, evidence, "review", {"question": _question(target)},
                             _limit(contract))
    assert response.status == 200, f"the review answered {status_text(response)}"
    problem = _citation_problem(response, must_cite=target)
    assert problem is None, f"the review's answer: {problem}"
    embeds = len(_of(rows, EMBED))
    assert embeds == 1, f"two copies of one search call: run once, but {embeds} embedding calls"


@check(exercise="agent", tag="timeouts", points=3, time_limit_s=60,
       clauses=("agent.deadline", "agent.deadline-closes-call"))
def test_a_slow_looping_model_is_cut_off_at_the_deadline(app, fake, evidence, contract):
    """Every model step takes 1.2 s and the model loops after its search: the review answers 504
    llm_timeout by its deadline, no call starts after it, and the call in flight is closed."""
    _warm_up(app, fake, contract)
    target = TARGETS[9]
    slow = fault("latency", delay_ms=SLOW_STEP_MS)
    script(fake, [rule(slow, times=1, task=CHAT),
                  rule([fault("tool_loop"), slow], times=None, task=CHAT)])
    deadline_s = float(contract["review_deadline_s"])
    evidence.injected(f"every model step answers after {SLOW_STEP_MS} ms; after the search the "
                      f"model repeats its call without end (the step limit alone would take "
                      f"{contract['max_steps'] * SLOW_STEP_MS / 1000:.1f} s)")
    response, rows = _review(app, fake, evidence, "review", {"question": _question(target)},
                             _limit(contract))
    problem = honest_error(response, "llm_timeout")
    assert problem is None, f"a review slower than its deadline: the review {problem}"
    assert rows, "the review made no call at all"
    first = min(float(row["arrival_s"]) for row in rows)
    late = [row for row in rows if float(row["arrival_s"]) > first + deadline_s + SERVER_MARGIN_S]
    assert not late, (f"{len(late)} call(s) started more than {deadline_s} s after the review's "
                      f"first call")
    open_rows = closed_in_time(fake, None)
    assert not open_rows, f"{len(open_rows)} call(s) in flight at the deadline were left open"


@check(exercise="agent", tag="cost", points=2, time_limit_s=60,
       clauses=("agent.usage-counts-all", "agent.budget-stop", "agent.index-not-the-reviews"))
def test_the_budget_stops_a_review_before_its_next_call(app, fake, evidence, contract):
    """A review reports exactly the tokens of its steps and its search's embedding. The same
    review with a budget of its first step and its embedding stops before the next call: 402
    budget_exceeded, and no call starts once the spent tokens reach the budget."""
    _warm_up(app, fake, contract)
    target = TARGETS[10]
    body: dict[str, Any] = {"question": _question(target)}
    evidence.injected(f"no fault; a review about {target}, then the same with a small budget")
    response, rows = _review(app, fake, evidence, "review", body, _limit(contract))
    assert response.status == 200, f"a review with no fault answered {status_text(response)}"
    usage = response.json.get("usage") if isinstance(response.json, dict) else None
    problem = usage_problem(usage, rows)
    assert problem is None, f"the review's {problem}"
    ordered = sorted(rows, key=lambda row: float(row["arrival_s"]))
    assert len(ordered) >= 3, f"a review with no fault made only {len(ordered)} call(s)"
    budget = sum(int(row.get("tokens_in") or 0) + int(row.get("tokens_out") or 0)
                 for row in ordered[:2])
    evidence.injected(f"the same review with token_budget {budget} (its first two calls' tokens)")
    response, rows = _review(app, fake, evidence, f"review with token_budget {budget}",
                             {**body, "token_budget": budget}, _limit(contract))
    problem = honest_error(response, "budget_exceeded")
    assert problem is None, f"a review past its budget {problem}"
    spent = 0
    for index, row in enumerate(sorted(rows, key=lambda row: float(row["arrival_s"]))):
        assert index == 0 or spent < budget, (
            f"call {index + 1} started with {spent} of the {budget}-token budget already spent")
        spent += int(row.get("tokens_in") or 0) + int(row.get("tokens_out") or 0)


INVALID_BODIES: list[Any] = [
    {}, {"question": ""}, {"question": 42}, {"question": ["what?"]},
    {"question": "Does yoga help?", "token_budget": 0},
    {"question": "Does yoga help?", "token_budget": "500"},
    {"question": "Does yoga help?", "token_budget": 500.0},
    {"question": "Does yoga help?", "token_budget": True},
]


@check(exercise="agent", tag="correctness", points=1, time_limit_s=30,
       clauses=("agent.bad-request", "agent.budget-default"))
def test_invalid_review_bodies_are_refused(app, fake, evidence, contract):
    """No question, an empty or non-string question, and a token_budget that is not a positive
    JSON integer are each 400 bad_request, before any call."""
    _warm_up(app, fake, contract)
    before = last_id(fake)
    evidence.injected(f"{len(INVALID_BODIES)} invalid bodies")
    wrong = []
    for body in INVALID_BODIES:
        response = app.post("/reviews", body, timeout_s=10.0)
        if honest_error(response, "bad_request") is not None:
            wrong.append(f"{body}: {honest_error(response, 'bad_request')}")
    rows = [row for row in evidence.ledger() if int(row["id"]) > before]
    evidence.observed(f"{len(INVALID_BODIES) - len(wrong)} of {len(INVALID_BODIES)} refused with "
                      f"400 bad_request; {len(rows)} call(s) to the provider")
    assert not wrong, "; ".join(wrong)
    assert not rows, f"invalid bodies reached the provider ({len(rows)} calls)"


@check(exercise="agent", tag="retries", points=1, time_limit_s=60,
       clauses=("agent.step-retries",))
def test_a_transient_failure_of_a_step_is_retried(app, fake, evidence, contract):
    """The search's embedding call and the fetch step each fail once with a 503: both are
    retried and the review answers, citing the first hit."""
    _warm_up(app, fake, contract)
    target = TARGETS[11]
    script(fake, [rule(fault("http_error", status=503), times=1, task=EMBED),
                  rule(fault("http_error", status=503), times=1, task=CHAT, paper_id=target)])
    evidence.injected("the search's embedding call and the fetch step each fail once with 503")
    response, rows = _review(app, fake, evidence, "review", {"question": _question(target)},
                             _limit(contract))
    assert response.status == 200, (
        f"two transient failures, each retried once, but the review answered {status_text(response)}")
    problem = _citation_problem(response, must_cite=target)
    assert problem is None, f"the review's answer: {problem}"
    assert len(_of(rows, EMBED)) == 2, "the failed embedding call was not retried exactly once"
