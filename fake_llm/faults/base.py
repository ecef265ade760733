"""The fault framework: a plan of what to do with a request, and the registry of fault kinds.

A fault is a small pydantic model registered by its ``kind`` (the catalogue, :mod:`.catalogue`,
imports every fault module and lists them). Its fields are its typed, unit-named
parameters; its one method, ``apply``, edits the :class:`Plan` the wire formats then carry out.
Whether a fault happens at all (its probability) is decided once, in :mod:`fake_llm.fate`, never
inside a fault.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from fake_llm.conversation import NO_TURN, ToolCall, Turn
from fake_llm.model import Prompt

Family = Literal["timing", "http", "transport", "stream", "content", "tools"]
FAMILIES: tuple[Family, ...] = ("timing", "http", "transport", "stream", "content", "tools")
TransportFault = Literal["reset", "disconnect", "empty_body", "wrong_content_type"]
TextTransform = Callable[[str, "RequestContext", random.Random], str]
OrderedTransform = tuple[int, TextTransform]
CallTransform = Callable[[tuple[ToolCall, ...], "RequestContext", random.Random], tuple[ToolCall, ...]]


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What a fault may look at: the request as the server understood it."""

    provider: str
    model: str
    prompt: Prompt
    stream: bool
    turn: Turn = NO_TURN
    calls_tools: bool = False  # the model's reply to this request calls tools

    @property
    def task(self) -> str:
        return self.prompt.task


@dataclass(frozen=True, slots=True)
class HttpError:
    """An error response to send instead of an answer."""

    status: int
    retry_after_ms: int | None = None
    should_retry: bool | None = None


@dataclass(slots=True)
class Plan:
    """Everything the server will do with one request, before it does any of it.

    Times are seconds. ``None`` means "not this time". Content transforms run in order on the
    model's complete answer.
    """

    delay_s: float = 0.0
    hang_s: float | None = None
    first_token_delay_s: float = 0.0
    chunk_interval_s: float = 0.0
    body_pieces: int = 1  # a plain body sent in this many pieces ...
    body_interval_s: float = 0.0  # ... this far apart
    stall_after_chunks: int | None = None
    stall_s: float = 0.0
    http_error: HttpError | None = None
    transport: TransportFault | None = None
    cut_after_chunks: int = 0
    truncate_fraction: float | None = None
    corrupt_chunk_index: int | None = None
    error_event_after_chunks: int | None = None
    text_transforms: list[OrderedTransform] = field(default_factory=list)
    call_transforms: list[CallTransform] = field(default_factory=list)
    finish_reason: Literal["stop", "length", "refusal"] | None = "stop"
    # A stream's ending (see fake_llm.faults.stream.StreamEnd): its finish reason, and whether the
    # end marker ([DONE], message_stop) follows. None: the ending the answer's finish reason gives.
    stream_ending: tuple[str | None, bool] | None = None
    faults: list[str] = field(default_factory=list)

    def rewrite(self, text: str, ctx: RequestContext, rng: random.Random) -> str:
        """The answer after every content fault, applied in their fixed order."""
        for _, transform in sorted(self.text_transforms, key=lambda item: item[0]):
            text = transform(text, ctx, rng)
        return text

    def rewrite_calls(self, calls: tuple[ToolCall, ...], ctx: RequestContext,
                      rng: random.Random) -> tuple[ToolCall, ...]:
        """The model's tool calls after every tool-call fault."""
        for transform in self.call_transforms:
            calls = transform(calls, ctx, rng)
        return calls

    @property
    def fault_label(self) -> str:
        """The applied faults as echoed in ``x-fake-llm-fault`` ("none" when there are none)."""
        return "+".join(self.faults) or "none"


REGISTRY: dict[str, type[Fault]] = {}
"""Every fault class by kind, filled as the fault modules are imported (see :mod:`.catalogue`)."""


class Fault(BaseModel):
    """One kind of fault. Subclasses set ``kind`` and ``family`` and implement ``apply``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[str]
    family: ClassVar[Family]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind is None:
            return
        if kind in REGISTRY:
            raise TypeError(f"fault kind {kind!r} is registered twice")
        REGISTRY[kind] = cls

    def applies_to(self, ctx: RequestContext) -> bool:
        """Whether this fault makes sense for the request (default: always)."""
        return True

    def forms(self) -> dict[str, Fault]:
        """The forms this fault can take, by a short label: one per choice it draws at random (an
        ``http_error`` without ``status``: one per status of ``statuses``). A fault that draws no
        such choice has one form, itself, labelled ``""``."""
        return {"": self}

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        """Edit the plan so the server carries out this fault."""
        raise NotImplementedError
