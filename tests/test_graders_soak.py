"""graders.soak: the request mix is deterministic and every response gets the verdict it deserves."""

from __future__ import annotations

from typing import Any

import pytest

from fake_llm.corpus import get_paper
from fake_llm.model import cited_answer
from graders.soak import (
    CORRECT,
    HONEST,
    KINDS,
    SERVER,
    WRONG,
    SoakResponse,
    classify,
    explain,
    soak_requests,
)

PAPER = get_paper("P0042")
assert PAPER is not None
SUMMARY = PAPER.summary()
TRUTH = {"paper_id": "P0042", **PAPER.truth()}
IDS = ["P0042", "P0007"]
ANSWER = cited_answer(((1, "P0042"), (2, "P0007")))
CITATIONS = [{"marker": 1, "paper_id": "P0042"}, {"marker": 2, "paper_id": "P0007"}]


def ok(body: Any, elapsed_s: float = 0.1) -> SoakResponse:
    return SoakResponse(200, body, elapsed_s=elapsed_s)


def error(status: int, code: str) -> SoakResponse:
    return SoakResponse(status, {"error": {"code": code, "message": "whatever"}}, elapsed_s=0.1)


def stream(*events: tuple[str, Any], step_s: float = 0.05) -> SoakResponse:
    timed = [(event, data, (i + 1) * step_s) for i, (event, data) in enumerate(events)]
    return SoakResponse(200, events=timed, elapsed_s=len(events) * step_s)


def deltas(text: str) -> list[tuple[str, Any]]:
    return [("delta", {"text": text[i:i + 16]}) for i in range(0, len(text), 16)]


DONE = ("done", {"provider": "openai", "model": "sim-gpt-large", "usage": {}})

CASES = [
    # (kind, request body, response, verdict)
    ("summary", {"paper_id": "P0042"}, ok({"paper_id": "P0042", "summary": SUMMARY}), CORRECT),
    ("summary", {"paper_id": "P0042"}, ok({"paper_id": "P0042", "summary": SUMMARY[:80]}), WRONG),
    ("summary", {"paper_id": "P0042"}, ok({"paper_id": "P0042", "summary": ""}), WRONG),
    ("summary", {"paper_id": "P0042"}, error(504, "llm_timeout"), HONEST),
    ("summary", {"paper_id": "P0042"}, error(500, "llm_timeout"), SERVER),
    ("summary", {"paper_id": "P0042"}, error(500, "internal_error"), SERVER),
    ("summary", {"paper_id": "P0042"}, SoakResponse(failure="no answer within 6.5 s"), SERVER),
    ("summary", {"paper_id": "P0042"}, ok({"paper_id": "P0042", "summary": SUMMARY}, elapsed_s=7.0), SERVER),
    ("summary", {"paper_id": "P9999"}, error(404, "not_found"), CORRECT),
    ("summary", {"paper_id": "P9999"}, ok({"paper_id": "P9999", "summary": "x"}), WRONG),
    ("summary", {"paper_id": "P0042"}, error(404, "not_found"), SERVER),
    ("extraction", {"paper_id": "P0042"}, ok(TRUTH), CORRECT),
    ("extraction", {"paper_id": "P0042"}, ok({**TRUTH, "sample_size": 0}), WRONG),
    ("extraction", {"paper_id": "P0042"}, ok({**TRUTH, "sample_size": str(TRUTH["sample_size"])}), WRONG),
    ("extraction", {"paper_id": "P0042"}, error(502, "llm_invalid_output"), HONEST),
    ("answer", {"paper_ids": IDS}, ok({"answer": ANSWER, "citations": CITATIONS}), CORRECT),
    ("answer", {"paper_ids": IDS}, ok({"answer": ANSWER + " More [3].", "citations": CITATIONS}), WRONG),
    ("answer", {"paper_ids": IDS}, ok({"answer": ANSWER, "citations": CITATIONS[:1]}), WRONG),
    ("answer", {"paper_ids": IDS}, ok({"answer": ANSWER, "citations": CITATIONS[::-1]}), WRONG),
    ("answer", {"paper_ids": IDS}, ok({"answer": ANSWER, "citations": [
        {"marker": 1, "paper_id": "P0007"}, {"marker": 2, "paper_id": "P0042"}]}), WRONG),
    ("answer", {"paper_ids": IDS}, error(503, "llm_unavailable"), HONEST),
    ("batch", {"paper_ids": IDS}, ok({"items": [
        {"paper_id": "P0042", "status": "ok", "summary": SUMMARY},
        {"paper_id": "P0007", "status": "error", "error": {"code": "llm_timeout"}}]}), HONEST),
    ("batch", {"paper_ids": ["P0042", "P9999"]}, ok({"items": [
        {"paper_id": "P0042", "status": "ok", "summary": SUMMARY},
        {"paper_id": "P9999", "status": "error", "error": {"code": "not_found"}}]}), CORRECT),
    ("batch", {"paper_ids": IDS}, ok({"items": [
        {"paper_id": "P0042", "status": "ok", "summary": SUMMARY},
        {"paper_id": "P0007", "status": "ok", "summary": ""}]}), WRONG),
    ("batch", {"paper_ids": IDS}, ok({"items": [
        {"paper_id": "P0007", "status": "error", "error": {"code": "llm_timeout"}},
        {"paper_id": "P0042", "status": "ok", "summary": SUMMARY}]}), WRONG),
    ("batch", {"paper_ids": IDS}, ok({"items": [
        {"paper_id": "P0042", "status": "ok", "summary": SUMMARY},
        {"paper_id": "P0007", "status": "error", "error": {"code": "internal_error"}}]}), SERVER),
    ("stream", {"paper_id": "P0042"}, stream(*deltas(SUMMARY), DONE), CORRECT),
    ("stream", {"paper_id": "P0042"}, stream(*deltas(SUMMARY)[:3], DONE), WRONG),
    ("stream", {"paper_id": "P0042"}, stream(*deltas(SUMMARY)[:3], ("error", {"code": "llm_incomplete"})),
     HONEST),
    ("stream", {"paper_id": "P0042"}, stream(*deltas(SUMMARY)[:3]), WRONG),
    ("stream", {"paper_id": "P0042"}, stream(DONE, ("error", {"code": "llm_timeout"})), SERVER),
    ("stream", {"paper_id": "P0042"}, stream(("error", {"code": "llm_timeout"}), step_s=5.0), SERVER),
    ("stream", {"paper_id": "P9999"}, error(404, "not_found"), CORRECT),
]


@pytest.mark.parametrize(("kind", "request_body", "response", "verdict"), CASES)
def test_classify(kind: str, request_body: dict[str, Any], response: SoakResponse, verdict: str) -> None:
    assert classify(kind, request_body, response) == verdict, explain(kind, request_body, response)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown request kind"):
        classify("poem", {}, SoakResponse())


def test_requests_are_deterministic_and_mixed() -> None:
    first, again, other = soak_requests(120, 7), soak_requests(120, 7), soak_requests(120, 8)
    assert first == again
    assert first != other
    assert {request.kind for request in first} == set(KINDS)
    assert all(request.path.startswith("/summaries") or request.path in ("/extractions", "/answers")
               for request in first)
