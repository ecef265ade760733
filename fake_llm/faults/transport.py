"""Transport faults: the connection itself misbehaves."""

from __future__ import annotations

import random

from pydantic import Field

from fake_llm.faults.base import Fault, Plan, RequestContext


class Reset(Fault):
    """The connection is reset before any response: the client sees a connection error."""

    kind = "reset"
    family = "transport"

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.transport = "reset"


class Disconnect(Fault):
    """The connection closes mid-response: after ``after_chunks`` stream chunks, or half a body."""

    kind = "disconnect"
    family = "transport"

    after_chunks: int = Field(default=3, ge=0)

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.transport = "disconnect"
        plan.cut_after_chunks = self.after_chunks


class EmptyBody(Fault):
    """A 200 with an empty body."""

    kind = "empty_body"
    family = "transport"

    def applies_to(self, ctx: RequestContext) -> bool:
        return not ctx.stream

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.transport = "empty_body"


class WrongContentType(Fault):
    """A 200 whose body is an HTML page (a proxy's interstitial), not the API's JSON."""

    kind = "wrong_content_type"
    family = "transport"

    def applies_to(self, ctx: RequestContext) -> bool:
        return not ctx.stream

    def apply(self, plan: Plan, ctx: RequestContext, rng: random.Random) -> None:
        plan.transport = "wrong_content_type"
