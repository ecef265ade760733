"""Deciding a request's fate: which faults it meets and how long it waits.

The rule that makes chaos reproducible: a fate is a pure function of
``(seed, profile digest, request fingerprint, attempt number)``. The fingerprint hashes the
provider, the model and the request's content; the attempt number counts earlier requests with
the same fingerprint (1 for the first). So the same client behaviour meets the same faults in any
interleaving. The rate limiter, the one stateful part, is asked first: a request it refuses meets
its 429 and nothing else. Then scripted rules are consulted; a matching rule decides the whole
fate and the profile is not consulted, nor is the weather.

The weather (:mod:`fake_llm.weather`) adds one input, the tick of the weather clock the request
arrived at: a latency regime shifts the latency drawn, an outage or a storm's 429 replaces the
profile's fault. A storm's draw comes from :func:`weather_draw`, apart from the fate's own random
source, so a request the storm spares meets exactly the fault it would have met anyway.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fake_llm.faults import Fault, HttpError, Plan, RequestContext, fault_kinds, make_fault
from fake_llm.model import TASKS
from fake_llm.pricing import MODELS, PROVIDERS
from fake_llm.profiles import Knobs
from fake_llm.ratelimit import Verdict
from fake_llm.weather import Sky

# The request's content on every wire: chat completions and messages, the Responses API
# (``input``, ``instructions``), embeddings (``input``, ``dimensions``).
_FINGERPRINTED_KEYS = ("messages", "system", "tools", "tool_choice", "response_format", "input",
                       "instructions", "dimensions")
_MAX_FINGERPRINTS = 200_000


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def fingerprint(provider: str, body: dict[str, Any]) -> str:
    """A short hash of the provider, the model and the request's content (not its stream flag)."""
    content = {key: body.get(key) for key in _FINGERPRINTED_KEYS if key in body}
    canonical = _CANONICAL.encode([provider, body.get("model"), content])
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def fate_rng(seed: int, profile_digest: str, fp: str, attempt: int) -> random.Random:
    """The random source of one fate: drawn in a fixed order (latency, fault, content)."""
    key = f"{seed}|{profile_digest}|{fp}|{attempt}".encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


@dataclass(frozen=True, slots=True)
class Fate:
    """One request's fate, decided before the server does any of it.

    ``rng`` is the fate's :func:`fate_rng`, already drawn from for the plan; the answer goes on
    drawing from it. ``admission`` is the rate limiter's verdict (None when no limit is set): its
    headers go on the response, and its ``release`` ends an admitted request's time in flight.
    ``sky`` is the weather of the request's tick.
    """

    fingerprint: str
    attempt: int
    knobs: Knobs
    rng: random.Random
    plan: Plan
    admission: Verdict | None
    sky: Sky


def rate_limited(verdict: Verdict) -> Plan:
    """The plan of a request the rate limiter refused: its 429 at once."""
    return Plan(http_error=HttpError(429, verdict.retry_after_ms), faults=["rate_limit"])


def weather_draw(seed: int, profile_digest: str, fp: str, attempt: int) -> float:
    """A uniform draw in [0, 1) for the weather's decisions about one request."""
    key = f"{seed}|{profile_digest}|{fp}|{attempt}|weather".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64


