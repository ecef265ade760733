"""The soak: many mixed user requests against an app under a level's own random faults, each
classified against the ground truth.

Every outcome is one of four verdicts:

- ``correct``: the right data (the exact summary, the true extraction, every citation mapped to
  the right paper, a stream that ends with ``done`` after the whole summary), or the documented
  error for a request that should fail (404 ``not_found`` for an unknown paper);
- ``honest_error``: a documented error code with its status (``llm_timeout`` 504, ...), or a batch
  whose failed items carry documented codes and whose ``ok`` items are right;
- ``silently_wrong``: a 200 that looks fine but is not: a wrong value, a dropped or invalid
  citation, a truncated summary presented as whole, an empty result (the worst outcome);
- ``server_error``: a 500, an undocumented code or status, a connection error, a broken event
  stream, or no answer within the deadline plus a margin.

:func:`soak_requests` makes a deterministic mix of requests from a seed; :func:`run_soak` sends
them, a few at a time, and classifies each response with :func:`classify`. Given the fake LLM's
admin API, :func:`run_soak` also drives the level's weather clock through one whole cycle (see
:func:`weather_legs`), so a soak at a stormy level meets its outage of the primary, and scripts
each of the level's fault kinds for the first call of some request (:class:`FaultCover`), so a
fault the level makes rare is met on every run, not by luck. Nothing here
imports the candidate's code; the answers are judged against the fake LLM's corpus by
:mod:`graders.judge`, the judge the checks use too, and the deadlines are the briefs' own (the
exercises' contracts). The answers are read with the checks' client
(:mod:`graders.harness.inner.client`): within size caps and total deadlines, decoded safely, so
whatever the app sends is an outcome, never an exception of the grader's.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from fake_llm.corpus import CORPUS_SIZE, get_paper
from fake_llm.faults import Fault, RequestContext, make_fault
from fake_llm.model import Prompt, Task
from graders.clauses import load_contracts
from graders.harness.errors import AppFailure
from graders.harness.inner.client import AppClient
from graders.judge import (
    CLIENT_MARGIN_S,
    HONEST_STATUS,
    REQUEST_CODES,
    answer_problem,
    error_code,
    extraction_problem,
    is_honest,
    stream_ending,
    stream_text,
    summary_problem,
)

CORRECT, HONEST, WRONG, SERVER = "correct", "honest_error", "silently_wrong", "server_error"
VERDICTS = (CORRECT, HONEST, WRONG, SERVER)
KINDS = ("summary", "extraction", "answer", "batch", "stream")
PATHS = {"summary": "/summaries", "extraction": "/extractions", "answer": "/answers",
         "batch": "/summaries/batch", "stream": "/summaries/stream"}
# How many requests, and the least share that must be correct, per level. The floors sit well
# below what a sound solution gets, so that a verdict does not flip from run to run; at stormy and
# hurricane the weather's outage of the primary makes most of its requests honest errors by
# contract (the reference: 75-88% correct at stormy, 44-62% at hurricane, seeds 0-2).
SIZES = {"calm": 30, "realistic": 80, "stormy": 120, "hurricane": 120}
FLOORS = {"calm": 0.95, "realistic": 0.80, "stormy": 0.60, "hurricane": 0.30}
DEFAULT_SIZE, DEFAULT_FLOOR = 80, 0.50
CONCURRENCY = 8
# The weather phases in which a provider refuses calls, and how long the soak lets pass after one
# before its next leg: an outage's end is not followed by a flood of requests within the same
# second, and an app's circuit breaker (the fallback brief's cooldown is 2 s) gets to probe.
REFUSING_PHASES = ("outage", "rate_limit_storm")
CLEARING_S = 3.0
# Under weather in which a provider refuses calls, requests arrive at most one per PACE_S, as
# users do, whatever the app answers: an app that fails fast does not rush the soak through an
# outage's aftermath in a fraction of a second (a time-based breaker would then see the whole rest
# of the soak). Without such weather the soak goes as fast as the app answers.
PACE_S = 0.2

# The briefs' numbers: a request's deadline (the deadlines brief), a batch's (the batch brief),
# a stream's first event and longest silence (the streaming brief).
_CONTRACTS = load_contracts()
DEADLINE_S = {kind: float(_CONTRACTS["deadlines"]["deadline_s"])
              for kind in ("summary", "extraction", "answer")}
DEADLINE_S["batch"] = float(_CONTRACTS["batch"]["batch_deadline_s"])
FIRST_EVENT_S = float(_CONTRACTS["streaming"]["first_event_s"])
MAX_GAP_S = float(_CONTRACTS["streaming"]["max_gap_s"])
MARGIN_S = CLIENT_MARGIN_S
STREAM_LIMIT_S = 60.0
UNKNOWN_PAPER = "P9999"
QUESTION = "What did these trials find, and in whom?"


@dataclass(frozen=True, slots=True)
class SoakRequest:
    """One user request: its kind, the path it is sent to, and its JSON body."""

    index: int
    kind: str
    body: dict[str, Any]

    @property
    def path(self) -> str:
        return PATHS[self.kind]


@dataclass(slots=True)
class SoakResponse:
    """What the app did with one request, as the soak client saw it.

    ``events`` holds ``(event, data, at_s)`` for a stream; ``failure`` says why there was no
    (complete) answer: a connection error or a time limit.
    """

    status: int | None = None
    body: Any = None
    events: list[tuple[str, Any, float]] | None = None
    elapsed_s: float = 0.0
    failure: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """A request, what came back, its verdict and the reason for it."""

    request: SoakRequest
    response: SoakResponse
    verdict: str
    reason: str


@dataclass(frozen=True, slots=True)
class Leg:
    """Consecutive soak requests under the same weather: ``requests[first:stop]``, sent while the
    fake's weather clock stands at ``tick`` (whose phase is ``phase``, made of phases of these
    ``kinds``)."""

    tick: int
    phase: str
    first: int
    stop: int
    kinds: tuple[str, ...] = ()

    @property
    def refuses(self) -> bool:
        """Whether the provider refuses calls in this leg (an outage or a rate-limit storm)."""
        return any(kind in REFUSING_PHASES for kind in self.kinds)


@dataclass
class SoakReport:
    """Every outcome of a soak run, with counts per verdict, and the weather legs it went through."""

    outcomes: list[Outcome] = field(default_factory=list)
    elapsed_s: float = 0.0
    legs: list[Leg] = field(default_factory=list)
    cover: FaultCover | None = None

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(outcome.verdict for outcome in self.outcomes)
        return {verdict: counted.get(verdict, 0) for verdict in VERDICTS}

    @property
    def correct_share(self) -> float:
        return self.counts[CORRECT] / len(self.outcomes) if self.outcomes else 0.0

    def examples(self, verdict: str, limit: int = 3) -> list[Outcome]:
        return [o for o in self.outcomes if o.verdict == verdict][:limit]


# --- requests ------------------------------------------------------------------------------------

def soak_requests(n: int, seed: int) -> list[SoakRequest]:
    """``n`` mixed requests, the same for the same ``(n, seed)``: mostly summaries, extractions and
    answers, some batches and streams, and a few about a paper that does not exist.

    No two requests ask the model the same thing while the corpus lasts: every paper is summarized
    (by a summary, a stream or a batch item), extracted, or asked about at most once. So no two
    requests' model calls share a fingerprint, and none can change the fake's attempt count of
    another's calls (see ``fake_llm.fate``): which faults a request meets does not depend on the
    order in which concurrent requests arrive.
    """
    rng = random.Random(f"faultfirst-soak-{seed}")
    weights = {"summary": 26, "extraction": 26, "answer": 20, "batch": 10, "stream": 18}
    kinds = rng.choices(list(weights), weights=list(weights.values()), k=n)
    decks = {task: _Deck(random.Random(f"faultfirst-soak-{seed}-{task}"))
             for task in {task for task, _ in CALL_TYPES.values()}}
    requests = []
    for index, kind in enumerate(kinds):
        requests.append(SoakRequest(index, kind, _body(kind, rng, decks[CALL_TYPES[kind][0]])))
    return requests


# The model call each kind of request makes, as the fake LLM recognises it: (task, stream).
# Requests whose calls have one task draw their papers from one deck, so no paper is summarized
# twice (a stream and a batch item included).
CallType = tuple[Task, bool]
CALL_TYPES: dict[str, CallType] = {"summary": ("summary", False), "batch": ("summary", False),
                                   "stream": ("summary", True), "extraction": ("extract", False),
                                   "answer": ("answer", False)}


class _Deck:
    """Paper ids drawn without replacement; a new shuffled deck when one runs out."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._left: list[str] = []

    def draw(self, k: int) -> list[str]:
        drawn: list[str] = []
        while len(drawn) < k:
            if not self._left:
                self._left = [f"P{n:04d}" for n in range(1, CORPUS_SIZE + 1)]
                self._rng.shuffle(self._left)
            paper = self._left.pop()
            if paper not in drawn:
                drawn.append(paper)
        return drawn


