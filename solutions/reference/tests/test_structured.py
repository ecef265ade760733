"""litreview.structured: repair unambiguous disguises, refuse everything else."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fake_llm.corpus import Paper, corpus
from litreview.errors import LLMInvalidOutput
from litreview.llm.types import Completion, FinishReason, Usage
from litreview.structured import parse_extraction, parse_json_object

TRUTH = {
    "paper_id": "P0042", "population": "new parents", "intervention": "yoga classes",
    "outcome": "sleep quality", "sample_size": 1024, "effect_direction": "increase",
}
RAW = json.dumps(TRUTH)


def reply(text: str, finish: FinishReason = "stop") -> Completion:
    return Completion(text, "openai", "sim-gpt-large", Usage(), finish)


def fenced(text: str) -> str:
    return f"```json\n{text}\n```"


def prose(text: str) -> str:
    return f"Sure! Here is the extracted information:\n\n{text}\n\nLet me know."


def trailing_comma(text: str) -> str:
    return text[: text.rfind("}")] + ",}"


def single_quotes(text: str) -> str:
    return text.replace('"', "'")


def grouped(text: str) -> str:
    return re.sub(r'"sample_size": (\d+)', lambda m: f'"sample_size": "{int(m[1]):,}"', text)


# In the order a model's output goes wrong: schema, then quoting, then wrapping.
DISGUISES: list[Callable[[str], str]] = [grouped, single_quotes, trailing_comma, fenced, prose]


@pytest.mark.parametrize("disguise", DISGUISES, ids=lambda f: f.__name__)
def test_each_disguise_is_repaired(disguise: Callable[[str], str]) -> None:
    fields = parse_extraction(reply(disguise(RAW)), "P0042")
    assert fields.model_dump() == TRUTH


@given(
    paper=st.sampled_from(sorted(corpus().values(), key=lambda p: p.paper_id)),
    disguises=st.lists(st.sampled_from(DISGUISES), max_size=5, unique=True),
)
def test_any_combination_of_disguises_gives_the_truth(
    paper: Paper, disguises: list[Callable[[str], str]]
) -> None:
    truth = {"paper_id": paper.paper_id, **paper.truth()}
    text = json.dumps(truth)
    for disguise in sorted(disguises, key=DISGUISES.index):
        text = disguise(text)
    assert parse_extraction(reply(text), paper.paper_id).model_dump() == truth


def drop(key: str) -> str:
    return json.dumps({k: v for k, v in TRUTH.items() if k != key})


def with_value(key: str, value: object) -> str:
    return json.dumps({**TRUTH, key: value})


@pytest.mark.parametrize(
    "text",
    [
        RAW[: int(len(RAW) * 0.6)],
        drop("sample_size"),
        drop("population"),
        with_value("sample_size", "about a thousand"),
        with_value("sample_size", 1024.5),
        with_value("sample_size", True),
        with_value("sample_size", "1,02,4"),
        with_value("effect_direction", "improved"),
        with_value("population", ""),
        with_value("paper_id", "P0043"),
        "I'm sorry, but I can't help with that request.",
        "",
        "[1, 2, 3]",
    ],
)
def test_what_would_need_a_guess_is_refused(text: str) -> None:
    with pytest.raises(LLMInvalidOutput):
        parse_extraction(reply(text), "P0042")


@pytest.mark.parametrize("finish", ["length", "refusal", "other"])
def test_an_unfinished_reply_is_refused_even_if_it_parses(finish: FinishReason) -> None:
    with pytest.raises(LLMInvalidOutput):
        parse_extraction(reply(RAW, finish), "P0042")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("{'a': 'b',}", {"a": "b"}),
        ('x ```\n{"a": [1,]}\n``` y', {"a": [1]}),
    ],
)
def test_parse_json_object(text: str, expected: dict[str, object]) -> None:
    assert parse_json_object(text) == expected
