"""Carrying out a plan (fake_llm/exchange.py), driven as a bare ASGI response: the answer's text
and accounting, what each plan sends, and the ledger row closed whatever happens."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest

from fake_llm.exchange import DisconnectWatch, Exchange, PlannedResponse
from fake_llm.faults import HttpError, Plan, RequestContext
from fake_llm.ledger import Ledger
from fake_llm.model import count_tokens, read_prompt
from fake_llm.pipeline import build_answer
from fake_llm.pricing import MODELS
from fake_llm.wire import OpenAIWire, ParsedRequest

TEXT = "Summarize paper P0042."


def parsed(stream: bool = False, max_tokens: int | None = None) -> ParsedRequest:
    return ParsedRequest(MODELS["sim-gpt-large"], TEXT, stream, True, max_tokens)


def context(stream: bool = False) -> RequestContext:
    return RequestContext("openai", "sim-gpt-large", read_prompt(TEXT), stream)


class Client:
    """The ASGI side of one exchange: what was sent, and a receive that may report a disconnect."""

    def __init__(self, gone: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.gone = gone

    async def receive(self) -> dict[str, Any]:
        if self.gone:
            return {"type": "http.disconnect"}
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int | None:
        starts = [m["status"] for m in self.sent if m["type"] == "http.response.start"]
        return starts[0] if starts else None

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


class SlowClient(Client):
    """A client whose transport takes its time over the response's last message, as a loaded
    server's may; it notes the ledger's clock as each message is handed to it, and whether the
    row was still open when the last one was."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__()
        self.ledger = ledger
        self.handed_s: list[float] = []
        self.open_at_end: tuple[float | None, int] | None = None  # the row's finish_s, in flight

    async def send(self, message: dict[str, Any]) -> None:
        self.handed_s.append(self.ledger.now_s())
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.open_at_end = (self.ledger.rows[-1].finish_s, self.ledger.in_flight)
            await asyncio.sleep(0.02)
        await super().send(message)


def run(plan: Plan, stream: bool = False, gone: bool = False, max_tokens: int | None = None,
        ledger: Ledger | None = None, client: Client | None = None) -> tuple[Client, Ledger, Any, list[str]]:
    ledger = ledger or Ledger(capacity=4)
    row = ledger.open(provider="openai", model="sim-gpt-large", task="summary", paper_ids=["P0042"],
                      fingerprint="f", attempt=1, stream=stream, retry_count=None, api_key=None)
    request = parsed(stream, max_tokens)
    answer = build_answer(OpenAIWire(), context(stream), request, plan, random.Random(1))
    closed: list[str] = []
    exchange = Exchange(OpenAIWire(), context(stream), request, plan, row, ledger, answer,
                        {"x-test": "1"}, chunk_chars=16, on_close=lambda: closed.append("closed"))
    client = client or Client(gone)
    asyncio.run(PlannedResponse(exchange)({"type": "http"}, client.receive, client.send))
    return client, ledger, row, closed


def test_a_plain_answer_is_billed_and_its_row_closed():
    client, ledger, row, closed = run(Plan())
    body = json.loads(client.body)
    assert client.status == 200 and body["choices"][0]["message"]["content"].startswith("P0042")
    assert (row.status, row.tokens_out, row.usage_reported) == (200, body["usage"]["completion_tokens"],
                                                               True)
    assert row.cost_usd == MODELS["sim-gpt-large"].cost_usd(row.tokens_in, row.tokens_out) > 0
    assert row.finish_s is not None and ledger.in_flight == 0 and closed == ["closed"]
    assert (b"x-test", b"1") in client.sent[0]["headers"]


def test_an_http_error_is_sent_unbilled():
    client, _, row, closed = run(Plan(http_error=HttpError(429, retry_after_ms=1500)))
    headers = dict(client.sent[0]["headers"])
    assert client.status == 429 and headers[b"retry-after-ms"] == b"1500"
    assert (row.status, row.tokens_out, row.cost_usd) == (429, 0, 0.0) and closed == ["closed"]


