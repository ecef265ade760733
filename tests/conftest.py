"""Shared fixtures: one in-process fake LLM per test module, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_llm.runner import FakeLLM

FAST = {"latency.median_ms": 0, "stream.chunk_interval_ms": 0}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLM]:
    """A calm fake LLM with no latency, shared by a module's tests."""
    with FakeLLM(profile="calm", seed=11, settings=FAST) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_fake(request: pytest.FixtureRequest) -> None:
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").admin.reset()
