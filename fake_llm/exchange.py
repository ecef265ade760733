"""Carrying out a plan: one request's response, from the first wait to the last byte.

A :class:`PlannedResponse` is an ASGI response that waits, fails, answers or streams as its
:class:`~fake_llm.faults.Plan` says, watches for the client going away, and completes the
request's ledger row whatever happens: each way of ending returns its :class:`Outcome`, and the
row is closed with it in one place.

A response's last message goes through :func:`_send_end`, which stamps the row's finish just
before handing it over; the row still counts as in flight until it closes. Stamped after
``send`` returns instead, the finish would also take in whatever held the server up meanwhile (a
send that yields to a busy event loop, a garbage collection, the process waiting for a core):
the client may already have the response and be calling again, and the wait between the two
would read short by that much, failing a correct app on a loaded machine. An exchange that ends
without a last message (a hang or reset, a cut connection, a client gone) is stamped when it
ends, as the row closes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from fake_llm.connection import abort_connection
from fake_llm.errors import ApiError, render_error
from fake_llm.faults import Plan, RequestContext
from fake_llm.faults.stream import ending_tail
from fake_llm.ledger import Ledger, LedgerRow, Outcome
from fake_llm.wire import Answer, ParsedRequest, Wire

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_SHORT_WAIT_S = 0.05
CAPTIVE_PAGE = ("<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
                "<p>Checking your connection before accessing the API.</p></body></html>")


class DisconnectWatch:
    """Sleeps that end early when the client disconnects.

    A watcher task reads ``receive`` for the disconnect; it is started only for waits long enough
    to matter and never cancelled: once the response is complete (or the connection is gone)
    uvicorn's ``receive`` says ``http.disconnect`` and the task ends by itself. Cancelling it
    instead would leave a traceback cycle holding the request's whole scope for the cyclic
    garbage collector, which costs a third of the server's time under load.
    """

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._gone = False
        self._waiter: asyncio.Future[bool] | None = None
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self._gone = True
                if self._waiter is not None and not self._waiter.done():
                    self._waiter.set_result(True)
                return

    async def sleep(self, seconds: float) -> bool:
        """Wait; returns True if the client has gone away."""
        if seconds <= 0:
            return self._gone
        if seconds < _SHORT_WAIT_S:  # a chunk gap or calm's latency: not worth a watcher
            await asyncio.sleep(seconds)
            return self._gone
        if self._task is None:
            self._task = asyncio.ensure_future(self._watch())
        if self._gone:
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiter = waiter
        timer = loop.call_later(seconds, _resolve, waiter, False)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._waiter = None


def _resolve(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)


@dataclass
class Exchange:
    """Everything one response needs to know."""

    wire: Wire
    ctx: RequestContext
    parsed: ParsedRequest
    plan: Plan
    row: LedgerRow
    ledger: Ledger
    answer: Answer | None
    headers: dict[str, str]
    chunk_chars: int
    on_close: Callable[[], None] | None = None
    finish_s: float | None = None  # when the response's last message was handed over (ledger clock)


def _header_list(headers: dict[str, str], content_type: str) -> list[tuple[bytes, bytes]]:
    items = [(b"content-type", content_type.encode())]
    items += [(k.encode(), v.encode()) for k, v in headers.items()]
    return items


class PlannedResponse(Response):
    """The ASGI response that carries out an exchange's plan."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.background = None

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        ex = self.exchange
        outcome = Outcome()
        try:
            outcome = await self._run(ex, DisconnectWatch(receive), send)
        finally:
            ex.ledger.close(ex.row, outcome, ex.finish_s)
            if ex.on_close is not None:
                ex.on_close()

    async def _run(self, ex: Exchange, watch: DisconnectWatch, send: Send) -> Outcome:
        plan = ex.plan
        wait_s = plan.hang_s if plan.hang_s is not None else plan.delay_s
        answers_plainly = (plan.hang_s is None and plan.http_error is None and plan.transport != "reset"
                           and not ex.parsed.stream)
        # Rendered before the wait, so that the wait ends with nothing left to do but send it.
        plain = self._plain_body(ex) if answers_plainly else None
        # The delay runs from the request's arrival, so the time spent on it so far is inside it.
        arrived = ex.ledger.started_at + ex.row.arrival_s
        if await watch.sleep(arrived + wait_s - time.monotonic()):
            return Outcome(client_gone=True)
        if plan.hang_s is not None or plan.transport == "reset":
            await abort_connection()
            return Outcome()
        if plan.http_error is not None:
            error = plan.http_error
            status = await self._send_error(ex, send, ApiError(
                error.status, retry_after_ms=error.retry_after_ms, should_retry=error.should_retry))
            return Outcome(status)
        assert ex.answer is not None
        if plain is None:
            usage_reported, gone = await self._stream(ex, watch, send)
        else:
            usage_reported, gone = await self._plain(ex, watch, send, *plain)
        answer = ex.answer
        return Outcome(200, answer.tokens_in, answer.tokens_out,
                       ex.parsed.model.cost_usd(answer.tokens_in, answer.tokens_out), usage_reported, gone,
                       tuple(call.name for call in answer.tool_calls))

    async def _send_error(self, ex: Exchange, send: Send, error: ApiError) -> int:
        """Send the error; returns its status."""
        rendered = render_error(ex.wire.provider, error)
        headers = {**ex.headers, **rendered.headers, "content-length": str(len(rendered.body))}
        await send({"type": "http.response.start", "status": rendered.status,
                    "headers": _header_list(headers, rendered.content_type)})
        await _send_end(ex, send, {"type": "http.response.body", "body": rendered.body})
        return rendered.status

    @staticmethod
    def _plain_body(ex: Exchange) -> tuple[bytes, str]:
        """A plain answer's body and content type, as the plan's transport fault leaves them."""
        if ex.plan.transport == "empty_body":
            return b"", "application/json"
        if ex.plan.transport == "wrong_content_type":
            return CAPTIVE_PAGE.encode(), "text/html; charset=utf-8"
        assert ex.answer is not None
        return json.dumps(ex.wire.body(ex.parsed.model, ex.answer)).encode(), "application/json"

    async def _plain(self, ex: Exchange, watch: DisconnectWatch, send: Send, body: bytes,
                     content_type: str) -> tuple[bool, bool]:
        """Send a plain answer; returns (usage reported, client gone)."""
        transport = ex.plan.transport
        headers = {**ex.headers, "content-length": str(len(body))}
        await send({"type": "http.response.start", "status": 200,
                    "headers": _header_list(headers, content_type)})
        if transport == "disconnect":
            await send({"type": "http.response.body", "body": body[: len(body) // 2],
                        "more_body": True})
            await abort_connection()
            return False, False
        size = -(-len(body) // max(1, ex.plan.body_pieces))  # a trickle: pieces a pause apart
        while len(body) > size:
            await send({"type": "http.response.body", "body": body[:size], "more_body": True})
            body = body[size:]
            if await watch.sleep(ex.plan.body_interval_s):
                return False, True
        await _send_end(ex, send, {"type": "http.response.body", "body": body})
        return transport is None, False

    async def _stream(self, ex: Exchange, watch: DisconnectWatch, send: Send) -> tuple[bool, bool]:
        """Send a streamed answer; returns (usage reported, client gone)."""
        answer, plan, wire, model = ex.answer, ex.plan, ex.wire, ex.parsed.model
        assert answer is not None
        headers = {**ex.headers, "cache-control": "no-cache"}
        await send({"type": "http.response.start", "status": 200,
                    "headers": _header_list(headers, "text/event-stream; charset=utf-8")})
        if await watch.sleep(plan.first_token_delay_s):
            return False, True
        for frame in wire.stream_head(model, answer):
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        frames = wire.stream_content(model, answer, ex.chunk_chars)
        if plan.truncate_fraction is not None:
            frames = frames[: max(1, int(len(frames) * plan.truncate_fraction))]
        for index, frame in enumerate(frames):
            if await self._interrupt(ex, send, index):
                return False, False
            pause = plan.stall_s if plan.stall_after_chunks == index else 0.0
            if await watch.sleep(pause + (plan.chunk_interval_s if index else 0.0)):
                return False, True
            if plan.corrupt_chunk_index == index:
                frame = wire.corrupt(frame)
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        if await self._interrupt(ex, send, len(frames), at_end=True):
            return False, False
        if plan.truncate_fraction is not None:
            tail, usage_reported = wire.stream_truncated_tail(), False
        elif plan.stream_ending is not None:
            tail = ending_tail(wire, model, answer, ex.parsed.include_usage, *plan.stream_ending)
            usage_reported = ex.parsed.include_usage
        else:
            tail = wire.stream_tail(model, answer, ex.parsed.include_usage)
            usage_reported = ex.parsed.include_usage
        await _send_end(ex, send, {"type": "http.response.body", "body": b"".join(tail)})
        return usage_reported, False

    async def _interrupt(self, ex: Exchange, send: Send, index: int, at_end: bool = False) -> bool:
        """Cut the stream or send an error event if the plan says so at this chunk."""
        plan = ex.plan
        if plan.transport == "disconnect" and (plan.cut_after_chunks == index or
                                               (at_end and plan.cut_after_chunks > index)):
            await abort_connection()
            return True
        after = plan.error_event_after_chunks
        if after is not None and (after == index or (at_end and after > index)):
            await _send_end(ex, send, {"type": "http.response.body", "body": ex.wire.stream_error()})
            return True
        return False


async def _send_end(ex: Exchange, send: Send, message: Message) -> None:
    """Send a response's last message, its row's finish stamped just before (see the module)."""
    ex.finish_s = ex.ledger.now_s()
    await send(message)
