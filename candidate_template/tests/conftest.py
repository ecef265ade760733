"""Shared fixtures: the fake LLM server (in-process, calm profile) and the app pointed at it.

The fake server lives in ``fake_llm/`` at the repository root; it answers from the same corpus
the app ships with, so tests can check answers against each paper's ground truth.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from support import join_stopping_servers, serve

from fake_llm.runner import FakeLLM
from litreview.app import create_app
from litreview.config import Settings

SEED = 7


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeLLM]:
    """One fake LLM server for the whole test run, with no faults and small latency."""
    with FakeLLM(profile="calm", seed=SEED) as server:
        yield server
        join_stopping_servers()  # the apps stop before the server they talk to


@pytest.fixture(autouse=True)
def _fresh_fake(fake: FakeLLM) -> None:
    """Every test starts with an empty ledger, fresh attempt counters and no scripted faults."""
    fake.admin.reset()


@pytest.fixture
def settings(fake: FakeLLM) -> Settings:
    """Settings pointing the app at the fake server (both providers)."""
    return Settings(
        llm_base_url=fake.openai_base_url,
        fallback_base_url=fake.anthropic_base_url,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[httpx.Client]:
    """A client of the app, which runs on a loopback port for one test."""
    with serve(create_app(settings)) as app_client:
        yield app_client

