"""The pytest plugin the checks run under: ``@check``, the fixtures, time limits and verdicts.

A check is a test function declared with :func:`check`. The plugin runs only the checks that
count (their exercise is in the submission's manifest, or is ``soak``; the level is one of their
``levels``), gives each a fresh fake LLM ledger and, when asked, a fresh app, stops it after
``time_limit_s``, and turns its outcome into a :class:`~graders.harness.report.records.CheckRecord`:

- ``pass``: the check returned;
- ``fail``: an AssertionError (its message is the "why"), or a candidate fault
  (:mod:`graders.harness.errors`: the time limit, the app not answering, answering what the
  grader will not read, lacking a field the check reads, or not starting);
- ``grader-error``: anything else, which is the harness's or the check's own fault.

The verdict of an exception is its class's ``verdict`` (see :mod:`graders.harness.errors`). Every
text a record carries is bounded (:data:`TEXT_LIMIT`): the app's data can be megabytes long.

Fixtures: ``app``, ``fake``, ``evidence``, ``contract``, ``level``, ``seed``, ``truth``,
``exercises`` (see docs/grading.md, "Writing checks"). Run the checks against a folder while writing them with
``pytest graders/checks --ff-submission=DIR [--ff-level=L] [--ff-seed=S] [--ff-exercises=a,b]``
(with ``=``: a bare path would be taken for a test path before this plugin's options are known).
"""

from __future__ import annotations

import contextlib
import signal
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import pytest

from graders.clauses import load_contracts
from graders.harness.errors import CheckTimeout, GradingError, verdict_of
from graders.harness.inner import context as ctx_module
from graders.harness.inner.client import AppClient
from graders.harness.inner.context import EXERCISES_DIR, GradingContext
from graders.harness.inner.evidence import Evidence
from graders.harness.report.records import LEVELS, SOAK, TAGS, CheckRecord

__all__ = ["AppClient", "CheckSpec", "CheckTimeout", "check"]

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_TIME_LIMIT_S = 30.0
LOG_TAIL_ON_FAIL = 4096
TEXT_LIMIT = 2000  # characters of a why or an evidence note
_SPEC_ATTR = "__faultfirst_check__"
_EVIDENCE = pytest.StashKey[Evidence]()
_OUTCOME = pytest.StashKey[dict[str, Any]]()
_APP_START = pytest.StashKey[int]()


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """A check's declaration: what it is worth, where it counts, how long it may take."""

    exercise: str
    tag: str
    points: float
    levels: tuple[str, ...] = LEVELS
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    fresh_app: bool = False
    clauses: tuple[str, ...] = ()  # the brief's clauses it proves (ids in exercises/*/clauses.toml)


def check(*, exercise: str, tag: str, points: float, levels: tuple[str, ...] = LEVELS,
          time_limit_s: float = DEFAULT_TIME_LIMIT_S, fresh_app: bool = False,
          clauses: tuple[str, ...] = (), from_level: str | None = None) -> Callable[[F], F]:
    """Declare a test function a check. Raises ValueError at import for an invalid declaration.

    ``clauses``: the ids of the brief's clauses the check proves (see :mod:`graders.clauses`);
    a failed check's report quotes them. ``from_level``: the check counts only from this level
    up (the hardest combinations), a shorthand for ``levels``; at a calmer level the report says
    it did not count.
    """
    if from_level is not None:
        if from_level not in LEVELS or levels != LEVELS:
            raise ValueError(f"check from_level {from_level!r} must be one of {LEVELS}, "
                             "and is not combined with levels")
        levels = LEVELS[LEVELS.index(from_level):]
    if tag not in TAGS:
        raise ValueError(f"check tag {tag!r} is not one of {TAGS}")
    if not set(levels) <= set(LEVELS) or not levels:
        raise ValueError(f"check levels {levels!r} must be a non-empty subset of {LEVELS}")
    if points <= 0 or time_limit_s <= 0:
        raise ValueError("check points and time_limit_s must be positive")
    if isinstance(clauses, str) or not all(isinstance(c, str) and c for c in clauses):
        raise ValueError(f"check clauses {clauses!r} must be a tuple of clause ids")
    spec = CheckSpec(exercise, tag, float(points), tuple(levels), float(time_limit_s), fresh_app,
                     tuple(clauses))

    def decorate(function: F) -> F:
        setattr(function, _SPEC_ATTR, spec)
        return function

    return decorate


def spec_of(item: pytest.Item) -> CheckSpec | None:
    function = getattr(item, "function", None)
    return getattr(function, _SPEC_ATTR, None)


# --- options and session -------------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("faultfirst", "faultfirst graders (developing checks)")
    group.addoption("--ff-submission", help="grade this folder in place (unconfined; for check authors)")
    group.addoption("--ff-level", default="calm", choices=LEVELS, help="chaos level (default calm)")
    group.addoption("--ff-seed", type=int, default=0, help="seed (default 0)")
    group.addoption("--ff-exercises", help="comma-separated exercises (default: the manifest's)")
    group.addoption("--ff-results", help="append check records as JSON lines to this file")


