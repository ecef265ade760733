"""POST /answers: an answer over numbered sources, with citations."""

from __future__ import annotations

import re

import httpx
import pytest

from fake_llm.corpus import get_paper


def test_an_answer_covers_every_source(client: httpx.Client) -> None:
    paper_ids = ["P0042", "P0007", "P0113"]
    response = client.post(
        "/answers", json={"question": "What did these trials find?", "paper_ids": paper_ids}
    )
    assert response.status_code == 200
    body = response.json()
    for paper_id in paper_ids:
        paper = get_paper(paper_id)
        assert paper is not None
        assert paper.intervention.lower() in body["answer"].lower()
    assert (body["provider"], body["model"]) == ("openai", "sim-gpt-large")
    assert body["usage"]["total_tokens"] > 0


def test_citations_are_markers_in_the_answer_about_given_papers(client: httpx.Client) -> None:
    paper_ids = ["P0042", "P0007", "P0113"]
    body = client.post(
        "/answers", json={"question": "What did these trials find?", "paper_ids": paper_ids}
    ).json()
    markers_in_text = {int(m) for m in re.findall(r"\[(\d+)\]", body["answer"])}
    assert body["citations"], "the answer cites its sources"
    for citation in body["citations"]:
        assert citation["marker"] in markers_in_text
        assert citation["paper_id"] in paper_ids


def test_an_unknown_source_is_not_found(client: httpx.Client) -> None:
    response = client.post("/answers", json={"question": "Why?", "paper_ids": ["P0042", "P9999"]})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [{"question": "", "paper_ids": ["P0042"]}, {"question": "Why?", "paper_ids": []}, {}],
)
def test_an_invalid_body_is_a_bad_request(client: httpx.Client, body: dict[str, object]) -> None:
    response = client.post("/answers", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
