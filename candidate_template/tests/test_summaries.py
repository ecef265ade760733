"""POST /summaries: a summary of one paper."""

from __future__ import annotations

import httpx
import pytest

from fake_llm.corpus import get_paper


@pytest.mark.parametrize("paper_id", ["P0001", "P0042", "P0240"])
def test_the_summary_is_the_papers_summary(client: httpx.Client, paper_id: str) -> None:
    paper = get_paper(paper_id)
    assert paper is not None
    response = client.post("/summaries", json={"paper_id": paper_id})
    assert response.status_code == 200
    body = response.json()
    assert body["paper_id"] == paper_id
    assert paper_id in body["summary"]
    assert body["summary"] == paper.summary()
    assert (body["provider"], body["model"], body["fallback"]) == ("openai", "sim-gpt-large", False)


def test_a_summary_reports_its_usage(client: httpx.Client) -> None:
    usage = client.post("/summaries", json={"paper_id": "P0042"}).json()["usage"]
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_an_unknown_paper_is_not_found(client: httpx.Client) -> None:
    response = client.post("/summaries", json={"paper_id": "P9999"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("body", [{}, {"paper_id": 42}, {"paper": "P0042"}])
def test_an_invalid_body_is_a_bad_request(client: httpx.Client, body: dict[str, object]) -> None:
    response = client.post("/summaries", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