class Match(BaseModel):
    """Which requests a scripted rule applies to; every key is optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str | None = None
    model: str | None = None
    task: str | None = None
    paper_id: str | None = None
    stream: bool | None = None

    @model_validator(mode="after")
    def _known_names(self) -> Match:
        for name, value, allowed in (("provider", self.provider, PROVIDERS),
                                     ("model", self.model, tuple(MODELS)),
                                     ("task", self.task, TASKS)):
            if value is not None and value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(allowed)}")
        return self

    def matches(self, ctx: RequestContext) -> bool:
        return (
            (self.provider is None or self.provider == ctx.provider)
            and (self.model is None or self.model == ctx.model)
            and (self.task is None or self.task == ctx.task)
            and (self.paper_id is None or self.paper_id in ctx.prompt.paper_ids)
            and (self.stream is None or self.stream == ctx.stream)
        )


class RuleSpec(BaseModel):
    """A scripted rule as posted to ``/_chaos/script``: one ``fault`` or a list of ``faults``."""

    model_config = ConfigDict(extra="forbid")

    match: Match = Field(default_factory=Match)
    fault: dict[str, Any] | None = None
    faults: list[dict[str, Any]] | None = None
    times: int | None = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _one_of(self) -> RuleSpec:
        if (self.fault is None) == (self.faults is None):
            raise ValueError("give exactly one of 'fault' (an object) or 'faults' (a list)")
        return self


@dataclass
class Rule:
    """A scripted rule in force: its faults and how many more requests it applies to."""

    match: Match
    faults: list[Fault]
    remaining: int | None

    def describe(self) -> dict[str, Any]:
        return {"match": self.match.model_dump(exclude_none=True),
                "faults": [{"kind": f.kind, **f.model_dump()} for f in self.faults],
                "remaining": self.remaining}


def build_rule(spec: dict[str, Any]) -> Rule:
    """Validate one posted rule; raises ``ValueError`` naming the problem."""
    try:
        parsed = RuleSpec.model_validate(spec)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "rule"
        raise ValueError(f"{where}: {first['msg']}") from None
    faults = []
    for index, fault_spec in enumerate(parsed.faults or [parsed.fault or {}]):
        faults.append(_build_fault(fault_spec, index))
    return Rule(parsed.match, faults, parsed.times)


def _build_fault(spec: dict[str, Any], index: int) -> Fault:
    kind = spec.get("kind")
    if not isinstance(kind, str) or kind not in fault_kinds():
        allowed = ", ".join(fault_kinds())
        raise ValueError(f"fault[{index}].kind: unknown fault kind {kind!r}; allowed: {allowed}")
    try:
        return make_fault(spec)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"fault[{index}] ({kind}).{where}: {first['msg']}") from None


@dataclass
class Fates:
    """Attempt counters, scripted rules, and the decision itself."""

    seed: int
    rules: list[Rule] = field(default_factory=list)
    _attempts: OrderedDict[str, int] = field(default_factory=OrderedDict)

    def next_attempt(self, fp: str) -> int:
        """Count one more request with this fingerprint; returns its attempt number (from 1)."""
        attempt = self._attempts.pop(fp, 0) + 1
        self._attempts[fp] = attempt
        if len(self._attempts) > _MAX_FINGERPRINTS:
            self._attempts.popitem(last=False)
        return attempt

    def reset(self) -> None:
        self.rules.clear()
        self._attempts.clear()

    def scripted(self, ctx: RequestContext) -> Rule | None:
        """The first rule that matches, with one use taken from it (spent rules are dropped)."""
        for rule in self.rules:
            if rule.match.matches(ctx) and all(f.applies_to(ctx) for f in rule.faults):
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self.rules.remove(rule)
                return rule
        return None

    def decide(self, ctx: RequestContext, knobs: Knobs, rng: random.Random,
               sky: Sky | None = None) -> Plan:
        """The plan for one request: a scripted rule's faults, or the profile's draw under the
        weather of ``sky`` (the phases of the request's tick).

        ``rng`` is the fate's :func:`fate_rng`; the caller goes on drawing from it for content.
        """
        plan = Plan(chunk_interval_s=knobs.stream.chunk_interval_ms / 1000)
        rule = self.scripted(ctx)
        if rule is not None:
            for fault in rule.faults:
                fault.apply(plan, ctx, rng)
                plan.faults.append(fault.kind)
            return plan
        latency = knobs.latency if sky is None else sky.latency(knobs.latency, ctx)
        plan.delay_s = latency.draw_s(rng) * knobs.model.latency_factor
        draw = rng.random()
        threshold = 0.0
        for fault, probability in knobs.faults:
            if probability <= 0 or not fault.applies_to(ctx):
                continue
            threshold += probability
            if draw < threshold:
                fault.apply(plan, ctx, rng)
                plan.faults.append(fault.kind)
                break
        return plan if sky is None else sky.overrule(plan, ctx)
