"""The official anthropic SDK against the fake: token counting and the models list."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from fake_llm.pricing import models_of
from fake_llm.runner import FakeLLM

pytestmark = pytest.mark.compat

MESSAGES = [{"role": "user", "content": "Summarize paper P0042."}]


@pytest.fixture
def client(fake: FakeLLM) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key="test-key",
                             max_retries=0) as sdk:
        yield sdk


def test_count_tokens_matches_the_usage_of_the_message(client):
    system = "You are a careful reviewer of clinical trials."
    counted = client.messages.count_tokens(model="sim-claude-large", system=system, messages=MESSAGES)
    message = client.messages.create(model="sim-claude-large", max_tokens=300, system=system,
                                     messages=MESSAGES)
    assert counted.input_tokens == message.usage.input_tokens > 0


def test_count_tokens_refuses_what_the_fake_does_not_emulate(client):
    with pytest.raises(anthropic.BadRequestError) as error:
        client.messages.count_tokens(model="sim-claude-large", messages=MESSAGES,
                                     thinking={"type": "enabled", "budget_tokens": 2048})
    assert "extended thinking" in error.value.message


def test_models_list_pages_through_every_model(client):
    names = [m.name for m in models_of("anthropic")]
    page = client.models.list()
    assert [m.id for m in page.data] == names and all(m.type == "model" for m in page.data)
    assert [m.id for m in client.models.list(limit=1)] == names  # auto-pagination, one per page


def test_models_retrieve_and_an_unknown_model(client):
    assert client.models.retrieve("sim-claude-mini").display_name == "Sim Claude Mini"
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("sim-gpt-large")


def test_an_image_block_is_a_bad_request_naming_it(client):
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
    with pytest.raises(anthropic.BadRequestError) as error:
        client.messages.create(model="sim-claude-large", max_tokens=100,
                               messages=[{"role": "user", "content": [image]}])
    assert "image input" in error.value.message
