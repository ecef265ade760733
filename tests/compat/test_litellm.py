"""litellm against the fake, by base URL: completion on both providers, embeddings, and a Router
that falls back from a scripted 503 on provider A to provider B."""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Iterator

import pytest

from fake_llm.corpus import get_paper

# litellm fetches its price table from the network at import unless told to use its local copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
litellm = pytest.importorskip("litellm")

pytestmark = [
    pytest.mark.compat,
    # litellm's own models trip pydantic's warnings; they say nothing about the fake.
    pytest.mark.filterwarnings("ignore:.*ReadOnly.*:UserWarning"),
]

MESSAGES = [{"role": "user", "content": "Summarize paper P0042."}]


@pytest.fixture(autouse=True)
def _own_event_loop() -> Iterator[None]:
    """Give the test an event loop of its own and close it after: litellm's logging takes the main
    thread's loop (making one if there is none), and a loop left to the garbage collector would
    warn in whichever later test collects it."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture(autouse=True, scope="module")
def _close_litellm_clients() -> Iterator[None]:
    """Close the HTTP clients litellm caches, so that no socket is left to the garbage collector of
    a later test."""
    yield
    cache = litellm.in_memory_llm_clients_cache
    for client in list(cache.cache_dict.values()):
        close = getattr(client, "close", None)
        if close is not None and not inspect.iscoroutinefunction(close):
            close()
    cache.flush_cache()


def test_completion_against_openai_by_base_url(fake):
    reply = litellm.completion(model="openai/sim-gpt-large", api_base=fake.openai_base_url,
                               api_key="k", messages=MESSAGES)
    assert reply.choices[0].message.content == get_paper("P0042").summary()
    assert reply.usage.completion_tokens == fake.admin.ledger()[0]["tokens_out"]


def test_completion_against_anthropic_by_base_url(fake):
    reply = litellm.completion(model="anthropic/sim-claude-large", api_base=fake.anthropic_base_url,
                               api_key="k", messages=MESSAGES, max_tokens=500)
    assert reply.choices[0].message.content == get_paper("P0042").summary()
    [row] = fake.admin.ledger()
    assert (row["provider"], row["status"]) == ("anthropic", 200)


def test_embedding_by_base_url(fake):
    reply = litellm.embedding(model="openai/sim-embed-small", api_base=fake.openai_base_url,
                              api_key="k", input=["sleep quality"], encoding_format="float")
    assert len(reply.data[0]["embedding"]) == 512


def test_router_falls_back_from_a_503_on_provider_a_to_provider_b(fake):
    fake.admin.script([{"match": {"provider": "openai"}, "fault": {"kind": "http_error", "status": 503},
                        "times": None}])
    router = litellm.Router(
        model_list=[
            {"model_name": "primary", "litellm_params": {
                "model": "openai/sim-gpt-large", "api_base": fake.openai_base_url, "api_key": "k"}},
            {"model_name": "backup", "litellm_params": {
                "model": "anthropic/sim-claude-large", "api_base": fake.anthropic_base_url,
                "api_key": "k", "max_tokens": 500}},
        ],
        fallbacks=[{"primary": ["backup"]}], num_retries=0)
    reply = router.completion(model="primary", messages=MESSAGES)
    assert reply.choices[0].message.content == get_paper("P0042").summary()
    rows = [(row["provider"], row["status"]) for row in fake.admin.ledger()]
    assert rows[0] == ("openai", 503) and rows[-1] == ("anthropic", 200)
    assert set(rows[:-1]) == {("openai", 503)}
