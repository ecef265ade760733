"""POST /summaries/stream: the summary as server-sent events."""

from __future__ import annotations

import httpx
from support import read_events

from fake_llm.corpus import get_paper


def test_the_deltas_make_up_the_summary_then_done(client: httpx.Client) -> None:
    paper = get_paper("P0042")
    assert paper is not None
    response = client.post("/summaries/stream", json={"paper_id": "P0042"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = read_events(response)
    *deltas, (last_event, last_data) = events
    assert len(deltas) > 1, "the summary arrives in pieces"
    assert all(event == "delta" for event, _ in deltas)
    assert "".join(data["text"] for _, data in deltas) == paper.summary()
    assert last_event == "done"
    assert (last_data["provider"], last_data["model"]) == ("openai", "sim-gpt-large")


def test_an_unknown_paper_is_not_found_before_any_stream(client: httpx.Client) -> None:
    response = client.post("/summaries/stream", json={"paper_id": "P9999"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