def _body(kind: str, rng: random.Random, deck: _Deck) -> dict[str, Any]:
    unknown = rng.random() < 0.04
    if kind == "answer":
        ids = deck.draw(rng.randint(1, 4))
        return {"question": QUESTION, "paper_ids": [*ids[:-1], UNKNOWN_PAPER] if unknown else ids}
    if kind == "batch":
        ids = deck.draw(rng.randint(2, 5))
        return {"paper_ids": [*ids[:-1], UNKNOWN_PAPER] if unknown else ids}
    return {"paper_id": UNKNOWN_PAPER if unknown else deck.draw(1)[0]}


# --- classification ------------------------------------------------------------------------------

def classify(kind: str, request: Mapping[str, Any], response: SoakResponse) -> str:
    """The verdict for one response to a ``kind`` request whose JSON body was ``request``."""
    return explain(kind, request, response)[0]


def explain(kind: str, request: Mapping[str, Any], response: SoakResponse) -> tuple[str, str]:
    """``(verdict, reason)`` for one response; the reason is one plain sentence."""
    if kind not in KINDS:
        raise ValueError(f"unknown request kind {kind!r}; expected one of {KINDS}")
    if response.failure is not None:
        return SERVER, response.failure
    limit_s = DEADLINE_S.get(kind)
    if limit_s is not None and response.elapsed_s > limit_s + MARGIN_S:
        return SERVER, f"answered after {response.elapsed_s:.1f} s (deadline {limit_s:g} s)"
    unknown = _mentions_unknown(kind, request)
    if response.status != 200:
        verdict, reason = _error_verdict(response.status, response.body, unknown)
        if kind == "batch" and verdict == CORRECT:  # an unknown id fails its item, not the batch
            return HONEST, reason
        return verdict, reason
    if unknown and kind != "batch":
        return WRONG, "a 200 for a paper that does not exist"
    if kind == "stream":
        return _stream_verdict(request, response)
    body = response.body
    if not isinstance(body, dict):
        return WRONG, "a 200 whose body is not a JSON object"
    if kind == "summary":
        return _judged(summary_problem(body, str(request["paper_id"])))
    if kind == "extraction":
        return _judged(extraction_problem(body, str(request["paper_id"])))
    if kind == "answer":
        return _judged(answer_problem(body, list(request["paper_ids"])))
    return _batch_verdict(body, list(request["paper_ids"]))


