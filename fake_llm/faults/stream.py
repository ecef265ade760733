"""Stream faults: a streamed answer that ends early or oddly, garbles a chunk, or reports an error."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Literal

from pydantic import Field

from fake_llm.faults.base import Fault, Plan, RequestContext
from fake_llm.pricing import ModelInfo
from fake_llm.wire.base import Answer, Wire


class _StreamOnly(Fault):
    def applies_to(self, ctx: RequestContext) -> bool:
        return ctx.stream


class Truncate(_StreamOnly):
    """The stream ends cleanly after ``keep_fraction`` of the answer, with no finish reason."""

    kind = "truncate"
    family = "stream"

    keep_fraction: float = Field(default=0.5, gt=0, lt=1)

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.truncate_fraction = self.keep_fraction
        plan.finish_reason = None


class CorruptChunk(_StreamOnly):
    """Chunk number ``chunk_index`` (0-based, content chunks) is sent as invalid JSON."""

    kind = "corrupt_chunk"
    family = "stream"

    chunk_index: int = Field(default=2, ge=0)

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.corrupt_chunk_index = self.chunk_index


class ErrorEvent(_StreamOnly):
    """After ``after_chunks`` chunks the stream carries the provider's error event and ends."""

    kind = "error_event"
    family = "stream"

    after_chunks: int = Field(default=3, ge=0)

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.error_event_after_chunks = self.after_chunks


class StreamEnd(_StreamOnly):
    """The whole answer, then the stream ends one of the ways a stream can end.

    ``finish_reason`` is the one the last chunk carries (Anthropic's ``stop_reason``: ``stop`` is
    ``end_turn``, ``length`` is ``max_tokens``); ``None`` sends no finish reason at all.
    ``end_marker`` is whether the end marker follows (OpenAI ``data: [DONE]``, Anthropic
    ``message_stop``): without it the body just ends, cleanly, after the finish reason and usage.
    ``content_filter`` is OpenAI's alone; on an Anthropic stream the fault does not apply.
    """

    kind = "stream_end"
    family = "stream"

    finish_reason: Literal["stop", "length", "content_filter"] | None = "stop"
    end_marker: bool = True

    def applies_to(self, ctx: RequestContext) -> bool:
        return ctx.stream and (self.finish_reason != "content_filter" or ctx.provider == "openai")

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.stream_ending = (self.finish_reason, self.end_marker)


def ending_tail(wire: Wire, model: ModelInfo, answer: Answer, include_usage: bool,
                finish_reason: str | None, end_marker: bool) -> list[bytes]:
    """The frames after a stream's content for a :class:`StreamEnd` ending: the wire's own tail
    with the ending's finish reason, less the end marker (always the tail's last frame) if there
    is none."""
    if answer.finish_reason == "refusal" and finish_reason == "stop":
        finish_reason = "refusal"  # a refused answer keeps its refusal; only the ending changes
    frames = wire.stream_tail(model, replace(answer, finish_reason=finish_reason), include_usage)
    return frames if end_marker else frames[:-1]
