"""Citations: marker [n] stands for paper_ids[n-1]; markers outside 1..len(paper_ids) are removed
from the answer and never cited; citations are listed once each, in order of first use."""

from __future__ import annotations

from typing import Any

from graders.checks.plugin import check
from graders.checks.scenario import (
    CLIENT_MARGIN_S,
    answer_problem,
    answered,
    attempts_text,
    calls,
    fault,
    honest_error,
    marker_numbers,
    paper_range,
    rule,
    run_all,
    script,
    shown,
)

QUESTION = "What did these trials find?"


def _ask(app: Any, paper_ids: list[str], limit_s: float) -> Any:
    return app.post("/answers", {"question": QUESTION, "paper_ids": paper_ids}, timeout_s=limit_s)


@check(exercise="citations", tag="correctness", points=3, time_limit_s=20,
       clauses=("citations.numbering", "citations.marker-definition", "citations.valid-marker",
                "citations.one-per-marker-in-order", "citations.rest-unchanged"))
def test_each_marker_cites_the_paper_it_stands_for(app, fake, evidence):
    """Answers over 1, 3 and 12 sources: every citation maps [n] to paper_ids[n-1], each source
    once, in order of first use, and the answer text is the model's, unchanged."""
    source_sets = [["P0081"], ["P0082", "P0083", "P0084"], paper_range(85, 12)]
    script(fake)
    evidence.injected("no fault; the model cites every source once, in order ([1], [2], ...)")
    results = run_all([lambda ids=ids: _ask(app, ids, 10.0) for ids in source_sets])
    for ids, result in zip(source_sets, results, strict=True):
        response = answered(result)
        body = response.json if isinstance(response.json, dict) else {}
        cited = [(c.get("marker"), c.get("paper_id")) for c in body.get("citations") or []
                 if isinstance(c, dict)]
        evidence.observed(f"{len(ids)} source(s): {shown(response)}; citations {cited}")
        assert response.status == 200, f"an answer over {len(ids)} sources failed: {shown(response)}"
        problem = answer_problem(response.json, ids)
        assert problem is None, f"answer over {len(ids)} source(s) {ids[0]}..: {problem}"


@check(exercise="citations", tag="correctness", points=2, time_limit_s=20,
       clauses=("citations.invalid-removed", "citations.valid-marker", "citations.rest-unchanged"))
def test_markers_to_sources_not_given_are_removed(app, fake, evidence):
    """When the model cites sources that were not given ([4] and [5] over three papers, [2] over
    one, [13]..[15] over twelve), those markers vanish from the answer and the citations; every
    real citation stays, mapped to the right paper, and the model's cited sentences are kept."""
    cases = [(["P0101", "P0102", "P0103"], 2), (["P0104"], 1), (paper_range(105, 12), 3)]
    script(fake, [rule(fault("bad_citation", extra_markers=n), times=1, paper_id=ids[0])
                  for ids, n in cases], evidence=evidence)
    evidence.injected("answers over " + "; ".join(
        f"{len(ids)} source(s) from {ids[0]}, so the model cites "
        f"{', '.join(f'[{len(ids) + i}]' for i in range(1, n + 1))}" for ids, n in cases))
    results = run_all([lambda ids=ids: _ask(app, ids, 10.0) for ids, _ in cases])
    for (ids, extra), result in zip(cases, results, strict=True):
        response = answered(result)
        rows = calls(evidence.ledger(), ids[0])
        body = response.json if isinstance(response.json, dict) else {}
        text = body.get("answer") if isinstance(body.get("answer"), str) else ""
        evidence.observed(f"{len(ids)} source(s): {shown(response)}; markers in the answer "
                          f"{sorted(set(marker_numbers(text)))}; {attempts_text(rows)}")
        assert response.status == 200, (
            f"an answer over {len(ids)} source(s) with a citation to a missing source failed: "
            f"{shown(response)} (the invalid marker should be removed, not the answer)")
        cited = [c.get("marker") for c in body.get("citations") or [] if isinstance(c, dict)]
        invalid = [m for m in cited if not isinstance(m, int) or not 1 <= m <= len(ids)]
        assert not invalid, (
            f"the citations list markers {invalid} over {len(ids)} source(s): they point at no paper")
        problem = answer_problem(response.json, ids)
        assert problem is None, f"answer over {len(ids)} source(s) with {extra} invalid marker(s): {problem}"


@check(exercise="citations", tag="correctness", points=2, time_limit_s=20,
       clauses=("citations.bad-request", "citations.unknown-paper"))
def test_bad_questions_are_refused_before_any_model_call(app, fake, evidence, contract):
    """An empty question, no paper ids, a missing field or a non-list is 400 bad_request; an
    unknown paper id is 404 not_found; none of them reaches the model."""
    script(fake)
    bad = [{"question": "", "paper_ids": ["P0001"]}, {"question": QUESTION, "paper_ids": []},
           {"paper_ids": ["P0001"]}, {"question": QUESTION, "paper_ids": "P0001"}]
    unknown = [{"question": QUESTION, "paper_ids": ["P9999"]},
               {"question": QUESTION, "paper_ids": ["P0001", "P9998"]}]
    evidence.injected("POST /answers with: " + "; ".join(str(b) for b in bad + unknown))
    limit_s = 4.0 + CLIENT_MARGIN_S
    for body, code in [(b, "bad_request") for b in bad] + [(b, "not_found") for b in unknown]:
        response = app.post("/answers", body, timeout_s=limit_s)
        evidence.observed(f"{body}: {shown(response)}")
        problem = honest_error(response, code)
        assert problem is None, f"POST /answers with {body} {problem}"
    rows = evidence.ledger()
    assert not rows, f"invalid questions reached the model ({len(rows)} calls); they should be refused first"


