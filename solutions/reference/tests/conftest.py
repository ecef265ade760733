"""Shared fixtures: the fake LLM server (in-process, calm profile) and the app pointed at it.

The fake server lives in ``fake_llm/`` at the repository root; it answers from the same corpus
the app ships with, so tests can check answers against each paper's ground truth, and its ledger
(server-side clock, one row per call) shows what the app really did.

``make_client`` serves the app with a test policy, clock or random source: tests of time-bound
behaviour shrink the deadlines instead of waiting out the real ones.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from support import join_stopping_servers, serve

from fake_llm.runner import FakeLLM
from litreview.app import create_app
from litreview.clock import Clock
from litreview.config import Settings
from litreview.policy import Policy

SEED = 7
MakeClient = Callable[..., httpx.Client]


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
def make_client(settings: Settings) -> Iterator[MakeClient]:
    """A factory of running apps: ``make_client(policy=..., clock=..., settings=...)``."""
    with ExitStack() as stack:

        def make(
            *, policy: Policy | None = None, clock: Clock | None = None,
            settings: Settings = settings,
        ) -> httpx.Client:
            app = create_app(settings, policy=policy, clock=clock, rng=random.Random(SEED))
            return stack.enter_context(serve(app))

        yield make


@pytest.fixture
def client(make_client: MakeClient) -> httpx.Client:
    """The app with the contract's policy, running for one test."""
    return make_client()


def calls(fake: FakeLLM, **match: Any) -> list[dict[str, Any]]:
    """The fake's ledger rows whose fields equal ``match`` (e.g. ``provider="openai"``)."""
    return [row for row in fake.admin.ledger() if all(row[k] == v for k, v in match.items())]


def settled_calls(fake: FakeLLM, wait_s: float = 3.0, **match: Any) -> list[dict[str, Any]]:
    """Like :func:`calls`, once every call has finished (or after ``wait_s``).

    The server notices a connection the app closed a moment after the app moved on; a call the
    app left running is still unfinished after ``wait_s``, and the test's assertions catch it.
    """
    give_up_at = time.monotonic() + wait_s
    rows = calls(fake, **match)
    while any(row["finish_s"] is None for row in rows) and time.monotonic() < give_up_at:
        time.sleep(0.01)
        rows = calls(fake, **match)
    return rows


def script(fake: FakeLLM, fault: dict[str, Any], times: int | None = 1, **match: Any) -> None:
    """Queue one scripted fault for the calls matching ``match``; ``times=None``: until reset."""
    fake.admin.script([{"match": match, "fault": fault, "times": times}])
