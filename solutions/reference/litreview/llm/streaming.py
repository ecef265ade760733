"""Streamed answers under the gateway's policy, with a first-token and an idle deadline.

Until the first piece of text arrives nothing has reached the user, so a transient failure at
the start is retried like any call, within the first-event deadline (an attempt with no first
token after ``policy.stream_attempt_s`` is one), and a refusal or an empty answer is asked again,
as a summary's would be. Streams use the primary only: no fallback. Once text has been forwarded
there is no way back: a gap longer than the idle deadline ends the stream with ``llm_timeout``; a
cut, garbled or error-carrying stream, or one whose end marker says it is incomplete, ends it
with ``llm_incomplete``. ``done`` comes only after the provider's own end marker for a whole,
non-empty answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

from litreview.clock import Deadline
from litreview.errors import AttemptError, LLMIncomplete, LLMInvalidOutput, LLMTimeout
from litreview.llm.context import RequestContext
from litreview.llm.gateway import Gateway
from litreview.llm.types import ChatMessage, Provider, StreamEnd, StreamEvent, TextDelta


@dataclass(frozen=True, slots=True)
class StreamDone:
    """The answer was streamed whole; who wrote it."""

    provider: str
    model: str


@dataclass(frozen=True, slots=True)
class _Opened:
    first: StreamEvent
    events: AsyncGenerator[StreamEvent, None]


async def stream_answer(
    gateway: Gateway, messages: list[ChatMessage], ctx: RequestContext, *, idle_s: float
) -> AsyncGenerator[TextDelta | StreamDone, None]:
    """Text deltas, then one :class:`StreamDone`; raises an LLMError (or BudgetExceeded)
    instead of ending early. ``ctx.deadline`` is the first-event deadline. Usage lands on
    ``ctx.meter``."""

    async def open_stream(provider: Provider, deadline: Deadline) -> _Opened:
        events = provider.stream(messages)
        try:
            async with asyncio.timeout(min(gateway.policy.stream_attempt_s, deadline.remaining())):
                return _Opened(await anext(events), events)
        except TimeoutError:
            await events.aclose()
            raise AttemptError(
                "no first token in time", provider=provider.name, kind="timeout", transient=True
            ) from None
        except BaseException:
            await events.aclose()
            raise

    provider = gateway.primary
    opened = await gateway.with_retries(provider, ctx, ctx.deadline, open_stream)
    for _ in range(gateway.policy.max_generations - 1):
        if isinstance(opened.first, TextDelta) or not _can_reask(gateway, ctx):
            break
        # A refusal or an empty answer, and nothing has reached the user yet: ask again, as
        # /summaries does (a re-ask, not a retry: it spends no retry budget).
        ctx.meter.add(opened.first.usage)
        await opened.events.aclose()
        opened = await gateway.with_retries(provider, ctx, ctx.deadline, open_stream)
    async with aclosing(opened.events) as events:
        event, wrote_text = opened.first, False
        while isinstance(event, TextDelta):
            wrote_text = True
            yield event
            event = await _next_event(events, idle_s, gateway, provider, ctx)
        ctx.meter.add(event.usage)
        _check_end(event, wrote_text)
        yield StreamDone(provider.name, provider.model)


def _can_reask(gateway: Gateway, ctx: RequestContext) -> bool:
    """Whether a re-ask still fits: an attempt left, and time for it before the first event."""
    policy = gateway.policy
    return (gateway.can_attempt(ctx, fallback=False)
            and ctx.deadline.remaining() > policy.min_attempt_s + policy.deadline_margin_s)


async def _next_event(
    events: AsyncGenerator[StreamEvent, None], idle_s: float, gateway: Gateway,
    provider: Provider, ctx: RequestContext,
) -> StreamEvent:
    """The next upstream event within ``idle_s``; a broken stream becomes LLMIncomplete."""
    try:
        async with asyncio.timeout(idle_s):
            return await anext(events)
    except TimeoutError:
        gateway.record_failure(provider)
        raise LLMTimeout(f"{provider.name} sent nothing for {idle_s} s mid-stream") from None
    except AttemptError as exc:
        ctx.meter.add(exc.usage)
        gateway.record_failure(provider)
        raise LLMIncomplete(str(exc)) from exc
    except StopAsyncIteration:
        raise LLMIncomplete(f"{provider.name} ended the stream without an end marker") from None


def _check_end(end: StreamEnd, wrote_text: bool) -> None:
    """Raise unless the end marker says the answer is whole and there was an answer."""
    if end.finish_reason == "refusal":
        raise LLMInvalidOutput("the model refused to answer")
    if end.finish_reason != "stop":
        raise LLMIncomplete(f"the answer stopped early (finish reason {end.finish_reason})")
    if not wrote_text:
        raise LLMInvalidOutput("the model's answer was empty")
