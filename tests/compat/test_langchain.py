"""langchain's ``ChatOpenAI`` and ``ChatAnthropic``: ``with_structured_output()`` returns the
pydantic model filled from ground truth, and ``bind_tools`` gets tool calls."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from fake_llm.runner import FakeLLM
from tests.compat.extraction import Extraction, truth

langchain_openai = pytest.importorskip("langchain_openai")
langchain_anthropic = pytest.importorskip("langchain_anthropic")

pytestmark = pytest.mark.compat

EXTRACT = "Extract the fields of paper P0042."



class GetPaper(BaseModel):
    """Fetch one paper by its id."""

    paper_id: str


def openai_model(fake: FakeLLM) -> Any:
    return langchain_openai.ChatOpenAI(model="sim-gpt-large", base_url=fake.openai_base_url,
                                       api_key="test-key", max_retries=0)


def anthropic_model(fake: FakeLLM) -> Any:
    return langchain_anthropic.ChatAnthropic(model="sim-claude-large", base_url=fake.anthropic_base_url,
                                             api_key="test-key", max_retries=0, max_tokens=500)


MODELS = {"openai": openai_model, "anthropic": anthropic_model}


@pytest.mark.parametrize("provider", list(MODELS))
def test_with_structured_output(fake, provider):
    model = MODELS[provider](fake).with_structured_output(Extraction)
    extraction = model.invoke(EXTRACT)
    assert extraction == truth()


@pytest.mark.parametrize("provider", list(MODELS))
def test_bind_tools_gets_a_tool_call(fake, provider):
    model = MODELS[provider](fake).bind_tools([GetPaper])
    message = model.invoke("Summarize paper P0042.")
    assert [(call["name"], call["args"]) for call in message.tool_calls] == [
        ("GetPaper", {"paper_id": "P0042"})]


@pytest.mark.parametrize("provider", list(MODELS))
def test_bind_tools_streamed(fake, provider):
    model = MODELS[provider](fake).bind_tools([GetPaper])
    message = None
    for chunk in model.stream("Summarize paper P0042."):
        message = chunk if message is None else message + chunk
    assert message is not None
    assert [(call["name"], call["args"]) for call in message.tool_calls] == [
        ("GetPaper", {"paper_id": "P0042"})]
