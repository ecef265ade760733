"""The request path every model endpoint shares, top to bottom:

parse → fate → ledger → answer → response.

1. **parse**: the wire validates the body (a bad one gets the provider's 400 and no ledger row);
2. **fate**: :meth:`ChaosState.decide` draws the attempt number, the rate limiter's verdict and the
   faults, from the seed and the request alone;
3. **ledger**: the row opens with everything known at arrival;
4. **answer**: the simulated model's reply (``wire.reply``: text, tool calls or structured output)
   after the plan's content and tool-call faults;
5. **response**: a :class:`~fake_llm.exchange.PlannedResponse` carries the plan out and closes the
   row, once, with how it ended.

A new endpoint is a :class:`~fake_llm.wire.Wire` (its parsing, body and stream frames) and a
route that calls ``await pipeline.handle(wire, request)``: it then meets the same faults, fates
and ledger as chat completions.
"""

from __future__ import annotations

import random
from collections.abc import MutableMapping
from dataclasses import dataclass, replace
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from fake_llm.body import BodyError, ClientGone, read_body
from fake_llm.connection import received_at
from fake_llm.conversation import ToolCall
from fake_llm.errors import ApiError, render_error
from fake_llm.exchange import Exchange, PlannedResponse
from fake_llm.fate import Fate
from fake_llm.faults import Plan, RequestContext
from fake_llm.model import count_tokens
from fake_llm.pricing import Provider
from fake_llm.reply import will_call_tools
from fake_llm.state import ChaosState
from fake_llm.wire import Answer, ParsedRequest, Wire
from fake_llm.wire.base import new_id


@dataclass(frozen=True, slots=True)
class Client:
    """Who sent a request: its API key ("anonymous" without one) and ``x-stainless-retry-count``."""

    api_key: str
    retry_count: int | None


def read_client(scope: MutableMapping[str, Any]) -> Client:
    """The caller's key and retry count, in one pass over the raw headers."""
    bearer = api_key = retries = b""
    for name, value in scope["headers"]:
        if name == b"authorization":
            bearer = value
        elif name == b"x-api-key":
            api_key = value
        elif name == b"x-stainless-retry-count":
            retries = value
    key = bearer.decode("latin-1").removeprefix("Bearer ").strip() or api_key.decode("latin-1")
    return Client(key or "anonymous", int(retries) if retries.isdigit() else None)


def error_response(provider: Provider, error: ApiError) -> Response:
    """An error in the provider's own shape."""
    rendered = render_error(provider, error)
    return Response(rendered.body, status_code=rendered.status, media_type=rendered.content_type,
                    headers=rendered.headers)


def build_answer(wire: Wire, ctx: RequestContext, parsed: ParsedRequest, plan: Plan,
                 rng: random.Random) -> Answer:
    """The model's reply after the plan's content faults and the max-tokens cut, with its token
    counts."""
    reply = wire.reply(parsed, ctx.prompt, rng)
    text = plan.rewrite(reply.text, ctx, rng)
    calls = plan.rewrite_calls(reply.tool_calls, ctx, rng)
    finish_reason: str | None = plan.finish_reason
    if finish_reason == "refusal":
        calls = ()  # a refusal replaces the calls as it replaces the text
    elif calls:
        text = "" if not reply.tool_calls else text  # a fault turned an answer into a call
        finish_reason = "tool_calls" if finish_reason == "stop" else finish_reason
    out = text + "".join(call.name + call.arguments for call in calls)
    if parsed.max_tokens is not None and count_tokens(out) > parsed.max_tokens:
        text, calls = _cut(text, calls, parsed.max_tokens * 4)
        finish_reason = "length" if finish_reason in ("stop", "tool_calls") else finish_reason
        out = text + "".join(call.name + call.arguments for call in calls)
    return Answer(text, finish_reason, count_tokens(parsed.text), count_tokens(out) if out else 0,
                  new_id(wire.id_prefix, rng), calls, reply.data)


def _cut(text: str, calls: tuple[ToolCall, ...], chars: int) -> tuple[str, tuple[ToolCall, ...]]:
    """The reply cut at ``chars`` characters, as a max-tokens limit cuts it: the text first, then
    the calls' arguments."""
    text = text[:chars]
    left = chars - len(text)
    kept = []
    for call in calls:
        if left <= 0:
            break
        kept.append(replace(call, arguments=call.arguments[:left]))
        left -= len(call.name) + len(call.arguments)
    return text, tuple(kept)


class Pipeline:
    """The shared request path over one server's state; routes call :meth:`handle`."""

    def __init__(self, state: ChaosState) -> None:
        self.state = state

    async def handle(self, wire: Wire, request: Request) -> Response:
        """Answer one model request as its fate says."""
        arrived = received_at(request.scope)
        try:
            body, parsed = wire.parse(await read_body(request))
        except BodyError as error:
            return error_response(wire.provider, ApiError(error.status, error.message))
        except ApiError as error:
            return error_response(wire.provider, error)
        except ClientGone:
            return Response(status_code=400)  # nobody is left to read it
        client = read_client(request.scope)
        ctx = RequestContext(wire.provider, parsed.model.name, wire.read_prompt(parsed), parsed.stream,
                             parsed.turn, will_call_tools(parsed.turn))
        fate = self.state.decide(body, ctx, client.api_key, len(parsed.text) // 4, arrived)
        row = self.state.ledger.open(
            received_at=arrived, provider=wire.provider, model=ctx.model, task=ctx.task,
            paper_ids=ctx.prompt.paper_ids, fingerprint=fate.fingerprint, attempt=fate.attempt,
            stream=parsed.stream, retry_count=client.retry_count, api_key=client.api_key[:12],
            fault=fate.plan.fault_label, delay_ms=round(fate.plan.delay_s * 1000, 3),
            tick=fate.sky.tick, phase=fate.sky.label)
        answer = build_answer(wire, ctx, parsed, fate.plan, fate.rng)
        release = fate.admission.release if fate.admission is not None else None
        exchange = Exchange(wire, ctx, parsed, fate.plan, row, self.state.ledger, answer,
                            self._headers(wire, fate, row.id), fate.knobs.stream.chunk_chars, release)
        return PlannedResponse(exchange)

    def _headers(self, wire: Wire, fate: Fate, row_id: int) -> dict[str, str]:
        headers = {} if self.state.grading else {"x-fake-llm-attempt": str(fate.attempt),
                                                 "x-fake-llm-fingerprint": fate.fingerprint,
                                                 "x-fake-llm-phase": fate.sky.label}
        if fate.admission is not None:
            headers.update(fate.admission.headers)
        if not self.state.grading:
            headers["x-fake-llm-fault"] = fate.plan.fault_label
        headers["x-request-id" if wire.provider == "openai" else "request-id"] = f"req_{row_id}"
        return headers
