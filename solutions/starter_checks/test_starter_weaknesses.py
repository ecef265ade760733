"""The starter keeps exactly the weaknesses the exercises target (docs/exercises.md).

Not a candidate test: the kit copies this file into a materialized starter and runs it there
(``tests/test_candidate_template.py``), so a well-meant "fix" to the starter cannot silently
remove an exercise. Each test names the exercise whose bug it pins; the fixtures (``fake``,
``client``) are the starter's own. The deadlines exercise's bug (no timeout at all) is left out:
pinning it would mean waiting for ever.
"""

from __future__ import annotations

import httpx

from fake_llm.runner import FakeLLM

PAPER = {"paper_id": "P0042"}


def script(fake: FakeLLM, fault: dict[str, object], times: int | None = 1, **match: str) -> None:
    fake.admin.script([{"match": match, "fault": fault, "times": times}])


def test_retries_no_retry(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "http_error", "status": 503}, task="extract")
    assert client.post("/extractions", json=PAPER).status_code == 503
    assert len(fake.admin.ledger()) == 1


def test_retries_swallowed_failure_is_a_blank_summary(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "http_error", "status": 503}, task="summary")
    response = client.post("/summaries", json=PAPER)
    assert (response.status_code, response.json()["summary"]) == (200, "")


def test_structured_output_raw_json_loads(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "json_fences"}, task="extract")
    response = client.post("/extractions", json=PAPER)
    assert (response.status_code, response.json()["error"]["code"]) == (500, "internal_error")


def test_citations_off_by_one(client: httpx.Client) -> None:
    body = client.post(
        "/answers", json={"question": "What?", "paper_ids": ["P0042", "P0007", "P0113"]}
    ).json()
    assert body["citations"] == [
        {"marker": 1, "paper_id": "P0007"}, {"marker": 2, "paper_id": "P0113"},
    ]


def test_citations_made_up_markers_stay(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "bad_citation"}, task="answer")
    body = client.post("/answers", json={"question": "What?", "paper_ids": ["P0042"]}).json()
    assert "[2]" in body["answer"]


def test_batch_sequential_and_usage_of_the_last_call(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "latency", "delay_ms": 50}, times=None, task="summary")
    body = client.post("/summaries/batch", json={"paper_ids": ["P0001", "P0002", "P0003"]}).json()
    rows = fake.admin.ledger()
    assert max(row["in_flight"] for row in rows) == 1
    assert body["usage"]["total_tokens"] == rows[-1]["tokens_in"] + rows[-1]["tokens_out"]


def test_fallback_one_provider_only(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "http_error", "status": 503}, times=None, provider="openai")
    client.post("/extractions", json=PAPER)
    assert {row["provider"] for row in fake.admin.ledger()} == {"openai"}


def test_streaming_done_after_a_cut_stream(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "truncate"}, task="summary")
    response = client.post("/summaries/stream", json=PAPER)
    assert response.text.rstrip().split("\n")[-2] == "event: done"


def test_cost_stream_usage_is_not_counted(client: httpx.Client) -> None:
    response = client.post("/summaries/stream", json=PAPER)
    assert '"total_tokens": 0' in response.text.rstrip().split("\n")[-1]


def test_agent_no_review_endpoint(client: httpx.Client) -> None:
    response = client.post("/reviews", json={"question": "Does yoga help sleep?"})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