def _mentions_unknown(kind: str, request: Mapping[str, Any]) -> bool:
    ids = request.get("paper_ids") if kind in ("answer", "batch") else [request.get("paper_id")]
    return any(get_paper(str(pid)) is None for pid in ids or [])


def _judged(problem: str | None) -> tuple[str, str]:
    return (CORRECT, "the right data") if problem is None else (WRONG, problem)


def _error_verdict(status: int | None, body: Any, unknown: bool) -> tuple[str, str]:
    code = error_code(body)
    if not is_honest(status, code):
        return SERVER, f"answered {status} {code or '(no documented error code)'}"
    if unknown and code == "not_found":
        return CORRECT, "404 not_found for a paper that does not exist"
    if code in REQUEST_CODES:
        return SERVER, f"{status} {code} for a valid request"
    return HONEST, f"{status} {code}"


def _batch_verdict(body: Mapping[str, Any], paper_ids: list[str]) -> tuple[str, str]:
    items = body.get("items")
    if not isinstance(items, list) or [i.get("paper_id") if isinstance(i, dict) else None
                                       for i in items] != paper_ids:
        return WRONG, "the batch's items are not one per requested id, in order"
    errors = []
    for item in items:
        paper_id = item["paper_id"]
        if item.get("status") == "ok":
            if get_paper(paper_id) is None:
                return WRONG, f"item {paper_id} is ok, but there is no such paper"
            problem = summary_problem(item, paper_id)
            if problem is not None:
                return WRONG, f"item {paper_id}: {problem}"
            continue
        code = error_code(item)
        if item.get("status") != "error" or code not in HONEST_STATUS:
            return SERVER, f"item {paper_id} is {item.get('status')!r} with code {code!r}"
        if get_paper(paper_id) is None and code != "not_found":
            return SERVER, f"item {paper_id} (no such paper) has code {code}"
        if get_paper(paper_id) is not None and code in REQUEST_CODES:
            return SERVER, f"item {paper_id} has code {code}"
        if get_paper(paper_id) is not None:
            errors.append(f"{paper_id} {code}")
    if errors:
        return HONEST, "items with honest errors: " + ", ".join(errors)
    return CORRECT, "every item right"


