"""POST /summaries/batch: bounded concurrency, per-item status, a deadline for the whole batch."""

from __future__ import annotations

import httpx
from conftest import MakeClient, calls, script, settled_calls

from fake_llm.corpus import get_paper
from fake_llm.runner import FakeLLM
from litreview.policy import Policy

IDS = [f"P{n:04d}" for n in range(1, 13)]


def test_four_calls_in_flight_at_most_and_every_summary_right(
    fake: FakeLLM, client: httpx.Client
) -> None:
    script(fake, {"kind": "latency", "delay_ms": 150}, times=None, task="summary")
    response = client.post("/summaries/batch", json={"paper_ids": IDS})
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["paper_id"] for item in items] == IDS
    for item in items:
        paper = get_paper(item["paper_id"])
        assert paper is not None
        assert (item["status"], item["summary"]) == ("ok", paper.summary())
    assert max(row["in_flight"] for row in calls(fake)) == 4


def test_one_failing_paper_fails_alone(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "http_error", "status": 400}, times=None, paper_id="P0003")
    items = client.post("/summaries/batch", json={"paper_ids": ["P0001", "P0003", "P9999"]}).json()[
        "items"
    ]
    assert [item["status"] for item in items] == ["ok", "error", "error"]
    assert [item.get("error", {}).get("code") for item in items] == [
        None, "llm_rejected", "not_found"]


def test_a_hanging_paper_costs_that_paper_only(fake: FakeLLM, make_client: MakeClient) -> None:
    script(fake, {"kind": "hang"}, times=None, paper_id="P0007")
    policy = Policy(request_deadline_s=1.0, attempt_timeout_s=0.3, fallback_reserve_s=0.4)
    items = make_client(policy=policy).post("/summaries/batch", json={"paper_ids": IDS}).json()[
        "items"
    ]
    statuses = {item["paper_id"]: item["status"] for item in items}
    assert statuses.pop("P0007") == "error"
    assert set(statuses.values()) == {"ok"}
    assert all(row["client_gone"] for row in settled_calls(fake, paper_ids=["P0007"]))


def test_the_batch_answers_by_its_deadline_with_what_finished(
    fake: FakeLLM, make_client: MakeClient
) -> None:
    script(fake, {"kind": "latency", "delay_ms": 200}, times=None, task="summary")
    policy = Policy(batch_deadline_s=1.0, batch_concurrency=1)
    body = make_client(policy=policy).post("/summaries/batch", json={"paper_ids": IDS[:6]}).json()
    codes = [item.get("error", {}).get("code", item["status"]) for item in body["items"]]
    assert codes[0] == "ok"
    assert codes[-1] == "llm_timeout"
    assert set(codes) <= {"ok", "llm_timeout"}
    rows = settled_calls(fake)
    assert all(row["finish_s"] is not None for row in rows), "no call left running"


def test_batch_size_limits(fake: FakeLLM, client: httpx.Client) -> None:
    too_many = [f"P{n:04d}" for n in range(1, 22)]
    for paper_ids in ([], too_many):
        response = client.post("/summaries/batch", json={"paper_ids": paper_ids})
        assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_request")
    assert calls(fake) == []
    assert client.post("/summaries/batch", json={"paper_ids": too_many[:20]}).status_code == 200
