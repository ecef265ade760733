"""POST /summaries/batch: many summaries, one item per requested paper."""

from __future__ import annotations

import httpx

from fake_llm.corpus import get_paper


def test_items_come_back_in_request_order_with_their_summaries(client: httpx.Client) -> None:
    paper_ids = ["P0003", "P0001", "P0002"]
    response = client.post("/summaries/batch", json={"paper_ids": paper_ids})
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["paper_id"] for item in items] == paper_ids
    for item in items:
        paper = get_paper(item["paper_id"])
        assert paper is not None
        assert item["status"] == "ok"
        assert item["summary"] == paper.summary()
        assert item["provider"] == "openai"


def test_an_unknown_paper_fails_alone(client: httpx.Client) -> None:
    response = client.post("/summaries/batch", json={"paper_ids": ["P0001", "P9999"]})
    assert response.status_code == 200
    first, second = response.json()["items"]
    assert first["status"] == "ok"
    assert second["status"] == "error"
    assert second["error"]["code"] == "not_found"


def test_an_empty_batch_is_a_bad_request(client: httpx.Client) -> None:
    response = client.post("/summaries/batch", json={"paper_ids": []})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
