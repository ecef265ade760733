"""One check's raw result, as the inner session reports it and the outer process scores it.

Records cross a process boundary as JSON lines (:meth:`CheckRecord.to_json` /
:meth:`CheckRecord.from_json`); every field is plain data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from fake_llm.profiles import LEVELS  # the levels are the fake LLM's profiles
from graders.clauses import TAGS  # the rubric tags, one definition

__all__ = ["LEVELS", "SOAK", "TAGS", "VERDICTS", "CheckRecord", "SessionConfig"]

VERDICTS = ("pass", "fail", "grader-error", "not-run")
SOAK = "soak"


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """What happened to one check.

    ``verdict`` is one of :data:`VERDICTS`: ``pass``; ``fail`` (the candidate's code did not hold
    the contract; ``why`` says how); ``grader-error`` (the harness or the check itself broke:
    never counted against the candidate; ``detail`` holds the traceback); ``not-run`` (the check
    does not apply: ``why`` says why). ``credit`` is the share of ``points`` a passing check
    earns (1.0 unless the check gave partial credit). ``ledger`` holds the fake LLM's rows seen
    during the check (at most a few hundred; ``ledger_dropped`` counts the rest), for the
    report's timeline. ``clauses`` are the ids of the brief's clauses the check proves; a
    failed check's report quotes them (:func:`graders.clauses.quote`). ``app_start`` numbers
    the start of the app that served the check (1 for the first; 0: it used no app), which
    calibration's change reuse reads (:mod:`faultfirst.impact`).
    """

    nodeid: str
    name: str
    exercise: str
    tag: str
    points: float
    levels: tuple[str, ...] = LEVELS
    verdict: str = "not-run"
    why: str = ""
    doc: str = ""
    injected: tuple[str, ...] = ()
    observed: tuple[str, ...] = ()
    duration_s: float = 0.0
    credit: float = 1.0
    ledger: tuple[dict[str, Any], ...] = ()
    ledger_dropped: int = 0
    detail: str = ""
    app_log_tail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    clauses: tuple[str, ...] = ()  # ids of the brief's clauses the check proves
    app_start: int = 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["levels"] = list(self.levels)
        data["injected"] = list(self.injected)
        data["observed"] = list(self.observed)
        data["ledger"] = list(self.ledger)
        data["clauses"] = list(self.clauses)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckRecord:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        for name in ("levels", "injected", "observed", "ledger", "clauses"):
            if name in known:
                known[name] = tuple(known[name])
        return cls(**known)


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """What the outer process hands the inner grading session (written as JSON to a private file).

    ``argv_template`` is the manifest's command (``{port}`` still in place); ``cwd`` the
    submission copy on the host; ``env`` the app's whole environment (without the LLM settings,
    which the session adds once its fake LLM is up); ``sandbox`` a
    :meth:`graders.harness.sandbox.plan.Sandbox.to_json`; ``loopback_up`` whether the session must set
    ``lo`` up (it runs in a fresh network namespace); ``select`` a pytest ``-k`` expression;
    ``checks_dir`` replaces the kit's checks; ``only`` names the checks to run by node id
    (``test_retries.py::test_...``; None: every check); ``coverage`` runs the app under coverage.py (for
    calibration, on the kit's own reference: :func:`graders.harness.inner.app_process.covered_argv`);
    ``preload`` (calibration only) forks every start from one process that imported those
    modules (:mod:`graders.harness.inner.start_host`).
    """

    level: str
    seed: int
    exercises: tuple[str, ...]
    argv_template: tuple[str, ...]
    health: str
    cwd: str
    env: dict[str, str]
    python: str
    sandbox: dict[str, Any]
    startup_limit_s: float
    loopback_up: bool
    select: str | None = None
    checks_dir: str | None = None
    coverage: bool = False
    only: tuple[str, ...] | None = None
    preload: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["exercises"], data["argv_template"] = list(self.exercises), list(self.argv_template)
        data["only"] = None if self.only is None else list(self.only)
        data["preload"] = list(self.preload)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionConfig:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        known["exercises"] = tuple(known["exercises"])
        known["argv_template"] = tuple(known["argv_template"])
        if known.get("only") is not None:
            known["only"] = tuple(known["only"])
        known["preload"] = tuple(known.get("preload", ()))
        return cls(**known)
