"""One grading run, from a submission folder to a :class:`GradeResult` (the outer process).

:func:`grade` copies the submission, reads its manifest, installs what it adds, plans the
sandbox, runs the inner session (:mod:`graders.harness.inner.session`) in a loopback-only network
namespace, scores the records and writes ``results.json`` and ``report.html``. It never raises for
anything the submission does: a broken manifest, an app that does not start or a harness failure
all come back as a result with a status and an exit code.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from faultfirst_data import kit_private_paths
from graders.harness.errors import DependencyError, ManifestError
from graders.harness.inner.context import KIT_ROOT, known_exercises
from graders.harness.outer.coverage import prepare_coverage, read_coverage
from graders.harness.outer.launch import SessionOutcome, run_inner_session
from graders.harness.outer.manifest import Manifest, load_manifest
from graders.harness.outer.submission import copy_submission, install_missing, tree_hash
from graders.harness.report.html import write_reports
from graders.harness.report.records import LEVELS, CheckRecord, SessionConfig
from graders.harness.report.result import GradeResult
from graders.harness.report.scoring import incomplete_message, score_records, status_for
from graders.harness.sandbox.cgroups import GradingCgroup, GradingLimits
from graders.harness.sandbox.netns import isolation_prefix
from graders.harness.sandbox.plan import (
    HOME_DIR,
    Layout,
    Sandbox,
    UidLease,
    interpreter_paths,
    plan_sandbox,
    probe,
    scrubbed_env,
    write_etc,
)

DEFAULT_LEVEL = "realistic"
_NODEID = re.compile(r"test_\w+\.py::test_\w+")
STARTUP_LIMIT_S = 30.0
Progress = Callable[[dict[str, Any]], None]


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
    return tree_hash(Path(__file__).resolve().parents[2], (".py", ".ini", ".j2", ".html", ".css"))[0]


@dataclass(frozen=True, slots=True)
class GradeOptions:
    """How to run the checks; see :func:`grade`."""

    level: str | None = None
    seed: int = 0
    select: str | None = None
    checks_dir: Path | None = None
    startup_limit_s: float = STARTUP_LIMIT_S
    coverage: bool = False
    only: tuple[str, ...] | None = None
    preload: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Prepared:
    """A submission ready to run: its copy, manifest, level and the inner session's config."""

    manifest: Manifest
    level: str
    submission_hash: str
    config: SessionConfig
    isolation: tuple[str, ...]
    network_prefix: tuple[str, ...]
    private: Path
    sandbox: Sandbox
    cgroup: GradingCgroup | None


