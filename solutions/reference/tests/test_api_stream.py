"""POST /summaries/stream against stream faults: ``done`` only for a whole summary."""

from __future__ import annotations

import httpx
import pytest
from conftest import MakeClient, calls, script, settled_calls
from support import read_events

from fake_llm.corpus import get_paper
from fake_llm.runner import FakeLLM
from litreview.policy import Policy

PAPER = "P0042"


def summary() -> str:
    paper = get_paper(PAPER)
    assert paper is not None
    return paper.summary()


def stream(client: httpx.Client) -> list[tuple[str, dict[str, object]]]:
    response = client.post("/summaries/stream", json={"paper_id": PAPER})
    assert response.status_code == 200
    events = read_events(response)
    assert [event for event, _ in events[:-1]] == ["delta"] * (len(events) - 1)
    return events


def text(events: list[tuple[str, dict[str, object]]]) -> str:
    return "".join(str(data["text"]) for event, data in events if event == "delta")


@pytest.mark.parametrize(
    "fault",
    [{"kind": "truncate"}, {"kind": "disconnect", "after_chunks": 3},
     {"kind": "corrupt_chunk", "chunk_index": 2}, {"kind": "error_event", "after_chunks": 3}],
    ids=lambda fault: str(fault["kind"]),
)
def test_a_broken_stream_ends_with_llm_incomplete(
    fake: FakeLLM, client: httpx.Client, fault: dict[str, object]
) -> None:
    script(fake, fault, task="summary")
    events = stream(client)
    assert events[-1] == ("error", {"code": "llm_incomplete", "message": events[-1][1]["message"]})
    assert summary().startswith(text(events)) and text(events) != summary()
    assert len(calls(fake)) == 1, "text had reached the user: no restart"


def test_a_stall_ends_with_llm_timeout(fake: FakeLLM, make_client: MakeClient) -> None:
    script(fake, {"kind": "stall", "after_chunks": 2, "pause_ms": 5000}, task="summary")
    events = stream(make_client(policy=Policy(stream_idle_s=0.3)))
    assert events[-1][0] == "error" and events[-1][1]["code"] == "llm_timeout"
    assert text(events) and summary().startswith(text(events))
    assert settled_calls(fake)[0]["client_gone"]


def test_a_slow_first_token_is_an_error_first_event(fake: FakeLLM, make_client: MakeClient) -> None:
    script(fake, {"kind": "slow_first_token", "delay_ms": 5000}, times=None, task="summary")
    events = stream(make_client(policy=Policy(stream_first_event_s=0.6)))
    assert [(event, data["code"]) for event, data in events] == [("error", "llm_timeout")]


def test_a_slow_steady_stream_is_fine(fake: FakeLLM, make_client: MakeClient) -> None:
    script(fake, {"kind": "drip", "chunk_interval_ms": 30}, task="summary")
    events = stream(make_client(policy=Policy(stream_idle_s=0.3)))
    assert events[-1][0] == "done" and text(events) == summary()


def test_a_failed_start_is_retried_before_any_text(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "http_error", "status": 503}, times=2, task="summary")
    events = stream(client)
    assert events[-1][0] == "done" and text(events) == summary()
    assert [row["status"] for row in calls(fake)] == [503, 503, 200]


def test_done_reports_the_streams_usage(fake: FakeLLM, client: httpx.Client) -> None:
    (_, done), = [event for event in stream(client) if event[0] == "done"]
    (row,) = calls(fake)
    assert row["usage_reported"]
    assert done["usage"] == {"input_tokens": row["tokens_in"], "output_tokens": row["tokens_out"],
                             "total_tokens": row["tokens_in"] + row["tokens_out"]}


def test_a_stream_that_cannot_start_reports_why(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "http_error", "status": 400}, times=None, task="summary")
    assert stream(client)[-1][1]["code"] == "llm_rejected"
    assert calls(fake, provider="anthropic") == [], "streams never fall back"


def test_bad_requests_get_plain_json_errors(client: httpx.Client) -> None:
    assert client.post("/summaries/stream", json={}).status_code == 400
    assert client.post("/summaries/stream", json={"paper_id": "P9999"}).status_code == 404
