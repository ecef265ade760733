"""Extractions, summaries and answers against almost-JSON and other unusable replies."""

from __future__ import annotations

import httpx
import pytest
from conftest import calls, script

from fake_llm.corpus import get_paper
from fake_llm.runner import FakeLLM

PAPER = "P0042"


def truth(paper_id: str = PAPER) -> dict[str, object]:
    paper = get_paper(paper_id)
    assert paper is not None
    return {"paper_id": paper_id, **paper.truth()}


def extraction_fields(body: dict[str, object]) -> dict[str, object]:
    return {key: body[key] for key in truth()}


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "json_fences"},
        {"kind": "json_prose_wrap"},
        {"kind": "json_trailing_comma"},
        {"kind": "json_single_quotes"},
        {"kind": "schema_drift", "variant": "string_number"},
    ],
    ids=lambda fault: str(fault.get("variant", fault["kind"])),
)
def test_disguised_json_is_repaired_without_another_call(
    fake: FakeLLM, client: httpx.Client, fault: dict[str, object]
) -> None:
    script(fake, fault, task="extract")
    response = client.post("/extractions", json={"paper_id": PAPER})
    assert response.status_code == 200
    assert extraction_fields(response.json()) == truth()
    assert len(calls(fake, task="extract")) == 1


def test_every_disguise_at_once_is_repaired(fake: FakeLLM, client: httpx.Client) -> None:
    faults = [{"kind": kind} for kind in
              ("json_single_quotes", "json_trailing_comma", "json_fences", "json_prose_wrap")]
    fake.admin.script([{"match": {"task": "extract"}, "faults": faults, "times": 1}])
    response = client.post("/extractions", json={"paper_id": "P0002"})
    assert response.status_code == 200
    assert extraction_fields(response.json()) == truth("P0002")


@pytest.mark.parametrize(
    "fault",
    [{"kind": "schema_drift", "variant": "missing_key"}, {"kind": "json_truncated"},
     {"kind": "refusal"}, {"kind": "empty_content"}],
    ids=lambda fault: str(fault.get("variant", fault["kind"])),
)
def test_what_cannot_be_repaired_is_re_asked(
    fake: FakeLLM, client: httpx.Client, fault: dict[str, object]
) -> None:
    script(fake, fault, task="extract")
    response = client.post("/extractions", json={"paper_id": PAPER})
    assert response.status_code == 200
    assert extraction_fields(response.json()) == truth()
    rows = calls(fake, task="extract")
    assert [row["fault"] for row in rows] == [fault["kind"], "none"]


def test_three_bad_generations_are_an_honest_502(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "json_truncated"}, times=None, task="extract")
    response = client.post("/extractions", json={"paper_id": PAPER})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "llm_invalid_output"
    assert len(calls(fake, task="extract")) == 3


@pytest.mark.parametrize("fault", ["empty_body", "wrong_content_type"])
def test_an_unreadable_200_is_retried(fake: FakeLLM, client: httpx.Client, fault: str) -> None:
    script(fake, {"kind": fault}, task="extract")
    response = client.post("/extractions", json={"paper_id": PAPER})
    assert response.status_code == 200
    assert len(calls(fake)) == 2


@pytest.mark.parametrize("fault", ["empty_body", "wrong_content_type"])
def test_unreadable_200s_to_the_last_attempt_are_invalid_output(
    fake: FakeLLM, client: httpx.Client, fault: str
) -> None:
    script(fake, {"kind": fault}, times=None, task="extract")
    response = client.post("/extractions", json={"paper_id": PAPER})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "llm_invalid_output"
    assert len(calls(fake)) == 4


@pytest.mark.parametrize("fault", ["refusal", "empty_content"])
def test_a_summary_is_never_empty_or_refused(
    fake: FakeLLM, client: httpx.Client, fault: str
) -> None:
    script(fake, {"kind": fault}, task="summary")
    response = client.post("/summaries", json={"paper_id": PAPER})
    assert response.status_code == 200
    paper = get_paper(PAPER)
    assert paper is not None
    assert response.json()["summary"] == paper.summary()
    assert len(calls(fake, task="summary")) == 2


def test_a_summary_that_stays_empty_is_a_502_not_a_blank(
    fake: FakeLLM, client: httpx.Client
) -> None:
    script(fake, {"kind": "empty_content"}, times=None, task="summary")
    response = client.post("/summaries", json={"paper_id": PAPER})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "llm_invalid_output"
    assert calls(fake, provider="anthropic") == [], "bad output is no reason to fall back"


def test_a_refused_answer_is_re_asked(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "refusal"}, task="answer")
    response = client.post("/answers", json={"question": "Why?", "paper_ids": [PAPER]})
    assert response.status_code == 200
    assert response.json()["citations"] == [{"marker": 1, "paper_id": PAPER}]
    assert len(calls(fake, task="answer")) == 2