class _Stop(Exception):
    def __init__(self, status: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.details = status, details


def _workdir(work: Path) -> dict[str, Path]:
    # Only root enters the work folder; a sandboxed app reaches its own folders through the jail.
    work.chmod(0o700)
    dirs = {name: work / name for name in ("submission", "home", "deps", "bin", "etc", "private")}
    for name in ("home", "deps", "bin", "private"):
        dirs[name].mkdir(mode=0o700 if name == "private" else 0o755)
    (dirs["home"] / "tmp").mkdir()
    for name in ("python", "python3"):
        (dirs["bin"] / name).symlink_to(sys.executable)
    write_etc(dirs["etc"])
    return dirs


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for folder, subdirs, files in os.walk(root):
        for name in subdirs + files:
            os.chown(os.path.join(folder, name), uid, gid, follow_symlinks=False)


def _confine(dirs: dict[str, Path], stack: contextlib.ExitStack) -> tuple[Sandbox, GradingCgroup | None]:
    """Plan and probe the sandbox: a user ID and control group of this grading's own.

    ``stack`` releases both when the grading ends (the group's last processes are killed)."""
    uid, cgroup = None, None
    if os.geteuid() == 0:
        lease = UidLease()
        stack.callback(lease.release)
        uid = lease.uid
        cgroup = GradingCgroup(f"faultfirst-{uid}", GradingLimits()).create()
        stack.callback(cgroup.remove)
    layout = Layout(dirs["submission"], dirs["deps"], dirs["bin"], dirs["etc"],
                    tuple(interpreter_paths()))
    private = kit_private_paths()
    join = cgroup.join_files() if cgroup else []
    sandbox = probe(plan_sandbox(layout, private, uid, join), dirs["submission"], private)
    if sandbox.uid is not None and sandbox.gid is not None:
        _chown_tree(dirs["submission"], sandbox.uid, sandbox.gid)
        _chown_tree(dirs["home"], sandbox.uid, sandbox.gid)
    return replace(sandbox, notes=(*sandbox.notes, *(cgroup.notes if cgroup else ()))), cgroup


def prepare(work: Path, source: Path, options: GradeOptions, stack: contextlib.ExitStack) -> Prepared:
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
    if options.coverage:
        prepare_coverage(dirs["submission"])
    sandbox, cgroup = _confine(dirs, stack)
    inside = sandbox.inside
    python_path = [inside(dirs["submission"]), *([inside(dirs["submission"] / "src")]
                   if (dirs["submission"] / "src").is_dir() else []), inside(dirs["deps"])]
    private_tmp = sandbox.mode == "bwrap"
    home = HOME_DIR if private_tmp else str(dirs["home"])
    env = scrubbed_env(home, [inside(dirs["bin"]), inside(dirs["deps"] / "bin"),
                              str(Path(sys.executable).parent)], python_path,
                       {} if private_tmp else {"TMPDIR": str(dirs["home"] / "tmp")})
    prefix, net_note = isolation_prefix()
    notes = [*sandbox.notes, *([net_note] if net_note else [])]
    notes += [f"left out symbolic link {link}" for link in copied.skipped_links]
    notes += [f"installed for the submission: {req}" for req in installed]
    notes += [f"unknown manifest key {key!r} ignored" for key in manifest.unknown_keys]
    config = SessionConfig(
        level=chosen_level, seed=options.seed, exercises=manifest.exercises,
        argv_template=manifest.argv_template, health=manifest.health, cwd=str(dirs["submission"]),
        env=env, python=sys.executable, sandbox=sandbox.to_json(),
        startup_limit_s=options.startup_limit_s, loopback_up=bool(prefix), select=options.select,
        checks_dir=str(options.checks_dir) if options.checks_dir else None,
        coverage=options.coverage, only=options.only, preload=options.preload)
    return Prepared(manifest, chosen_level, copied.sha256, config, tuple(notes), prefix,
                    dirs["private"], sandbox, cgroup)


def isolation_summary(sandbox: Sandbox, network_isolated: bool) -> list[str]:
    """What confinement the app ran under, in plain words (for the report)."""
    lines = ["network: loopback only (private network namespace)" if network_isolated
             else "network: NOT isolated"]
    lines += sandbox.summary()
    lines.append("the fake LLM's admin API wants a token the app is not given: the app cannot "
                 "change or read the injected faults")
    return lines


def _result(base: dict[str, Any], outcome: SessionOutcome | None, started: float) -> GradeResult:
    records: list[CheckRecord] = outcome.records if outcome else []
    score = score_records(records, base.get("exercises", ()), base["level"])
    status = status_for(score, base["status"])
    if status != base["status"]:
        base = {**base, "status": status, "message": incomplete_message(score)}
    return GradeResult(score=score, duration_s=round(time.monotonic() - started, 2), **base)


def grade(path: Path | str, level: str | None = None, seed: int = 0,
          out_dir: Path | str | None = None, progress: Progress | None = None, *,
          select: str | None = None, checks_dir: Path | str | None = None,
          startup_limit_s: float = STARTUP_LIMIT_S, coverage: bool = False,
          only: Sequence[str] | None = None, preload: Sequence[str] = ()) -> GradeResult:
    """Grade the submission at ``path``; write ``results.json`` and ``report.html`` to ``out_dir``.

    ``level`` defaults to the manifest's, else ``realistic``; ``select`` is a pytest ``-k``
    expression (for calibration and debugging: a partial run). ``progress`` receives each event
    of the inner session as it happens (see graders.harness.inner.session). ``checks_dir`` replaces
    ``graders/checks`` (the kit's own tests use it; it must hold a conftest using the plugin).
    ``startup_limit_s`` bounds each wait for the app's health check. ``only`` runs just the
    checks with these node ids (``test_retries.py::test_...``, as in each record). ``coverage`` runs each
    start of the app under coverage.py and returns the lines each start ran
    (``GradeResult.coverage``); calibration uses it on the kit's own reference. ``preload``
    (calibration only, on the kit's own solutions) forks every start of the app from one process
    in the sandbox that imported these modules once (:mod:`graders.harness.inner.start_host`).
    """
    if level is not None and level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; allowed: {', '.join(LEVELS)}")
    for nodeid in only or ():
        if not _NODEID.fullmatch(nodeid):
            raise ValueError(f"not a check's node id: {nodeid!r} (expected test_<module>.py::test_<name>)")
    started = time.monotonic()
    source = Path(path).resolve()
    out = Path(out_dir).resolve() if out_dir else Path.cwd() / f"faultfirst-grade-{source.name}"
    base: dict[str, Any] = {"status": "graded", "message": "", "level": level or DEFAULT_LEVEL,
                            "seed": seed, "submission": str(source), "grader_hash": grader_hash(),
                            "kit_version": kit_version(), "out_dir": out}
    options = GradeOptions(level, seed, select, Path(checks_dir).resolve() if checks_dir else None,
                           startup_limit_s, coverage, None if only is None else tuple(only),
                           tuple(preload))
    with (tempfile.TemporaryDirectory(prefix="faultfirst-grade-", ignore_cleanup_errors=True) as work,
          contextlib.ExitStack() as stack):
        try:
            prepared = prepare(Path(work), source, options, stack)
        except _Stop as stop:
            result = _result({**base, "status": stop.status, "message": str(stop), **stop.details},
                             None, started)
            return write_reports(result)
        base |= {"level": prepared.level, "exercises": prepared.manifest.exercises,
                 "submission_hash": prepared.submission_hash}
        outcome = run_inner_session(prepared.config, prepared.network_prefix, prepared.private,
                                    progress)
        held = prepared.cgroup.held() if prepared.cgroup else []
        if options.coverage:
            base["coverage"] = read_coverage(Path(prepared.config.cwd),
                                             prepared.sandbox.inside(prepared.config.cwd))
        base |= {"status": outcome.status, "message": outcome.message,
                 "app_log_tail": outcome.app_log_tail, "details": outcome.details,
                 "isolation": (*isolation_summary(prepared.sandbox, bool(prepared.network_prefix)),
                               *held, *prepared.isolation)}
        return write_reports(_result(base, outcome, started))