def pytest_configure(config: pytest.Config) -> None:
    if ctx_module.current() is None and config.getoption("--ff-submission", None):
        results = config.getoption("--ff-results")
        ctx_module.install(ctx_module.dev_context(
            Path(config.getoption("--ff-submission")).resolve(), config.getoption("--ff-level"),
            config.getoption("--ff-seed"), config.getoption("--ff-exercises"),
            Path(results).resolve() if results else None))
        config.stash[_OWNED_CONTEXT] = True


_OWNED_CONTEXT = pytest.StashKey[bool]()


def pytest_unconfigure(config: pytest.Config) -> None:
    context = ctx_module.current()
    if context is not None and config.stash.get(_OWNED_CONTEXT, False):
        context.close()
        ctx_module.install(None)


def _context() -> GradingContext:
    context = ctx_module.current()
    if context is None:
        raise pytest.UsageError("no grading session: run the checks with `faultfirst grade PATH`, "
                                "or `pytest graders/checks --ff-submission DIR`")
    return context


# --- selection -----------------------------------------------------------------------------------

def _not_counted(spec: CheckSpec, context: GradingContext) -> str | None:
    if spec.exercise == SOAK:
        return None
    if spec.exercise not in context.exercises:
        return f"exercise {spec.exercise!r} is not in the submission's manifest"
    if context.level not in spec.levels:
        return f"does not count at level {context.level!r} (counts at {', '.join(spec.levels)})"
    return None


def _record(item: pytest.Item, spec: CheckSpec | None, **fields: Any) -> CheckRecord:
    doc = (getattr(item, "function", None).__doc__ or "") if hasattr(item, "function") else ""
    if spec is None:
        return CheckRecord(item.nodeid, item.name, exercise="?", tag="correctness", points=0.0,
                           doc=doc.strip(), **fields)
    return CheckRecord(item.nodeid, item.name, spec.exercise, spec.tag, spec.points, spec.levels,
                       doc=" ".join(doc.split()), clauses=spec.clauses, **fields)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    context = _context()
    keep: list[pytest.Item] = []
    for item in items:
        spec = spec_of(item)
        if spec is None:
            context.emit({"type": "check", "record": _record(
                item, None, verdict="grader-error",
                why="not declared with @check: the harness cannot score it").to_json()})
            continue
        reason = _not_counted(spec, context)
        if reason is not None:
            context.emit({"type": "check", "record": _record(item, spec, why=reason).to_json()})
            continue
        keep.append(item)
    deselected = [item for item in items if item not in keep]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items[:] = keep
    budget_s = sum(spec.time_limit_s + context.apps.spec.startup_limit_s + 5.0
                   for spec in filter(None, map(spec_of, keep)))
    context.emit({"type": "collected", "count": len(keep), "budget_s": budget_s})


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        context = ctx_module.current()
        if context is not None:
            exercise = Path(report.nodeid).stem.removeprefix("test_").replace("_", "-")
            record = CheckRecord(report.nodeid, report.nodeid, exercise=exercise, tag="correctness",
                                 points=0.0, verdict="grader-error",
                                 why="the check module could not be collected",
                                 detail=str(report.longrepr)[-4000:])
            context.emit({"type": "check", "record": record.to_json()})


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _check_frame(request: pytest.FixtureRequest) -> Iterator[None]:
    """Before every check: reset the fake LLM and open its evidence."""
    context = _context()
    context.fake.admin.reset()
    request.node.stash[_EVIDENCE] = Evidence(context.fake.admin)
    yield


@pytest.fixture
def app(request: pytest.FixtureRequest, _check_frame: None) -> Iterator[AppClient]:
    """A client for the candidate's app, started (or restarted) as this check needs.

    A ``fresh_app`` check gets an app of its own: started for it, and not handed on to the next
    check, so app-wide state (an open circuit breaker, a spent retry budget) never crosses checks.
    """
    context = _context()
    spec = spec_of(request.node)
    fresh = spec.fresh_app if spec is not None else False
    process = context.apps.ensure(request.node.module.__name__, fresh=fresh)
    request.node.stash[_APP_START] = process.start
    context.fake.admin.reset()  # whatever the app did while starting is not this check's business
    yield AppClient(process.base_url)
    if fresh:
        context.apps.mark_dirty()


@pytest.fixture
def fake() -> Any:
    """The fake LLM: ``.admin`` (fake_llm.runner.Admin), ``.openai_base_url``, ``.anthropic_base_url``."""
    return _context().fake


@pytest.fixture
def evidence(request: pytest.FixtureRequest, _check_frame: None) -> Evidence:
    evidence: Evidence = request.node.stash[_EVIDENCE]
    return evidence


