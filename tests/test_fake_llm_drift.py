"""Every schema_drift variant yields valid JSON that breaks exactly the field it names, with the
value the docs promise, and leaves every other field as the truth."""

from __future__ import annotations

import json
import random

import pytest

from fake_llm.corpus import corpus, get_paper
from fake_llm.faults import Plan, RequestContext, make_fault
from fake_llm.model import read_prompt, respond

EXTRACT = "Extract population, intervention, outcome, sample_size, effect_direction of {} as JSON."
BIG = next(p for p in corpus().values() if p.sample_size >= 1000)
SMALL = next(p for p in corpus().values() if p.sample_size < 1000)


def drifted(variant: str, paper_id: str) -> dict[str, object]:
    prompt = read_prompt(EXTRACT.format(paper_id))
    ctx = RequestContext("openai", "sim-gpt-large", prompt, stream=False)
    plan, rng = Plan(), random.Random(0)
    make_fault({"kind": "schema_drift", "variant": variant}).apply(plan, ctx, rng)
    data = json.loads(plan.rewrite(respond(prompt, rng), ctx, rng))
    assert isinstance(data, dict)
    return data


def truth(paper_id: str) -> dict[str, object]:
    paper = get_paper(paper_id)
    assert paper is not None
    return {"paper_id": paper_id, **paper.truth()}


SAMPLE_SIZE = {
    "float_number": lambda n: (float(n), float),
    "zero": lambda n: (0, int),
    "negative": lambda n: (-n, int),
    "boolean": lambda n: (True, bool),
    "decimal_string": lambda n: (f"{n:,}".replace(",", ".") if n >= 1000 else f"{n}.0", str),
    "approx_string": lambda n: (f"about {n}", str),
}


@pytest.mark.parametrize("paper", [BIG, SMALL], ids=["big", "small"])
@pytest.mark.parametrize("variant", sorted(SAMPLE_SIZE))
def test_sample_size_variants_change_only_the_sample_size(variant, paper):
    data = drifted(variant, paper.paper_id)
    want, kind = SAMPLE_SIZE[variant](paper.sample_size)
    assert data["sample_size"] == want and type(data["sample_size"]) is kind
    assert {k: v for k, v in data.items() if k != "sample_size"} == \
        {k: v for k, v in truth(paper.paper_id).items() if k != "sample_size"}


def test_a_float_sample_size_is_written_with_a_decimal_point():
    prompt = read_prompt(EXTRACT.format(BIG.paper_id))
    ctx = RequestContext("openai", "sim-gpt-large", prompt, stream=False)
    plan, rng = Plan(), random.Random(0)
    make_fault({"kind": "schema_drift", "variant": "float_number"}).apply(plan, ctx, rng)
    text = plan.rewrite(respond(prompt, rng), ctx, rng)
    assert f'"sample_size": {BIG.sample_size}.0' in text


def test_a_big_decimal_string_uses_dots_as_thousands_separators():
    assert drifted("decimal_string", BIG.paper_id)["sample_size"] == f"{BIG.sample_size:,}".replace(",", ".")


@pytest.mark.parametrize("variant", ["effect_synonym", "effect_case"])
def test_effect_variants_leave_the_three_values(variant):
    for paper in list(corpus().values())[:30]:
        data = drifted(variant, paper.paper_id)
        assert data["effect_direction"] not in ("increase", "decrease", "no_effect")
        assert {k: v for k, v in data.items() if k != "effect_direction"} == \
            {k: v for k, v in truth(paper.paper_id).items() if k != "effect_direction"}


def test_effect_case_is_the_right_direction_in_another_case():
    paper = get_paper("P0042")
    assert paper is not None
    got = drifted("effect_case", "P0042")["effect_direction"]
    assert got != paper.effect_direction and str(got).lower() == paper.effect_direction


def test_other_paper_is_the_next_papers_whole_extraction():
    ids = sorted(corpus())
    for here, there in ((ids[0], ids[1]), (ids[-1], ids[0])):
        assert drifted("other_paper", here) == truth(there)


def test_extra_keys_keep_the_whole_extraction_and_add_every_json_type():
    prompt = read_prompt(EXTRACT.format(BIG.paper_id))
    ctx = RequestContext("openai", "sim-gpt-large", prompt, stream=False)
    plan, rng = Plan(), random.Random(0)
    make_fault({"kind": "schema_drift", "variant": "extra_keys"}).apply(plan, ctx, rng)
    text = plan.rewrite(respond(prompt, rng), ctx, rng)
    data = json.loads(text)
    assert {k: v for k, v in data.items() if k in truth(BIG.paper_id)} == truth(BIG.paper_id)
    extra = set(data) - set(truth(BIG.paper_id))
    assert extra and all(k not in truth(BIG.paper_id) for k in extra)
    for literal in ("true", "false", "null"):  # JSON's own words: not Python literals
        assert f": {literal}" in text


def test_an_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="variant"):
        make_fault({"kind": "schema_drift", "variant": "sideways"})


def test_any_stays_the_two_original_variants():
    seen = set()
    for seed in range(20):
        prompt = read_prompt(EXTRACT.format(BIG.paper_id))
        ctx = RequestContext("openai", "sim-gpt-large", prompt, stream=False)
        plan, rng = Plan(), random.Random(seed)
        make_fault({"kind": "schema_drift"}).apply(plan, ctx, rng)
        data = json.loads(plan.rewrite(respond(prompt, rng), ctx, rng))
        seen.add("string_number" if isinstance(data.get("sample_size"), str) else "missing_key")
        assert isinstance(data.get("sample_size", ""), str) or len(data) == len(truth(BIG.paper_id)) - 1
    assert seen == {"string_number", "missing_key"}
