"""A pydantic-ai Agent with a tool: the model calls the tool with the paper the prompt names, the
agent runs it, and the final answer comes from ground truth.

On OpenAI only: pydantic-ai-slim 2.38's Anthropic model cannot build its requests with anthropic
2.x (``BetaMessageParam`` is a union there), before any request reaches a server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from fake_llm.corpus import get_paper
from fake_llm.runner import FakeLLM

openai = pytest.importorskip("openai")
pydantic_ai = pytest.importorskip("pydantic_ai")
openai_models = pytest.importorskip("pydantic_ai.models.openai")
from pydantic_ai.providers.openai import OpenAIProvider  # noqa: E402

pytestmark = pytest.mark.compat


def run(fake: FakeLLM, make_agent: Callable[[Any], Any], prompt: str) -> Any:
    """The agent's run on the fake, its HTTP client closed on the loop that opened it."""

    async def go() -> Any:
        async with openai.AsyncOpenAI(base_url=fake.openai_base_url, api_key="test-key",
                                      max_retries=0) as client:
            model = openai_models.OpenAIChatModel("sim-gpt-large",
                                                  provider=OpenAIProvider(openai_client=client))
            return await make_agent(model).run(prompt)

    return asyncio.run(go())


class Finding(BaseModel):
    paper_id: str
    sample_size: int
    effect_direction: Literal["increase", "decrease", "no_effect"]


def test_an_agent_calls_its_tool_then_answers(fake):
    fetched: list[str] = []

    def agent_with_a_tool(model: Any) -> Any:
        agent = pydantic_ai.Agent(model, instructions="You summarise research papers.")

        @agent.tool_plain
        def get_paper_text(paper_id: str) -> str:
            """Fetch a paper's abstract by its id."""
            fetched.append(paper_id)
            paper = get_paper(paper_id)
            return paper.abstract if paper else "no such paper"

        return agent

    result = run(fake, agent_with_a_tool, "Summarize paper P0042.")
    assert fetched == ["P0042"]
    assert result.output == get_paper("P0042").summary()
    assert len(fake.admin.ledger()) == 2


def test_an_agent_with_a_structured_output_type(fake):
    result = run(fake, lambda model: pydantic_ai.Agent(model, output_type=Finding),
                 "Extract the finding of paper P0042.")
    paper = get_paper("P0042")
    assert result.output == Finding(paper_id="P0042", sample_size=paper.sample_size,
                                    effect_direction=paper.effect_direction)
