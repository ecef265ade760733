"""GET /health and GET /papers/{paper_id}: the endpoints that need no model."""

from __future__ import annotations

import httpx

from fake_llm.corpus import get_paper


def test_health_answers_ok(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_a_paper_is_its_public_record(client: httpx.Client) -> None:
    paper = get_paper("P0042")
    assert paper is not None
    response = client.get("/papers/P0042")
    assert response.status_code == 200
    assert response.json() == paper.public()


def test_an_unknown_paper_is_not_found(client: httpx.Client) -> None:
    response = client.get("/papers/P9999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
