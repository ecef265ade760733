"""One grading run, from a submission folder to a :class:`GradeResult` (the outer process).

:func:`grade` copies the submission, reads its manifest, installs what it adds, plans the
sandbox, runs the inner session (:mod:`graders.harness.session`) in a loopback-only network
namespace, scores the records and writes ``results.json`` and ``report.html``. It never raises for
anything the submission does: a broken manifest, an app that does not start or a harness failure
all come back as a result with a status and an exit code.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graders.harness.context import KIT_ROOT, known_exercises
from graders.harness.errors import DependencyError, ManifestError
from graders.harness.inner import SessionOutcome, run_inner_session
from graders.harness.manifest import Manifest, load_manifest
from graders.harness.netns import isolation_prefix
from graders.harness.records import LEVELS, CheckRecord
from graders.harness.sandbox import Sandbox, interpreter_paths, plan_sandbox, probe, scrubbed_env
from graders.harness.scoring import Score, score_records
from graders.harness.submission import copy_submission, install_missing, tree_hash

DEFAULT_LEVEL = "realistic"
STARTUP_LIMIT_S = 30.0
EXIT_CODES = {"graded": 0, "invalid-submission": 2, "did-not-start": 3, "harness-error": 4}
Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class GradeResult:
    """The outcome of one grading run.

    ``status`` is ``graded`` (the checks ran, whatever the score), ``invalid-submission`` (no
    usable manifest or dependencies), ``did-not-start`` (the app never became healthy: the
    candidate's failure, scored 0) or ``harness-error`` (the kit failed: not the candidate's
    fault). ``exit_code`` is what ``faultfirst grade`` exits with. ``results_path`` and
    ``report_path`` are set once the reports are written.
    """

    status: str
    message: str
    score: Score
    level: str
    seed: int
    submission: str
    exercises: tuple[str, ...] = ()
    submission_hash: str = ""
    grader_hash: str = ""
    kit_version: str = ""
    isolation: tuple[str, ...] = ()
    app_log_tail: str = ""
    duration_s: float = 0.0
    out_dir: Path | None = None
    results_path: Path | None = None
    report_path: Path | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


def kit_version() -> str:
    import importlib.metadata
    import tomllib

    try:
        return importlib.metadata.version("faultfirst")
    except importlib.metadata.PackageNotFoundError:
        pyproject = KIT_ROOT / "pyproject.toml"
        if pyproject.is_file():
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        return "unknown"


def grader_hash() -> str:
    """sha256 of the graders' sources (code, templates, pytest config)."""
    return tree_hash(Path(__file__).resolve().parents[1], (".py", ".ini", ".j2", ".html", ".css"))[0]


@dataclass(frozen=True, slots=True)
class GradeOptions:
    """How to run the checks; see :func:`grade`."""

    level: str | None = None
    seed: int = 0
    select: str | None = None
    checks_dir: Path | None = None
    startup_limit_s: float = STARTUP_LIMIT_S


@dataclass(frozen=True, slots=True)
class Prepared:
    """A submission ready to run: its copy, manifest, level and the inner session's config."""

    manifest: Manifest
    level: str
    submission_hash: str
    config: dict[str, Any]
    isolation: tuple[str, ...]
    network_prefix: tuple[str, ...]
    private: Path