@pytest.fixture
def level() -> str:
    return _context().level


@pytest.fixture
def seed() -> int:
    return _context().seed


@pytest.fixture
def exercises() -> tuple[str, ...]:
    """The exercises the submission's manifest lists (what the soak check should expect to work)."""
    return _context().exercises


@pytest.fixture
def truth() -> Callable[[str], Any]:
    """``fake_llm.corpus.get_paper``: a paper's ground truth by id."""
    from fake_llm.corpus import get_paper

    return get_paper


@pytest.fixture
def contract(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The check's exercise's ``[contract]`` table at the session's level (its
    ``[contract.levels.<level>]`` numbers applied); for ``soak``, every exercise's, merged."""
    spec = spec_of(request.node)
    merged: dict[str, Any] = {}
    for slug, table in load_contracts(EXERCISES_DIR, _context().level).items():
        if spec is not None and (spec.exercise == slug or spec.exercise == SOAK):
            for key, value in table.items():
                merged.setdefault(key, value)
    return merged


# --- running and judging -------------------------------------------------------------------------

def _on_alarm(limit_s: float) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise CheckTimeout(f"timed out after {limit_s:g} s")

    return handler


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    spec = spec_of(item)
    limit_s = spec.time_limit_s if spec is not None else DEFAULT_TIME_LIMIT_S
    previous = signal.signal(signal.SIGALRM, _on_alarm(limit_s))
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _judge(call: pytest.CallInfo[None], context: GradingContext) -> tuple[str, str, str]:
    """(verdict, why, detail) of a failed phase."""
    excinfo = call.excinfo
    assert excinfo is not None
    error = excinfo.value
    if getattr(error, "restarts_app", False):
        context.apps.mark_dirty()
    if isinstance(error, pytest.skip.Exception):
        return "grader-error", f"the check skipped itself ({error}); checks must not skip", ""
    verdict = "fail" if isinstance(error, pytest.fail.Exception) else verdict_of(error)
    if isinstance(error, AssertionError):
        message = str(error).split("\nassert ")[0].strip() or "an assertion failed"
        return verdict, message, excinfo.exconly()[-2000:]
    if isinstance(error, GradingError):
        return verdict, error.why, error.detail[-LOG_TAIL_ON_FAIL:]
    if verdict == "fail":  # the time limit, pytest.fail
        return verdict, str(error), ""
    detail = "".join(traceback.format_exception(error))[-4000:]
    return verdict, f"the grader raised {type(error).__name__}: {error}", detail


def bounded(text: str, limit: int = TEXT_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    return text if len(text) <= limit else f"{text[:limit]} [... {len(text) - limit} more characters]"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    yield
    spec = spec_of(item)
    context = ctx_module.current()
    if spec is None or context is None:
        return
    outcome = item.stash.setdefault(_OUTCOME, {"verdict": "pass", "why": "", "detail": "",
                                               "duration_s": 0.0})
    if call.when == "call":
        outcome["duration_s"] = call.duration
        _capture(item)
    if call.excinfo is not None and outcome["verdict"] == "pass":
        outcome["verdict"], outcome["why"], outcome["detail"] = _judge(call, context)
        if call.when == "setup" and outcome["verdict"] == "fail":
            outcome["app_log_tail"] = outcome.pop("detail")
            outcome["detail"] = ""
    if call.when == "teardown":
        _finish(item, spec, context, outcome)


def _capture(item: pytest.Item) -> None:
    evidence = item.stash.get(_EVIDENCE, None)
    if evidence is not None:
        with contextlib.suppress(Exception):  # a missing timeline must not change the verdict
            evidence.capture()


def _finish(item: pytest.Item, spec: CheckSpec, context: GradingContext,
            outcome: dict[str, Any]) -> None:
    evidence = item.stash.get(_EVIDENCE, None)
    rows, dropped = evidence.timeline_rows() if evidence is not None else ([], 0)
    verdict = outcome["verdict"]
    tail = outcome.get("app_log_tail", "")
    if verdict == "fail" and not tail:
        tail = context.apps.log_tail()[-LOG_TAIL_ON_FAIL:]
    record = _record(
        item, spec, verdict=verdict,
        why=bounded(outcome["why"] or ("passed" if verdict == "pass" else "")),
        injected=tuple(map(bounded, evidence.injected_notes)) if evidence else (),
        observed=tuple(map(bounded, evidence.observed_notes)) if evidence else (),
        duration_s=round(outcome["duration_s"], 3),
        credit=evidence.credit_share if evidence else 1.0,
        ledger=tuple(rows), ledger_dropped=dropped, detail=outcome["detail"], app_log_tail=tail,
        app_start=item.stash.get(_APP_START, 0),
        extra={"level": context.level, **({"ledger_now_s": evidence.now_s} if evidence else {})})
    item.user_properties.append(("faultfirst", record.to_json()))
    context.emit({"type": "check", "record": record.to_json()})
