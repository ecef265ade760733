"""Each content fault breaks the answer in its documented way; repairable ones keep the truth."""

from __future__ import annotations

import ast
import json
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fake_llm.corpus import corpus, get_paper
from fake_llm.faults import Plan, RequestContext, make_fault
from fake_llm.model import read_prompt, respond

EXTRACT = "Extract population, intervention, outcome, sample_size, effect_direction of {} as JSON."
CONTENT_KINDS = ["schema_drift", "json_single_quotes", "json_trailing_comma", "json_fences",
                 "json_prose_wrap", "json_truncated"]
BIG_PAPER = next(p for p in corpus().values() if p.sample_size >= 1000)


def rewritten(kinds: list[str], paper_id: str = "P0042", seed: int = 0, **params: object) -> tuple[str, Plan]:
    prompt = read_prompt(EXTRACT.format(paper_id))
    ctx = RequestContext("openai", "sim-gpt-large", prompt, stream=False)
    plan = Plan()
    rng = random.Random(seed)
    for kind in kinds:
        make_fault({"kind": kind, **params} if len(kinds) == 1 else {"kind": kind}).apply(plan, ctx, rng)
    return plan.rewrite(respond(prompt, rng), ctx, rng), plan


def repair(text: str) -> dict:
    """A reasonable client-side repair: strip fences and prose, fix quotes and commas, coerce."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    assert match, text
    body = re.sub(r",\s*}", "}", match.group(0))
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        data = ast.literal_eval(body)
    if isinstance(data.get("sample_size"), str):
        data["sample_size"] = int(data["sample_size"].replace(",", ""))
    return data


def truth(paper_id: str) -> dict:
    return {"paper_id": paper_id, **get_paper(paper_id).truth()}


@pytest.mark.parametrize("kind", CONTENT_KINDS[1:5])
def test_format_faults_break_json_loads_but_repair_recovers_truth(kind):
    text, plan = rewritten([kind])
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert repair(text) == truth("P0042")
    assert plan.finish_reason == "stop"


def test_schema_drift_string_number_fails_the_schema_but_is_repairable():
    text, _ = rewritten(["schema_drift"], BIG_PAPER.paper_id, variant="string_number")
    data = json.loads(text)
    assert data["sample_size"] == f"{BIG_PAPER.sample_size:,}" and "," in data["sample_size"]
    assert repair(text) == truth(BIG_PAPER.paper_id)


def test_schema_drift_missing_key_loses_a_field():
    text, _ = rewritten(["schema_drift"], variant="missing_key")
    data = json.loads(text)
    assert len(set(truth("P0042")) - set(data)) == 1


def test_json_truncated_cannot_parse_and_says_length():
    text, plan = rewritten(["json_truncated"], keep_fraction=0.5)
    assert plan.finish_reason == "length"
    full = json.dumps(truth("P0042"))
    assert full.startswith(text) and len(text) < len(full)
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_bad_citation_cites_a_source_that_was_not_given():
    prompt = read_prompt("Question: does it work?\nSources:\n[1] P0001: a\n[2] P0002: b")
    ctx = RequestContext("anthropic", "sim-claude-large", prompt, stream=False)
    plan = Plan()
    rng = random.Random(0)
    make_fault({"kind": "bad_citation", "extra_markers": 2}).apply(plan, ctx, rng)
    text = plan.rewrite(respond(prompt, rng), ctx, rng)
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", text)}
    assert markers == {1, 2, 3, 4}
    assert text.startswith(respond(prompt, rng))


@settings(max_examples=60, deadline=None)
@given(kinds=st.lists(st.sampled_from(CONTENT_KINDS[:5]), min_size=1, max_size=5, unique=True),
       paper=st.sampled_from(sorted(corpus())), seed=st.integers(0, 2**32))
def test_any_combination_of_repairable_faults_keeps_the_truth(kinds, paper, seed):
    text, _ = rewritten(kinds, paper, seed)
    if "schema_drift" in kinds and set(truth(paper)) - set(repair(text)):
        return  # the missing-key variant lost a field: only a re-ask recovers it
    assert repair(text) == truth(paper)


@pytest.mark.parametrize("kind", ["refusal", "empty_content"])
def test_refusal_and_empty_content_replace_the_answer(kind):
    text, plan = rewritten([kind])
    assert "P0042" not in text
    assert plan.finish_reason == ("refusal" if kind == "refusal" else "stop")