class _Stop(Exception):
    def __init__(self, status: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.details = status, details


def _workdir(work: Path) -> dict[str, Path]:
    work.chmod(0o711)  # others may pass through to the app's folders, not list or read the rest
    dirs = {name: work / name for name in ("submission", "home", "deps", "bin", "private")}
    for name in ("home", "deps", "bin", "private"):
        dirs[name].mkdir(mode=0o700 if name == "private" else 0o755)
    (dirs["home"] / "tmp").mkdir()
    for name in ("python", "python3"):
        (dirs["bin"] / name).symlink_to(sys.executable)
    return dirs


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for folder, subdirs, files in os.walk(root):
        for name in subdirs + files:
            os.chown(os.path.join(folder, name), uid, gid, follow_symlinks=False)


def _sandbox(dirs: dict[str, Path], env: dict[str, str]) -> Sandbox:
    needed = [*interpreter_paths(), dirs["submission"], dirs["home"], dirs["deps"], dirs["bin"]]
    sandbox = probe(plan_sandbox(KIT_ROOT, needed), dirs["submission"], env)
    if sandbox.uid is not None and sandbox.gid is not None:
        _chown_tree(dirs["submission"], sandbox.uid, sandbox.gid)
        _chown_tree(dirs["home"], sandbox.uid, sandbox.gid)
    return sandbox


def prepare(work: Path, source: Path, options: GradeOptions) -> Prepared:
    """Copy, validate, install and plan; raises _Stop with a status for anything unusable."""
    if not source.is_dir():
        raise _Stop("invalid-submission", f"{source}: no such folder")
    dirs = _workdir(work)
    copied = copy_submission(source, dirs["submission"])
    try:
        manifest = load_manifest(dirs["submission"], known_exercises())
    except ManifestError as error:
        raise _Stop("invalid-submission", str(error).replace(str(dirs["submission"]), str(source)),
                    submission_hash=copied.sha256) from None
    chosen_level = options.level or manifest.level or DEFAULT_LEVEL
    try:
        installed = install_missing(dirs["submission"], dirs["deps"])
    except DependencyError as error:
        raise _Stop("invalid-submission", f"the submission's dependencies: {error}",
                    submission_hash=copied.sha256) from None
    python_path = [dirs["submission"], *([dirs["submission"] / "src"]
                                         if (dirs["submission"] / "src").is_dir() else []), dirs["deps"]]
    env = scrubbed_env(dirs["home"], [dirs["bin"], dirs["deps"] / "bin", Path(sys.executable).parent],
                       python_path, {})
    sandbox = _sandbox(dirs, env)
    prefix, net_note = isolation_prefix()
    notes = [*sandbox.notes, *([net_note] if net_note else [])]
    notes += [f"left out symbolic link {link}" for link in copied.skipped_links]
    notes += [f"installed for the submission: {req}" for req in installed]
    notes += [f"unknown manifest key {key!r} ignored" for key in manifest.unknown_keys]
    config = {"level": chosen_level, "seed": options.seed, "exercises": list(manifest.exercises),
              "argv_template": list(manifest.argv_template), "health": manifest.health,
              "cwd": str(dirs["submission"]), "env": env, "python": sys.executable,
              "sandbox": sandbox.to_json(), "startup_limit_s": options.startup_limit_s,
              "loopback_up": bool(prefix), "select": options.select,
              "checks_dir": str(options.checks_dir) if options.checks_dir else None}
    return Prepared(manifest, chosen_level, copied.sha256, config, tuple(notes), prefix,
                    dirs["private"])


def isolation_summary(sandbox: dict[str, Any], network_isolated: bool) -> list[str]:
    """What confinement the app ran under, in plain words (for the report)."""
    lines = ["network: loopback only (private network namespace)" if network_isolated
             else "network: NOT isolated"]
    if sandbox.get("uid") is not None:
        lines.append(f"user: unprivileged uid {sandbox['uid']}")
    if sandbox.get("mount_ns"):
        lines.append("files: the kit's graders, solutions and notes hidden (private mount namespace)")
    limits = sandbox.get("rlimits", {})
    lines.append("limits: " + ", ".join(f"{k}={v}" for k, v in sorted(limits.items())))
    lines.append("the fake LLM's admin API wants a token the app is not given: the app cannot "
                 "change or read the injected faults")
    return lines


def _result(base: dict[str, Any], outcome: SessionOutcome | None, started: float) -> GradeResult:
    records: list[CheckRecord] = outcome.records if outcome else []
    score = score_records(records, base.get("exercises", ()), base["level"])
    return GradeResult(score=score, duration_s=round(time.monotonic() - started, 2), **base)


def grade(path: Path | str, level: str | None = None, seed: int = 0,
          out_dir: Path | str | None = None, progress: Progress | None = None, *,
          select: str | None = None, checks_dir: Path | str | None = None,
          startup_limit_s: float = STARTUP_LIMIT_S) -> GradeResult:
    """Grade the submission at ``path``; write ``results.json`` and ``report.html`` to ``out_dir``.

    ``level`` defaults to the manifest's, else ``realistic``; ``select`` is a pytest ``-k``
    expression (for calibration and debugging: a partial run). ``progress`` receives each event
    of the inner session as it happens (see graders.harness.session). ``checks_dir`` replaces
    ``graders/checks`` (the kit's own tests use it; it must hold a conftest using the plugin).
    ``startup_limit_s`` bounds each wait for the app's health check.
    """
    from graders.harness.reports import write_reports

    if level is not None and level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; allowed: {', '.join(LEVELS)}")
    started = time.monotonic()
    source = Path(path).resolve()
    out = Path(out_dir).resolve() if out_dir else Path.cwd() / f"faultfirst-grade-{source.name}"
    base: dict[str, Any] = {"status": "graded", "message": "", "level": level or DEFAULT_LEVEL,
                            "seed": seed, "submission": str(source), "grader_hash": grader_hash(),
                            "kit_version": kit_version(), "out_dir": out}
    options = GradeOptions(level, seed, select, Path(checks_dir).resolve() if checks_dir else None,
                           startup_limit_s)
    with tempfile.TemporaryDirectory(prefix="faultfirst-grade-", ignore_cleanup_errors=True) as work:
        try:
            prepared = prepare(Path(work), source, options)
        except _Stop as stop:
            result = _result({**base, "status": stop.status, "message": str(stop), **stop.details},
                             None, started)
            return write_reports(result)
        base |= {"level": prepared.level, "exercises": prepared.manifest.exercises,
                 "submission_hash": prepared.submission_hash,
                 "isolation": (*isolation_summary(prepared.config["sandbox"],
                                                  bool(prepared.network_prefix)),
                               *prepared.isolation)}
        outcome = run_inner_session(prepared.config, prepared.network_prefix, prepared.private,
                                    progress)
        base |= {"status": outcome.status, "message": outcome.message,
                 "app_log_tail": outcome.app_log_tail, "details": outcome.details}
        return write_reports(_result(base, outcome, started))

