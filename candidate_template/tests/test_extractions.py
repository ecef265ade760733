"""POST /extractions: a paper's trial details, as the paper reports them."""

from __future__ import annotations

import httpx
import pytest

from fake_llm.corpus import get_paper


@pytest.mark.parametrize("paper_id", ["P0001", "P0042", "P0137", "P0240"])
def test_the_extraction_is_what_the_paper_says(client: httpx.Client, paper_id: str) -> None:
    paper = get_paper(paper_id)
    assert paper is not None
    response = client.post("/extractions", json={"paper_id": paper_id})
    assert response.status_code == 200
    body = response.json()
    assert body["paper_id"] == paper_id
    assert {key: body[key] for key in paper.truth()} == paper.truth()
    assert (body["provider"], body["model"]) == ("openai", "sim-gpt-large")
    assert body["usage"]["total_tokens"] > 0


def test_an_unknown_paper_is_not_found(client: httpx.Client) -> None:
    response = client.post("/extractions", json={"paper_id": "P0000"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
