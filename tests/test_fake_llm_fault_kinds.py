"""Every registered fault kind, scripted once on a chat completion, has the effect
docs/fake-llm.md's fault table says a client sees: one row per kind, and no kind without a row."""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from fake_llm.corpus import get_paper
from fake_llm.faults import Plan, RequestContext, fault_kinds, make_fault
from fake_llm.faults.content import ANY_DRIFT, REFUSAL_TEXT
from fake_llm.faults.tools import ANY_ARGS_VARIANT
from fake_llm.model import read_prompt
from fake_llm.runner import FakeLLM
from tests.test_fake_llm_tool_faults import CASES as TOOL_CASES

SUMMARY = "Summarize paper P0042."
EXTRACT = "Extract the fields of paper P0042 as JSON."
ANSWER = "Answer the question with citations.\n[1] P0042 peer tutoring\n[2] P0007 something\nQuestion: what?"


@dataclass
class Seen:
    """What the client saw of one request, and the server's ledger row for it."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: Exception | None = None
    elapsed_s: float = 0.0
    first_chunk_s: float | None = None
    row: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        """The answer's text, plain or streamed."""
        if not self.headers.get("content-type", "").startswith("text/event-stream"):
            message = self.json()["choices"][0]["message"]
            return message["content"] if message["content"] is not None else message["refusal"]
        return "".join((c["choices"][0]["delta"].get("content") or "") for c in self.chunks()
                       if c.get("choices"))

    def frames(self) -> list[str]:
        return [f.removeprefix("data: ") for f in self.body.decode().split("\n\n") if f]

    def chunks(self) -> list[dict[str, Any]]:
        return [json.loads(f) for f in self.frames() if f != "[DONE]"]

    def finish_reasons(self) -> list[str]:
        return [c["choices"][0]["finish_reason"] for c in self.chunks()
                if c.get("choices") and c["choices"][0]["finish_reason"]]


def _call(fake: FakeLLM, prompt: str, stream: bool) -> Seen:
    body: dict[str, Any] = {"model": "sim-gpt-large", "messages": [{"role": "user", "content": prompt}]}
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    seen = Seen()
    started = time.monotonic()
    try:
        with httpx.stream("POST", f"{fake.openai_base_url}/chat/completions", json=body,
                          timeout=httpx.Timeout(10.0, read=5.0)) as response:
            seen.status, seen.headers = response.status_code, dict(response.headers)
            for piece in response.iter_raw():
                if seen.first_chunk_s is None and b'"content": "P' in piece:
                    seen.first_chunk_s = time.monotonic() - started
                seen.body += piece
    except httpx.HTTPError as error:
        seen.error = error
    seen.elapsed_s = time.monotonic() - started
    return seen


