"""Fallback to the secondary provider (summaries only) and the circuit breakers."""

from __future__ import annotations

from dataclasses import replace

import httpx
from conftest import MakeClient, calls, script, settled_calls

from fake_llm.corpus import get_paper
from fake_llm.runner import FakeLLM
from litreview.clock import ManualClock
from litreview.config import Settings
from litreview.policy import Policy

SUMMARY = {"paper_id": "P0042"}
DOWN = {"kind": "http_error", "status": 503}


def test_a_summary_falls_back_and_says_so(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, DOWN, times=None, provider="openai")
    response = client.post("/summaries", json=SUMMARY)
    assert response.status_code == 200
    body = response.json()
    assert (body["provider"], body["model"], body["fallback"]) == (
        "anthropic", "sim-claude-large", True)
    paper = get_paper("P0042")
    assert paper is not None
    assert body["summary"] == paper.summary()
    assert len(calls(fake, provider="openai")) == 4
    assert len(calls(fake, provider="anthropic")) == 1


def test_a_hanging_primary_leaves_the_secondary_time(
    fake: FakeLLM, make_client: MakeClient
) -> None:
    script(fake, {"kind": "hang"}, times=None, provider="openai")
    policy = Policy(request_deadline_s=1.5, attempt_timeout_s=0.3, fallback_reserve_s=0.6)
    body = make_client(policy=policy).post("/summaries", json=SUMMARY).json()
    assert (body["provider"], body["fallback"]) == ("anthropic", True)
    assert all(row["client_gone"] for row in settled_calls(fake, provider="openai"))


def test_extractions_and_answers_never_fall_back(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, DOWN, times=None, provider="openai")
    assert client.post("/extractions", json=SUMMARY).status_code == 503
    answer = client.post("/answers", json={"question": "Why?", "paper_ids": ["P0042"]})
    assert answer.json()["error"]["code"] == "llm_unavailable"
    assert calls(fake, provider="anthropic") == []


def test_a_rejection_never_falls_back(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "http_error", "status": 400}, times=None, provider="openai")
    response = client.post("/summaries", json=SUMMARY)
    assert (response.status_code, response.json()["error"]["code"]) == (502, "llm_rejected")
    assert calls(fake, provider="anthropic") == []


def test_without_a_secondary_summaries_give_up_like_extractions(
    fake: FakeLLM, make_client: MakeClient, settings: Settings
) -> None:
    script(fake, DOWN, times=None, provider="openai")
    client = make_client(settings=replace(settings, fallback_base_url=None))
    assert client.post("/summaries", json=SUMMARY).json()["error"]["code"] == "llm_unavailable"


def test_the_breaker_stops_calls_then_probes(fake: FakeLLM, make_client: MakeClient) -> None:
    clock = ManualClock()
    client = make_client(clock=clock)
    script(fake, DOWN, times=None, provider="openai")
    assert client.post("/extractions", json=SUMMARY).status_code == 503  # four failed calls
    assert client.post("/extractions", json=SUMMARY).status_code == 503  # the fifth opens it
    assert len(calls(fake, provider="openai")) == 5
    assert client.post("/extractions", json=SUMMARY).status_code == 503
    summary = client.post("/summaries", json=SUMMARY).json()
    assert summary["provider"] == "anthropic"
    assert len(calls(fake, provider="openai")) == 5, "no call while the breaker is open"
    fake.admin.clear_script()
    clock.advance(2.0)
    assert client.post("/extractions", json=SUMMARY).status_code == 200
    assert len(calls(fake, provider="openai")) == 6


def test_with_both_breakers_open_a_summary_fails_at_once(
    fake: FakeLLM, make_client: MakeClient
) -> None:
    client = make_client(clock=ManualClock())
    script(fake, DOWN, times=None)
    for _ in range(2):
        assert client.post("/summaries", json=SUMMARY).status_code == 503
    before = len(calls(fake))
    response = client.post("/summaries", json=SUMMARY)
    assert (response.status_code, response.json()["error"]["code"]) == (503, "llm_unavailable")
    assert len(calls(fake)) == before
