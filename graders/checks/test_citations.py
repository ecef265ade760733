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


@check(exercise="citations", tag="correctness", points=4, time_limit_s=20,
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


@check(exercise="citations", tag="correctness", points=4, time_limit_s=20,
       clauses=("citations.invalid-removed", "citations.valid-marker", "citations.rest-unchanged"))
def test_markers_to_sources_not_given_are_removed(app, fake, evidence):
    """When the model cites sources that were not given ([4] and [5] over three papers, [2] over
    one, [13]..[15] over twelve), those markers vanish from the answer and the citations; every
    real citation stays, mapped to the right paper, and the model's cited sentences are kept."""
    cases = [(["P0101", "P0102", "P0103"], 2), (["P0104"], 1), (paper_range(105, 12), 3)]
    script(fake, [rule(fault("bad_citation", extra_markers=n), times=1, paper_id=ids[0])
                  for ids, n in cases])
    evidence.injected("the model adds a sentence citing sources that were not given: " + "; ".join(
        f"{', '.join(f'[{len(ids) + i}]' for i in range(1, n + 1))} over {len(ids)} source(s)"
        for ids, n in cases))
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