def _json_fails(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


Check = Callable[[Seen], None]
CASES: dict[str, tuple[dict[str, Any], str, bool, Check]] = {}


def case(kind: str, params: dict[str, Any], prompt: str = SUMMARY, stream: bool = False) -> Callable[
        [Check], Check]:
    def register(check: Check) -> Check:
        CASES[kind] = (params, prompt, stream, check)
        return check
    return register


@case("latency", {"delay_ms": 200})
def _latency(seen: Seen) -> None:
    assert seen.status == 200 and seen.row["delay_ms"] == 200
    assert seen.row["finish_s"] - seen.row["arrival_s"] >= 0.2


@case("hang", {"max_hang_s": 0.3})
def _hang(seen: Seen) -> None:
    """Nothing, then the connection is reset at max_hang_s (before the client's 5 s read timeout)."""
    assert isinstance(seen.error, httpx.TransportError) and seen.status is None
    assert not isinstance(seen.error, httpx.TimeoutException) and seen.elapsed_s >= 0.3
    assert seen.row["status"] is None


@case("slow_first_token", {"delay_ms": 300}, stream=True)
def _slow_first_token(seen: Seen) -> None:
    assert seen.status == 200 and seen.first_chunk_s is not None and seen.first_chunk_s >= 0.3
    assert seen.text == get_paper("P0042").summary()


@case("stall", {"after_chunks": 1, "pause_ms": 300}, stream=True)
def _stall(seen: Seen) -> None:
    assert seen.text == get_paper("P0042").summary() and seen.elapsed_s >= 0.3


@case("drip", {"chunk_interval_ms": 20}, stream=True)
def _drip(seen: Seen) -> None:
    pieces = sum(1 for c in seen.chunks() if c.get("choices") and c["choices"][0]["delta"].get("content"))
    assert seen.text == get_paper("P0042").summary() and seen.elapsed_s >= 0.02 * (pieces - 1)


@case("trickle", {"pieces": 3, "interval_ms": 50})
def _trickle(seen: Seen) -> None:
    assert seen.text == get_paper("P0042").summary() and seen.elapsed_s >= 0.1


@case("http_error", {"status": 503})
def _http_error(seen: Seen) -> None:
    assert seen.status == 503 and seen.json()["error"]["type"] == "server_error"


@case("rate_limit", {"retry_after_ms": 1500})
def _rate_limit(seen: Seen) -> None:
    assert seen.status == 429 and seen.headers["retry-after-ms"] == "1500"
    assert seen.headers["retry-after"] == "2"


@case("reset", {})
def _reset(seen: Seen) -> None:
    assert isinstance(seen.error, httpx.TransportError) and seen.status is None


@case("disconnect", {"after_chunks": 2}, stream=True)
def _disconnect(seen: Seen) -> None:
    assert seen.status == 200 and isinstance(seen.error, httpx.TransportError)
    assert b"[DONE]" not in seen.body


@case("empty_body", {})
def _empty_body(seen: Seen) -> None:
    assert seen.status == 200 and seen.body == b""


@case("wrong_content_type", {})
def _wrong_content_type(seen: Seen) -> None:
    assert seen.status == 200 and seen.headers["content-type"].startswith("text/html")
    assert _json_fails(seen.body.decode())


@case("truncate", {"keep_fraction": 0.5}, stream=True)
def _truncate(seen: Seen) -> None:
    assert seen.frames()[-1] == "[DONE]" and seen.finish_reasons() == []
    assert get_paper("P0042").summary().startswith(seen.text) and seen.text != get_paper("P0042").summary()
    assert not any(c.get("usage") for c in seen.chunks())


@case("corrupt_chunk", {"chunk_index": 1}, stream=True)
def _corrupt_chunk(seen: Seen) -> None:
    assert sum(1 for f in seen.frames() if f != "[DONE]" and _json_fails(f)) == 1


@case("stream_end", {"finish_reason": "length", "end_marker": False}, stream=True)
def _stream_end(seen: Seen) -> None:
    assert seen.finish_reasons() == ["length"] and seen.frames()[-1] != "[DONE]"


@case("error_event", {"after_chunks": 1}, stream=True)
def _error_event(seen: Seen) -> None:
    assert "error" in json.loads(seen.frames()[-1]) and seen.finish_reasons() == []


@case("schema_drift", {"variant": "string_number"}, prompt=EXTRACT)
def _schema_drift(seen: Seen) -> None:
    assert json.loads(seen.text)["sample_size"] == f"{get_paper('P0042').sample_size:,}"


@case("json_single_quotes", {}, prompt=EXTRACT)
def _json_single_quotes(seen: Seen) -> None:
    assert seen.text.startswith("{'paper_id': 'P0042'") and _json_fails(seen.text)


@case("json_trailing_comma", {}, prompt=EXTRACT)
def _json_trailing_comma(seen: Seen) -> None:
    assert seen.text.endswith(",}") and _json_fails(seen.text)


@case("json_fences", {}, prompt=EXTRACT)
def _json_fences(seen: Seen) -> None:
    assert seen.text.startswith("```json\n") and seen.text.endswith("\n```")


@case("json_prose_wrap", {}, prompt=EXTRACT)
def _json_prose_wrap(seen: Seen) -> None:
    assert seen.text.startswith("Sure! Here is the extracted information:") and _json_fails(seen.text)


@case("json_truncated", {"keep_fraction": 0.5}, prompt=EXTRACT)
def _json_truncated(seen: Seen) -> None:
    assert _json_fails(seen.text) and seen.json()["choices"][0]["finish_reason"] == "length"


@case("length_limit", {"keep_fraction": 0.5})
def _length_limit(seen: Seen) -> None:
    whole = get_paper("P0042").summary()
    assert seen.text == whole[: len(whole) // 2] and seen.json()["choices"][0]["finish_reason"] == "length"


@case("bad_citation", {"extra_markers": 1}, prompt=ANSWER)
def _bad_citation(seen: Seen) -> None:
    assert "[3]" in seen.text and "[1]" in seen.text


@case("answer_text", {"text": "No sources  say\nthat [9]."}, prompt=ANSWER)
def _answer_text(seen: Seen) -> None:
    assert seen.text == "No sources  say\nthat [9]."


@case("refusal", {})
def _refusal(seen: Seen) -> None:
    message = seen.json()["choices"][0]["message"]
    assert message["content"] is None and message["refusal"] == REFUSAL_TEXT


@case("empty_content", {})
def _empty_content(seen: Seen) -> None:
    assert seen.json()["choices"][0]["message"]["content"] == ""


def test_every_registered_kind_has_a_case():
    """The tool-call faults break tool calls, not text: tests/test_fake_llm_tool_faults.py has
    their table, on both wires."""
    assert set(CASES) | set(TOOL_CASES) | {"tool_loop"} == set(fault_kinds())  # tool_loop: its own test there
    assert not set(CASES) & set(TOOL_CASES)


@pytest.mark.parametrize("kind", list(CASES))
def test_each_kind_has_its_documented_effect(fake, kind):
    params, prompt, stream, check = CASES[kind]
    fake.admin.script([{"fault": {"kind": kind, **params}, "times": 1}])
    seen = _call(fake, prompt, stream)
    deadline = time.monotonic() + 5
    while not (rows := fake.admin.ledger()) or rows[0]["finish_s"] is None:
        assert time.monotonic() < deadline, "the request's row never closed"
        time.sleep(0.02)
    seen.row = rows[0]
    assert seen.row["fault"] == kind
    check(seen)
    assert fake.admin.script([]) == []  # the rule was used once and dropped


def test_the_cases_cover_the_doc_table():
    doc = (Path(__file__).parents[1] / "docs" / "fake-llm.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \| (?:timing|http|transport|stream|content) \|", doc,
                                re.MULTILINE))
    assert documented == set(CASES)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_faults_forms_are_faults_of_its_kind_that_draw_no_choice_left(kind):
    fault = fault_kinds()[kind](**CASES[kind][0])
    forms = fault.forms()
    assert forms and all(type(form) is type(fault) for form in forms.values())
    assert all(form.forms() == {"": form} for form in forms.values())
    assert (list(forms) == [""]) == (forms == {"": fault})


def test_an_http_error_has_a_form_per_status_and_each_sends_its_own():
    fault = make_fault({"kind": "http_error", "statuses": [429, 502, 503]})
    ctx = RequestContext("openai", "sim-gpt-large", read_prompt(SUMMARY), False)
    forms = fault.forms()
    assert list(forms) == ["429", "502", "503"]
    for label, form in forms.items():
        for seed in range(5):
            plan = Plan()
            form.apply(plan, ctx, random.Random(seed))
            assert plan.http_error is not None and plan.http_error.status == int(label)
    assert make_fault({"kind": "http_error", "status": 500}).forms() == {
        "": make_fault({"kind": "http_error", "status": 500})}


def test_schema_drift_any_has_the_forms_the_levels_draw():
    forms = make_fault({"kind": "schema_drift"}).forms()
    assert tuple(forms) == ANY_DRIFT
    assert [form.model_dump()["variant"] for form in forms.values()] == list(ANY_DRIFT)
    assert tuple(make_fault({"kind": "tool_args_schema"}).forms()) == ANY_ARGS_VARIANT
    assert make_fault({"kind": "tool_args_schema", "variant": "extra_key"}).forms() == {
        "": make_fault({"kind": "tool_args_schema", "variant": "extra_key"})}
