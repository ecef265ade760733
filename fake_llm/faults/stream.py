"""Stream faults: a streamed answer that ends early, garbles a chunk, or reports an error."""

from __future__ import annotations

import random

from pydantic import Field

from fake_llm.faults.base import Fault, Plan, RequestContext


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
