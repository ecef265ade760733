"""instructor in its default mode (TOOLS: a forced tool call) on both providers: the extraction
comes back as the pydantic model, filled from ground truth."""

from __future__ import annotations

import pytest

from fake_llm.runner import FakeLLM
from tests.compat.extraction import Extraction, truth

instructor = pytest.importorskip("instructor")
openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")

pytestmark = pytest.mark.compat

ASK = [{"role": "user", "content": "Extract the fields of paper P0042."}]




def test_openai_default_mode(fake: FakeLLM):
    with openai.OpenAI(base_url=fake.openai_base_url, api_key="test-key", max_retries=0) as raw:
        client = instructor.from_openai(raw)
        assert client.mode == instructor.Mode.TOOLS
        extraction, completion = client.chat.completions.create_with_completion(
            model="sim-gpt-large", response_model=Extraction, messages=ASK, max_retries=0)
    assert extraction.model_dump() == truth().model_dump()
    assert completion.choices[0].message.tool_calls[0].function.name == "Extraction"


def test_anthropic_default_mode(fake: FakeLLM):
    with anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key="test-key", max_retries=0) as raw:
        client = instructor.from_anthropic(raw)
        assert client.mode in (instructor.Mode.TOOLS, instructor.Mode.ANTHROPIC_TOOLS)
        extraction, message = client.messages.create_with_completion(
            model="sim-claude-large", response_model=Extraction, max_tokens=500, messages=ASK,
            max_retries=0)
    assert extraction.model_dump() == truth().model_dump()
    assert message.stop_reason == "tool_use" and message.content[0].name == "Extraction"