def _stream_verdict(request: Mapping[str, Any], response: SoakResponse) -> tuple[str, str]:
    events = response.events
    if events is None:
        return SERVER, "a 200 that is not an event stream"
    if not events:
        return SERVER, "an event stream with no events"
    if events[0][2] > FIRST_EVENT_S + MARGIN_S:
        return SERVER, f"the first event came after {events[0][2]:.1f} s"
    times = [at for _, _, at in events]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    if gaps and max(gaps) > MAX_GAP_S + MARGIN_S:
        return SERVER, f"the stream went silent for {max(gaps):.1f} s"
    pairs = [(event, data) for event, data, _ in events]
    ending = stream_ending(pairs)
    if isinstance(ending, str):
        stopped = not any(event in ("done", "error") for event, _ in pairs)
        # A stream that just stops after some text looks whole to its reader: silently wrong.
        return (WRONG if stopped and stream_text(pairs) else SERVER), ending
    event, code = ending
    if event == "error":
        if code in HONEST_STATUS and code not in REQUEST_CODES:
            return HONEST, f"error event {code}"
        return SERVER, f"error event with code {code!r}"
    paper_id = str(request["paper_id"])
    return _judged(summary_problem({"paper_id": paper_id, "summary": stream_text(pairs)}, paper_id))


# --- the weather ---------------------------------------------------------------------------------