@pytest.mark.parametrize(("transport", "body", "content_type"), [
    ("empty_body", b"", b"application/json"),
    ("wrong_content_type", b"<!DOCTYPE html>", b"text/html; charset=utf-8")])
def test_plain_transport_faults_change_the_body(transport, body, content_type):
    client, _, row, _ = run(Plan(transport=transport))
    assert client.status == 200 and client.body.startswith(body)
    assert dict(client.sent[0]["headers"])[b"content-type"] == content_type
    assert row.usage_reported is False


def test_a_client_gone_during_the_wait_gets_nothing_and_is_recorded():
    client, ledger, row, closed = run(Plan(delay_s=0.2), gone=True)
    assert client.sent == [] and row.client_gone and row.status is None
    assert row.finish_s is not None and ledger.in_flight == 0 and closed == ["closed"]


def test_a_stream_sends_the_answer_in_chunks_then_usage_and_done():
    client, _, row, _ = run(Plan(), stream=True)
    frames = [f for f in client.body.decode().split("\n\n") if f]
    assert frames[-1] == "data: [DONE]"
    chunks = [json.loads(f.removeprefix("data: ")) for f in frames[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert len(chunks) > 3 and text.startswith("P0042") and chunks[-1]["usage"]["completion_tokens"]
    assert row.usage_reported and row.status == 200


def test_a_truncated_stream_ends_early_without_usage():
    client, _, row, _ = run(Plan(truncate_fraction=0.5, finish_reason=None), stream=True)
    assert b'"usage"' not in client.body and client.body.endswith(b"data: [DONE]\n\n")
    assert row.usage_reported is False


def test_an_error_event_ends_the_stream():
    client, _, row, _ = run(Plan(error_event_after_chunks=1), stream=True)
    frames = [f for f in client.body.decode().split("\n\n") if f]
    assert '"error"' in frames[-1] and len(frames) == 3  # the head, one piece, the error
    assert row.usage_reported is False


@pytest.mark.parametrize(("plan", "stream"), [
    (Plan(), False),
    (Plan(body_pieces=3), False),
    (Plan(http_error=HttpError(429, retry_after_ms=100)), False),
    (Plan(), True),
    (Plan(truncate_fraction=0.5, finish_reason=None), True),
    (Plan(error_event_after_chunks=1), True),
    (Plan(error_event_after_chunks=10_000), True)],
    ids=["plain", "plain-in-pieces", "http-error", "stream", "truncated-stream", "error-event",
         "error-event-at-the-end"])
def test_the_finish_is_when_the_last_message_is_handed_over_not_when_send_returns(plan, stream):
    ledger = Ledger(capacity=4)
    client = SlowClient(ledger)
    _, _, row, _ = run(plan, stream, ledger=ledger, client=client)
    assert client.sent[-1]["type"] == "http.response.body" and not client.sent[-1].get("more_body")
    assert client.handed_s[-2] <= row.finish_s <= client.handed_s[-1]
    assert client.open_at_end == (None, 1) and ledger.in_flight == 0  # in flight until send returned


def test_build_answer_cuts_at_max_tokens_and_says_length():
    answer = build_answer(OpenAIWire(), context(), parsed(max_tokens=5), Plan(), random.Random(1))
    assert (answer.finish_reason, answer.tokens_out, len(answer.text)) == ("length", 5, 20)
    assert answer.tokens_in == count_tokens(TEXT) and answer.response_id.startswith("chatcmpl-")


def test_build_answer_keeps_a_refusal_when_cut():
    plan = Plan(finish_reason="refusal")
    answer = build_answer(OpenAIWire(), context(), parsed(max_tokens=2), plan, random.Random(1))
    assert answer.finish_reason == "refusal"


def test_disconnect_watch_sleeps_unless_the_client_left():
    async def both() -> tuple[bool, bool]:
        stays = await DisconnectWatch(Client(gone=False).receive).sleep(0.06)
        leaves = await DisconnectWatch(Client(gone=True).receive).sleep(5.0)
        return stays, leaves

    assert asyncio.run(both()) == (False, True)
