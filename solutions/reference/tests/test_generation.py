"""litreview.generation: validate each answer, re-ask at most twice, never past the limits."""

from __future__ import annotations

import asyncio
import json

import pytest
from upstream import Upstream, openai_ok, status

from litreview.errors import BudgetExceeded, LLMInvalidOutput
from litreview.generation import generate, whole_text
from litreview.llm.context import RequestContext
from litreview.llm.gateway import Gateway
from litreview.llm.types import ChatMessage, Usage
from litreview.structured import ExtractedFields, parse_extraction

MESSAGES: list[ChatMessage] = [{"role": "user", "content": "Extract the details of P0042."}]
GOOD = json.dumps({"paper_id": "P0042", "population": "new parents", "intervention": "yoga",
                   "outcome": "sleep", "sample_size": 120, "effect_direction": "increase"})
MISSING_KEY = json.dumps({"paper_id": "P0042", "population": "new parents"})


def extract(gateway: Gateway, budget: int | None = None) -> tuple[ExtractedFields, RequestContext]:
    ctx = gateway.new_context(4.0, budget)

    def parse(completion: object) -> ExtractedFields:
        return parse_extraction(completion, "P0042")  # type: ignore[arg-type]

    fields, _ = asyncio.run(generate(gateway, MESSAGES, ctx, parse, fallback=False))
    return fields, ctx


def test_an_invalid_answer_is_re_asked_with_the_problem() -> None:
    upstream = Upstream(
        openai=[openai_ok(MISSING_KEY, usage=(10, 5)), openai_ok(GOOD, usage=(30, 8))]
    )
    fields, ctx = extract(upstream.gateway())
    assert fields.sample_size == 120
    first, second = upstream.bodies("openai")
    assert second["messages"][: len(first["messages"])] == first["messages"]
    assert second["messages"][-2] == {"role": "assistant", "content": MISSING_KEY}
    assert "could not be used" in second["messages"][-1]["content"]
    assert ctx.meter.usage == Usage(input_tokens=40, output_tokens=13)


def test_three_invalid_generations_then_invalid_output() -> None:
    upstream = Upstream(openai=[openai_ok(MISSING_KEY)])
    with pytest.raises(LLMInvalidOutput):
        extract(upstream.gateway())
    assert upstream.calls("openai") == 3


def test_re_asks_count_against_the_four_attempts() -> None:
    upstream = Upstream(openai=[status(503), status(503), status(503), openai_ok(MISSING_KEY)])
    with pytest.raises(LLMInvalidOutput):
        extract(upstream.gateway())
    assert upstream.calls("openai") == 4


def test_no_re_ask_once_the_budget_is_spent() -> None:
    upstream = Upstream(openai=[openai_ok(MISSING_KEY, usage=(40, 10))])
    with pytest.raises(BudgetExceeded):
        extract(upstream.gateway(), budget=50)
    assert upstream.calls("openai") == 1


def test_a_success_over_budget_is_still_used() -> None:
    upstream = Upstream(openai=[openai_ok(GOOD, usage=(400, 100))])
    fields, ctx = extract(upstream.gateway(), budget=10)
    assert fields.paper_id == "P0042"
    assert ctx.meter.spent == 500


def test_re_asks_neither_earn_nor_spend_retry_tokens() -> None:
    upstream = Upstream(openai=[openai_ok(MISSING_KEY), openai_ok(MISSING_KEY), openai_ok(GOOD)])
    gateway = upstream.gateway()
    gateway.retry_budget.tokens = 0.0
    extract(gateway)
    assert gateway.retry_budget.tokens == pytest.approx(gateway.policy.retry_budget_deposit)


@pytest.mark.parametrize(
    "reply",
    [openai_ok(""), openai_ok("Half a summ", finish="length"), openai_ok(refusal="No.")],
    ids=["empty", "cut", "refused"],
)
def test_text_answers_that_are_not_whole_are_re_asked(reply: object) -> None:
    upstream = Upstream(openai=[reply, openai_ok("A whole summary.")])  # type: ignore[list-item]
    gateway = upstream.gateway()
    ctx = gateway.new_context(4.0)
    text, _ = asyncio.run(generate(gateway, MESSAGES, ctx, whole_text, fallback=False))
    assert text == "A whole summary."
    assert upstream.calls("openai") == 2