class WeatherControl(Protocol):
    """What the soak needs of the fake LLM's admin API (fake_llm.runner.Admin fits): its weather,
    and, for the fault cover, its profile and script."""

    def weather(self, from_tick: int | None = None, to_tick: int | None = None) -> dict[str, Any]: ...

    def set_clock(self, tick: int | None = None, *, advance: int | None = None,
                  mode: str | None = None) -> dict[str, Any]: ...

    def profile(self) -> dict[str, Any]: ...

    def script(self, rules: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    def clear_script(self) -> None: ...


def weather_legs(n: int, weather: Mapping[str, Any]) -> list[Leg]:
    """The legs of a soak of ``n`` requests through one weather cycle.

    Request ``i`` belongs at tick ``i * cycle_ticks // n`` of the first cycle, so the soak walks
    the whole cycle whatever its size and meets every phase the level schedules, each on its
    share of the requests. ``weather`` is the fake's ``GET /_chaos/weather`` over that cycle.
    Consecutive requests under the same phase make one leg.
    """
    cycle = int(weather["cycle_ticks"])
    segments = [(int(s["start_tick"]), int(s["end_tick"]), str(s["phase"]),
                 tuple(str(p["kind"]) for p in s["phases"])) for s in weather["schedule"]]
    legs: list[Leg] = []
    for index in range(n):
        tick = index * cycle // n
        _, _, phase, kinds = next(s for s in segments if s[0] <= tick < s[1])
        if legs and legs[-1].phase == phase:
            legs[-1] = Leg(legs[-1].tick, phase, legs[-1].first, index + 1, kinds)
        else:
            legs.append(Leg(tick, phase, index, index + 1, kinds))
    return legs


# --- the fault cover ------------------------------------------------------------------------------

# The share of a call type's eligible requests that may carry a covered fault (beyond the faults
# only that call type can meet, which are always covered): the rest meet only the level's draws.
COVER_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class Cover:
    """One of the level's faults, scripted for the first model call of one soak request: the
    call for ``call``'s task about ``paper_id`` that request ``index`` makes (``call`` also says
    whether the request's call is streamed)."""

    index: int
    name: str  # the fault's kind, and its form's label if it has several ("http_error 503")
    paper_id: str
    call: CallType
    fault: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.fault["kind"])

    def rule(self) -> dict[str, Any]:
        """The scripted rule: the first call about the paper for this task, streamed or not (the
        paper is this request's alone; a fault made for streams still waits for a streamed call)."""
        return {"match": {"task": self.call[0], "paper_id": self.paper_id}, "fault": self.fault,
                "times": 1}

    def matches(self, rule: Mapping[str, Any]) -> bool:
        """Whether ``rule`` (as the fake describes a rule in force) is this cover's."""
        return rule.get("match") == {"task": self.call[0], "paper_id": self.paper_id}


