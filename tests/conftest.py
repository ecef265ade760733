"""Shared fixtures: one in-process fake LLM per test module, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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


@pytest.fixture(autouse=True, scope="session")
def _results_fit_the_gradescope_specification() -> Iterator[None]:
    """Every results.json a test writes in this process is checked against the specification's
    schema (tests/gradescope_schema.py) as it is written: a misfit fails the test that graded."""
    from graders.harness.report import html as reports
    from tests.gradescope_schema import schema_violations

    write = reports.results_document

    def checked(result: Any) -> dict[str, Any]:
        document = write(result)
        problems = schema_violations(document)
        assert not problems, "results.json breaks the Gradescope specification:\n" + "\n".join(problems)
        return document

    reports.results_document = checked  # type: ignore[assignment]
    try:
        yield
    finally:
        reports.results_document = write  # type: ignore[assignment]