# The model's answer over three sources, with invalid markers ([0], [4], [7], [12]) at the start,
# after one space, after two, after a line break, alone on a line, next to punctuation, glued to
# a valid marker and at the very end; and what is left once each goes with one space before it,
# if there is one. The ends of the answer may be trimmed: only the inside is compared.
_SPACED_ANSWER = ("[4] Peer tutoring helped [1].  [0] Effects were small,[7] but real [2].\n"
                  "[12] Older trials agree [3] [4].\n\n[0]\nSee also (ibid. [7]) and [2][4] [1]  [12]")
_SPACED_CLEAN = (" Peer tutoring helped [1].  Effects were small, but real [2].\n"
                 " Older trials agree [3].\n\n\nSee also (ibid.) and [2] [1] ")


def _answer_body(response: Any) -> tuple[str | None, list[Any] | None]:
    body = response.json if isinstance(response.json, dict) else {}
    text, citations = body.get("answer"), body.get("citations")
    return (text if isinstance(text, str) else None,
            citations if isinstance(citations, list) else None)


def _first_difference(got: str, want: str) -> str:
    """Where ``got`` first differs from ``want``, shown with escapes around that point."""
    at = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b),
              min(len(got), len(want)))
    return (f"at character {at}: {got[max(0, at - 20):at + 20]!r} where the model's text, less the "
            f"invalid markers, reads {want[max(0, at - 20):at + 20]!r}")


@check(exercise="citations", tag="parsing", points=2, time_limit_s=20,
       clauses=("citations.invalid-removed", "citations.rest-unchanged",
                "citations.one-per-marker-in-order"))
def test_a_removed_marker_takes_one_space_and_nothing_else(app, fake, evidence):
    """The model's answer over three sources has invalid markers at the start, after one space,
    after two, after a line break, alone on a line, next to punctuation, glued to a valid marker
    and at the end. Each goes with at most the one space before it: every other character,
    line breaks and runs of spaces included, stays as the model wrote it (the answer's ends may
    be trimmed), and the citations are [1], [2], [3] once each."""
    ids = ["P0151", "P0152", "P0153"]
    script(fake, [rule(fault("answer_text", text=_SPACED_ANSWER), times=None, paper_id=ids[0])],
           evidence=evidence)
    evidence.injected(f"an answer over {ids}")
    response = _ask(app, ids, 10.0)
    text, citations = _answer_body(response)
    evidence.observed(f"{shown(response)}; answer {text!r}; citations {citations}")
    assert response.status == 200 and text is not None, (
        f"an answer with invalid markers failed: {shown(response)} (the invalid markers should be "
        "removed, not the answer)")
    got, want = text.strip(), _SPACED_CLEAN.strip()
    assert got == want, (
        "removing the invalid markers changed the rest of the answer, "
        + _first_difference(got, want) + " (a removed marker takes one space before it, if there "
        "is one, and nothing else)")
    want_cited = [{"marker": n, "paper_id": pid} for n, pid in enumerate(ids, start=1)]
    got_cited = [{"marker": c.get("marker"), "paper_id": c.get("paper_id")} if isinstance(c, dict)
                 else c for c in citations or []]
    assert got_cited == want_cited, f"citations are {got_cited}; they should be {want_cited}"


@check(exercise="citations", tag="correctness", points=1, time_limit_s=20,
       clauses=("citations.no-citations-empty-list", "citations.rest-unchanged"))
def test_an_answer_citing_nothing_has_an_empty_list(app, fake, evidence):
    """A model answer with no marker at all, and one whose only marker is invalid, each give a
    200 with "citations": [] and the model's text (less the invalid marker)."""
    uncited = "Peer tutoring helped reading fluency. Effects were small but consistent."
    cases = [(["P0154", "P0155"], uncited, uncited),
             (["P0156"], "Older trials agree [5].", "Older trials agree.")]
    script(fake, [rule(fault("answer_text", text=text), times=None, paper_id=ids[0])
                  for ids, text, _ in cases], evidence=evidence)
    evidence.injected("answers over " + " and ".join(str(ids) for ids, _, _ in cases))
    results = run_all([lambda ids=ids: _ask(app, ids, 10.0) for ids, _, _ in cases])
    for (ids, model_text, want), result in zip(cases, results, strict=True):
        response = answered(result)
        text, citations = _answer_body(response)
        evidence.observed(f"{ids}: {shown(response)}; answer {text!r}; citations {citations}")
        assert response.status == 200, (
            f"an answer citing nothing failed: {shown(response)}; it is a fine answer with no citations")
        assert citations == [], (
            f"the model answered {model_text!r} over {len(ids)} source(s), and the citations are "
            f"{citations if citations is not None else 'missing'}; they should be []")
        assert text is not None and text.strip() == want, (
            f"the model answered {model_text!r}, and the answer reads {text!r}, not {want!r}")