class FaultCover:
    """Which request meets which of the level's faults for sure, on its first model call.

    The level's own faults are drawn per call, so a fault the level makes rare (a stall in 4 % of
    streams) may meet no request of a soak, or meet one only on a retry the app may or may not
    make, depending on how its shared state (a retry budget, a breaker) was spent by concurrent
    requests. A flaw that shows only on that fault would then pass or fail the soak by luck. The
    cover makes every fault of the level, in each of its forms (every status of ``http_error``,
    every drift of ``schema_drift``), meet each kind of model call it applies to at least once:

    - the faults only one call type can meet (a stall: streams; schema drift: extractions) are
      always covered on it; the others on as many types as ``share`` of the type's requests
      allows, the ones covered least elsewhere, then the rarest, first;
    - each covered fault goes to a different request, spread evenly over the soak, never one about
      a paper that does not exist nor one in a leg whose provider refuses calls (an outage's call
      would escape the outage);
    - a covered fault that no call took by the end of its leg (the app answered without calling
      the model: its breaker was open) moves to the next free request of that call type in a later
      leg, until one takes it or none is left.

    ``knobs`` is the fake's profile knobs (``GET /_chaos/profile``'s ``knobs``). A request's papers
    are its own (see :func:`soak_requests`), so each cover is one scripted rule matching one call
    exactly, whatever order the calls arrive in.
    """

    def __init__(self, requests: Sequence[SoakRequest], knobs: Mapping[str, Any],
                 legs: Sequence[Leg] = (), share: float = COVER_SHARE) -> None:
        faults = _level_faults(knobs)
        refusing = {i for leg in legs if leg.refuses for i in range(leg.first, leg.stop)}
        targets: dict[CallType, list[tuple[int, str]]] = {}
        for request in requests:
            if request.index in refusing or _mentions_unknown(request.kind, request.body):
                continue
            papers = request.body.get("paper_ids") or [request.body["paper_id"]]
            # An answer's call is about all its papers; a batch makes one call per paper.
            for paper in papers if request.kind == "batch" else papers[:1]:
                targets.setdefault(CALL_TYPES[request.kind], []).append((request.index, str(paper)))
        applies = {name: {call for call in targets if fault.applies_to(_context(call))}
                   for name, (fault, _, _) in faults.items()}
        covered: Counter[str] = Counter()
        self.pending: list[Cover] = []
        self._free = {call: list(places) for call, places in targets.items()}
        for call in sorted(targets, key=lambda c: (len(targets[c]), c)):
            own = [name for name in faults if applies[name] == {call}]
            shared = sorted((name for name in faults if call in applies[name] and len(applies[name]) > 1),
                            key=lambda name: (covered[name], faults[name][2], name))
            places = targets[call]
            room = min(len(places), max(len(own), round(len(places) * share)))
            names = (own + shared)[:room]
            for slot, name in enumerate(names):
                index, paper = places[slot * len(places) // len(names)]
                self.pending.append(Cover(index, name, paper, call, faults[name][1]))
                self._free[call].remove((index, paper))
                covered[name] += 1
        self.pending.sort(key=lambda cover: (cover.index, cover.paper_id))
        self.met: list[Cover] = []
        self.missed: list[Cover] = []
        self.moves = 0

    @property
    def planned(self) -> list[Cover]:
        """Every cover, where it is now (met, still to come, or missed)."""
        return sorted([*self.met, *self.pending, *self.missed], key=lambda c: (c.index, c.paper_id))

    def rules(self, leg: Leg) -> list[dict[str, Any]]:
        """The scripted rules of the covers whose requests are in ``leg``."""
        return [cover.rule() for cover in self.pending if leg.first <= cover.index < leg.stop]

    def settle(self, leg: Leg, rules_left: Sequence[Mapping[str, Any]]) -> None:
        """After ``leg``: a cover whose rule is still in ``rules_left`` (the fake's rules in force)
        was taken by no call; it moves to a later request, if one is free."""
        for cover in [c for c in self.pending if leg.first <= c.index < leg.stop]:
            self.pending.remove(cover)
            if not any(cover.matches(rule) for rule in rules_left):
                self.met.append(cover)
                continue
            later = [place for place in self._free[cover.call] if place[0] >= leg.stop]
            if not later:
                self.missed.append(cover)
                continue
            self._free[cover.call].remove(later[0])
            self.pending.append(Cover(later[0][0], cover.name, later[0][1], cover.call, cover.fault))
            self.moves += 1


def _level_faults(knobs: Mapping[str, Any]) -> dict[str, tuple[Fault, dict[str, Any], float]]:
    """The level's faults by name, one per form (:meth:`Fault.forms`: each status of an
    ``http_error``, each drift of ``schema_drift``): the form, its spec for a scripted rule, and
    its probability per call (the fault's, shared between its forms)."""
    faults: dict[str, tuple[Fault, dict[str, Any], float]] = {}
    for kind, params in (knobs.get("faults") or {}).items():
        probability = float(params.get("probability") or 0.0)
        if probability <= 0:
            continue
        forms = make_fault({"kind": kind, **{k: v for k, v in params.items() if k != "probability"}}).forms()
        for label, form in forms.items():
            spec = {"kind": kind, **form.model_dump(mode="json")}
            faults[f"{kind} {label}".strip()] = (form, spec, probability / len(forms))
    return faults


def _context(call: CallType) -> RequestContext:
    """A model call of this type as the fake would see it, for asking a fault if it applies."""
    task, stream = call
    sources = ((1, "P0001"),) if task == "answer" else ()
    return RequestContext("openai", "sim-gpt-large", Prompt(task, ("P0001",), sources, ""), stream)


# --- running -------------------------------------------------------------------------------------

def run_soak(base_url: str, requests: Sequence[SoakRequest], concurrency: int = CONCURRENCY,
             weather: WeatherControl | None = None, cover: bool = True) -> SoakReport:
    """Send every request, ``concurrency`` at a time, and classify each response.

    With ``weather`` (the fake's admin API), the requests go leg by leg (:func:`weather_legs`):
    before a leg the fake's clock is set to the leg's tick, and the next leg waits until every
    request of this one has its answer. So every model call the app makes for a request meets the
    phase of that request's leg, however the calls interleave: the same app meets the same
    weather on every run. When some leg's provider refuses calls (an outage, a storm), requests
    are sent at most one per ``PACE_S``, and after such a leg the weather clears for
    ``CLEARING_S`` before the next one. With ``cover`` too, the level's faults are scripted, leg by
    leg, as :class:`FaultCover` places them (the script is cleared after each leg); the report's
    ``cover`` says which were met, moved or missed.
    """
    started = time.monotonic()
    client = AppClient(base_url)
    legs = [Leg(0, "", 0, len(requests))]
    plan: FaultCover | None = None
    if weather is not None:
        cycle = int(weather.weather()["cycle_ticks"])
        legs = weather_legs(len(requests), weather.weather(0, cycle))
        if cover:
            plan = FaultCover(requests, weather.profile()["knobs"], legs)
    pace_s = PACE_S if any(leg.refuses for leg in legs) else 0.0
    responses: list[SoakResponse] = []
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for index, leg in enumerate(legs):
            rules = plan.rules(leg) if plan is not None else []  # a plan comes with the weather
            if weather is not None:
                weather.set_clock(leg.tick)
                if index and legs[index - 1].refuses:
                    time.sleep(CLEARING_S)
                if rules:
                    weather.script(rules)
            leg_started = time.monotonic()

            def paced(request: SoakRequest, leg: Leg = leg, pace_s: float = pace_s,
                      leg_started: float = leg_started) -> SoakResponse:
                wait_s = leg_started + (request.index - leg.first) * pace_s - time.monotonic()
                if wait_s > 0:
                    time.sleep(wait_s)
                return send(client, request)

            responses.extend(pool.map(paced, requests[leg.first:leg.stop]))
            if weather is not None and plan is not None and rules:  # the leg's covers: met or moved
                plan.settle(leg, weather.profile()["rules"])
                weather.clear_script()
    report = SoakReport(elapsed_s=time.monotonic() - started, legs=legs if weather is not None else [],
                        cover=plan)
    for request, response in zip(requests, responses, strict=True):
        verdict, reason = explain(request.kind, request.body, response)
        report.outcomes.append(Outcome(request, response, verdict, reason))
    return report


def send(client: AppClient, request: SoakRequest) -> SoakResponse:
    """One request; never raises for what the app does (that becomes the response's ``failure``)."""
    started = time.monotonic()
    try:
        if request.kind == "stream":
            return _send_stream(client, request)
        response = client.post(request.path, request.body, timeout_s=DEADLINE_S[request.kind] + MARGIN_S)
        return SoakResponse(response.status, response.json, elapsed_s=response.elapsed_s)
    except AppFailure as failure:
        return SoakResponse(elapsed_s=time.monotonic() - started, failure=str(failure))


def _send_stream(client: AppClient, request: SoakRequest) -> SoakResponse:
    # idle_s bounds every silence (the first event's wait included); timeout_s the whole stream.
    events = client.stream(request.path, request.body, timeout_s=STREAM_LIMIT_S,
                           idle_s=max(FIRST_EVENT_S, MAX_GAP_S) + MARGIN_S)
    if "text/event-stream" not in events.headers.get("content-type", ""):
        return SoakResponse(events.status, events.json, elapsed_s=events.elapsed_s)
    return SoakResponse(events.status, events=[(e.event, e.data, e.at_s) for e in events],
                        elapsed_s=events.elapsed_s)
