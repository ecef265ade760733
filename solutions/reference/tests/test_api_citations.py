"""POST /answers: every citation points where its marker says, made-up markers are removed."""

from __future__ import annotations

import re

import httpx
from conftest import calls, script

from fake_llm.corpus import get_paper
from fake_llm.runner import FakeLLM

IDS = ["P0042", "P0007", "P0113"]
QUESTION = {"question": "What did these trials find?", "paper_ids": IDS}


def test_marker_n_is_the_nth_paper_given(client: httpx.Client) -> None:
    body = client.post("/answers", json=QUESTION).json()
    assert body["citations"] == [{"marker": n, "paper_id": pid} for n, pid in enumerate(IDS, 1)]
    # The fake writes one sentence per source, ending in its marker: check each against its paper.
    for sentence, paper_id in zip(re.findall(r"[^.]*\[\d+\]\.", body["answer"]), IDS, strict=True):
        paper = get_paper(paper_id)
        assert paper is not None
        assert paper.intervention.lower() in sentence.lower()


def test_a_made_up_marker_is_removed_and_never_cited(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "bad_citation", "extra_markers": 2}, task="answer")
    body = client.post("/answers", json=QUESTION).json()
    assert "[4]" not in body["answer"] and "[5]" not in body["answer"]
    assert "confirm this." in body["answer"]
    assert [c["marker"] for c in body["citations"]] == [1, 2, 3]
    assert len(calls(fake, task="answer")) == 1, "removed, not re-asked"


def test_unknown_sources_are_refused_before_any_call(fake: FakeLLM, client: httpx.Client) -> None:
    response = client.post("/answers", json={"question": "Why?", "paper_ids": ["P0042", "P9999"]})
    assert response.status_code == 404
    assert calls(fake) == []
