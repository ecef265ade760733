"""graders.soak: the request mix is deterministic, no two requests ask the model the same thing, every
fault kind of a level is met for sure, and every response gets the verdict it deserves."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from fake_llm.corpus import get_paper
from fake_llm.fate import Match
from fake_llm.faults import RequestContext
from fake_llm.model import cited_answer, read_prompt
from fake_llm.profiles import load_profile
from fake_llm.runner import FakeLLM
from fake_llm.weather import Weather, WeatherKnobs
from fake_llm.weather.phases import Outage
from graders import soak
from graders.soak import (
    CALL_TYPES,
    CORRECT,
    HONEST,
    KINDS,
    SERVER,
    SIZES,
    WRONG,
    FaultCover,
    Leg,
    SoakResponse,
    classify,
    explain,
    soak_requests,
    weather_legs,
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


# --- no two requests ask the model the same thing ---------------------------------------------------

def asks(request: soak.SoakRequest) -> list[tuple[str, str]]:
    """(task, paper) of every model call a request makes about a paper that exists."""
    ids = request.body.get("paper_ids") or [request.body["paper_id"]]
    return [(CALL_TYPES[request.kind][0], str(p)) for p in ids if get_paper(str(p)) is not None]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("n", [30, 80, 120, 150])
def test_no_two_requests_ask_the_model_about_the_same_paper(seed: int, n: int) -> None:
    asked = Counter(ask for request in soak_requests(n, seed) for ask in asks(request))
    assert asked and max(asked.values()) == 1, asked.most_common(3)


def test_a_soak_longer_than_the_corpus_reuses_papers_only_then() -> None:
    requests = soak_requests(600, 0)
    asked = Counter(ask for request in requests for ask in asks(request))
    assert max(asked.values()) > 1
    for request in requests:
        ids = request.body.get("paper_ids") or [request.body["paper_id"]]
        assert len(set(ids)) == len(ids)


# --- the fault cover ----------------------------------------------------------------------------------

KNOBS = {"faults": {
    "http_error": {"probability": 0.10, "statuses": [429, 503], "retry_after_ms": 400},
    "reset": {"probability": 0.03},
    "stall": {"probability": 0.02, "pause_ms": 3000},
    "schema_drift": {"probability": 0.04},
    "bad_citation": {"probability": 0.05},
    "drip": {"probability": 0.0},
    "tool_loop": {"probability": 0.2},
}}
REQUESTS = soak_requests(120, 0)


OUTAGE = Weather(WeatherKnobs(120, (Outage(provider="openai", length_ticks=30, start_tick=40),),
                              digest="d"), 0)


def outage_legs(n: int) -> list[Leg]:
    return weather_legs(n, OUTAGE.view(0, 120))


def test_the_cover_meets_every_fault_on_every_kind_of_call_it_applies_to() -> None:
    cover = FaultCover(REQUESTS, KNOBS, share=1.0)
    met = {(c.name, c.call) for c in cover.planned}
    summary, stream, extract, answer = ("summary", False), ("summary", True), ("extract", False), \
        ("answer", False)
    assert ("stall", stream) in met and ("bad_citation", answer) in met
    assert {("schema_drift string_number", extract), ("schema_drift missing_key", extract)} <= met
    for name in ("http_error 429", "http_error 503", "reset"):
        assert {call for fault, call in met if fault == name} == {summary, stream, extract, answer}
    assert not {fault for fault, _ in met} & {"drip", "tool_loop"}  # never drawn; no soak call meets it
    assert {c.fault.get("status") for c in cover.planned if c.kind == "http_error"} == {429, 503}
    assert all(c.fault.get("retry_after_ms") == 400 for c in cover.planned if c.kind == "http_error")


def test_a_fault_only_one_kind_of_call_meets_is_covered_first_and_the_rest_share_the_room() -> None:
    cover = FaultCover(REQUESTS, KNOBS, share=0.1)
    names = Counter(c.name for c in cover.planned)
    assert names["stall"] == names["bad_citation"] == 1
    assert names["schema_drift string_number"] == names["schema_drift missing_key"] == 1
    assert all(names[name] >= 1 for name in ("http_error 429", "http_error 503", "reset"))
    per_call = Counter(c.call for c in cover.planned)
    stream_requests = sum(1 for r in REQUESTS if r.kind == "stream")
    assert per_call[("summary", True)] <= max(1, round(stream_requests * 0.1))


def test_each_cover_has_a_request_of_its_own_outside_refusing_legs_and_unknown_papers() -> None:
    legs = outage_legs(len(REQUESTS))
    refusing = {i for leg in legs if leg.refuses for i in range(leg.first, leg.stop)}
    cover = FaultCover(REQUESTS, KNOBS, legs, share=1.0)
    places = [(c.index, c.paper_id) for c in cover.planned]
    assert len(places) == len(set(places)) and places
    for c in cover.planned:
        request = REQUESTS[c.index]
        assert c.index not in refusing
        assert CALL_TYPES[request.kind] == c.call
        assert get_paper(c.paper_id) is not None and (c.call[0], c.paper_id) in asks(request)


def call_of(request: soak.SoakRequest, paper: str, stream: bool) -> RequestContext:
    """The model call an app makes for one soak request (one batch item's, for a batch)."""
    task = CALL_TYPES[request.kind][0]
    ids = request.body.get("paper_ids") if request.kind == "answer" else [paper]
    sources = "\n".join(f"[{i}] {pid}: ..." for i, pid in enumerate(ids, 1))
    text = {"summary": f"Summarize paper {paper}.", "extract": f"Extract the fields of paper {paper}.",
            "answer": f"Sources:\n{sources}\nQuestion: {request.body.get('question')}"}[task]
    return RequestContext("openai", "sim-gpt-large", read_prompt(text), stream)


def test_a_covers_rule_matches_its_requests_call_and_no_other_requests() -> None:
    cover = FaultCover(REQUESTS, KNOBS, share=1.0)
    calls = [(r.index, call_of(r, paper, CALL_TYPES[r.kind][1]))
             for r in REQUESTS for _, paper in asks(r)]
    for c in cover.planned:
        match = Match.model_validate(c.rule()["match"])
        assert {index for index, ctx in calls if match.matches(ctx)} == {c.index}, c


class Admin:
    """The fake's admin API as the soak uses it; an app that calls the model for some requests only."""

    def __init__(self, requests: list[soak.SoakRequest], silent: set[int]) -> None:
        self.requests, self.silent = requests, silent
        self.tick: int | None = None
        self.rules: list[dict[str, Any]] = []
        self.scripted: list[tuple[int, list[int]]] = []  # (leg tick, the rules' request indexes)
        self.taken: list[int] = []

    def weather(self, from_tick: int | None = None, to_tick: int | None = None) -> dict[str, Any]:
        return OUTAGE.view(from_tick, to_tick)

    def set_clock(self, tick: int | None = None, **_: Any) -> dict[str, Any]:
        self.tick = tick
        return {}

    def profile(self) -> dict[str, Any]:
        return {"knobs": KNOBS, "rules": [{"match": r["match"]} for r in self.rules]}

    def script(self, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.rules.extend(rules)
        self.scripted.append((self.tick, [self._index(r) for r in rules]))
        return rules

    def clear_script(self) -> None:
        self.rules.clear()

    def _index(self, rule: dict[str, Any]) -> int:
        task, paper = rule["match"]["task"], rule["match"]["paper_id"]
        return next(r.index for r in self.requests if (task, paper) in asks(r))

    def send(self, client: Any, request: soak.SoakRequest) -> SoakResponse:
        if request.index not in self.silent:  # the app calls the model: the request's rule is taken
            mine = [r for r in self.rules if self._index(r) == request.index]
            for rule in mine:
                self.rules.remove(rule)
                self.taken.append(request.index)
        return SoakResponse(failure="not sent")


def test_the_soak_scripts_each_legs_covers_and_moves_the_ones_no_call_took(monkeypatch) -> None:
    legs = outage_legs(len(REQUESTS))
    plan = FaultCover(REQUESTS, KNOBS, legs).planned
    first_leg = [c.index for c in plan if c.index < legs[0].stop]
    silent = set(first_leg[:2])  # the app answers these without calling the model (a breaker is open)
    admin = Admin(REQUESTS, silent)
    monkeypatch.setattr(soak, "CLEARING_S", 0.0)
    monkeypatch.setattr(soak, "PACE_S", 0.0)
    monkeypatch.setattr(soak, "send", admin.send)
    report = soak.run_soak("http://127.0.0.1:9", REQUESTS, 4, weather=admin)
    cover = report.cover
    assert cover is not None
    for tick, indexes in admin.scripted:  # each leg scripts only its own requests' covers
        leg = next(leg for leg in legs if leg.tick == tick)
        assert all(leg.first <= i < leg.stop for i in indexes)
    assert not any(leg.refuses for leg in legs if leg.tick in {t for t, _ in admin.scripted})
    assert cover.moves == 2 and not cover.missed
    assert sorted(admin.taken) == sorted(c.index for c in cover.met)
    assert not silent & {c.index for c in cover.met}
    assert len(cover.met) == len(plan) and not admin.rules


def test_a_cover_with_no_later_request_left_is_missed(monkeypatch) -> None:
    requests = soak_requests(30, 0)
    admin = Admin(requests, silent=set(range(len(requests))))  # no request calls the model
    monkeypatch.setattr(soak, "CLEARING_S", 0.0)
    monkeypatch.setattr(soak, "PACE_S", 0.0)
    monkeypatch.setattr(soak, "send", admin.send)
    report = soak.run_soak("http://127.0.0.1:9", requests, 4, weather=admin)
    assert report.cover is not None and report.cover.missed and not report.cover.met
    assert len(report.cover.missed) == len(report.cover.planned) and not admin.rules


@pytest.mark.parametrize("level", ["realistic", "stormy", "hurricane"])
def test_every_shipped_levels_soak_covers_each_of_its_faults_a_soak_call_can_meet(level: str) -> None:
    knobs = load_profile(level).as_dict()["knobs"]
    requests = soak_requests(SIZES[level], 0)
    cover = FaultCover(requests, knobs)
    drawn = {kind for kind, params in knobs["faults"].items() if params.get("probability", 0) > 0}
    soak_calls = {kind for kind in drawn if not kind.startswith("tool_")}
    assert {c.kind for c in cover.planned} == soak_calls
    statuses = set(knobs["faults"]["http_error"]["statuses"])
    assert {c.fault["status"] for c in cover.planned if c.kind == "http_error"} == statuses


def test_the_calm_level_has_nothing_to_cover() -> None:
    assert FaultCover(soak_requests(30, 0), load_profile("calm").as_dict()["knobs"]).planned == []


def test_a_covers_rule_gives_its_fault_to_its_call_on_the_fake(fake: FakeLLM) -> None:
    stream = next(r for r in REQUESTS if r.kind == "stream" and asks(r))
    paper = asks(stream)[0][1]
    cover = soak.Cover(stream.index, "stall", paper, ("summary", True), {"kind": "stall", "pause_ms": 5})
    other = next(r for r in REQUESTS if r.kind == "stream" and asks(r) and r is not stream)
    fake.admin.script([cover.rule()])

    def ask(paper_id: str, streamed: bool = True) -> str:
        body = {"model": "sim-gpt-large", "stream": streamed,
                "messages": [{"role": "user", "content": f"Summarize paper {paper_id}."}]}
        with httpx.stream("POST", f"{fake.openai_base_url}/chat/completions", json=body,
                          timeout=10) as response:
            response.read()
            return response.headers["x-fake-llm-fault"]

    assert ask(asks(other)[0][1]) == "none"
    assert ask(paper, streamed=False) == "none"  # a stall waits for a streamed call
    assert ask(paper) == "stall"
    assert ask(paper) == "none"  # one call only
    assert fake.admin.profile()["rules"] == []
