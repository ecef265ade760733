"""Running the inner session from the outer process, and reading its events as they come.

The inner session (:mod:`graders.harness.inner.session`) runs as a child in its own network (and PID)
namespace, writes its pytest output to ``session.log`` in the private folder and reports through
a pipe. This module enforces the session's overall time limit, which grows once the session
says how many checks it will run.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graders.harness.inner.context import KIT_ROOT
from graders.harness.report.records import CheckRecord, SessionConfig

SESSION_START_LIMIT_S = 120.0  # fake LLM + the app's first start + collecting the checks
SESSION_MARGIN_S = 60.0
LOG_TAIL_CHARS = 6000


@dataclass
class SessionOutcome:
    """What the inner session reported. ``status`` as in GradeResult."""

    status: str = "graded"
    message: str = ""
    records: list[CheckRecord] = field(default_factory=list)
    app_log_tail: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def _session_env(private: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(private),
            "LANG": "C.UTF-8", "PYTHONPATH": str(KIT_ROOT), "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            # Only pytest's own plugins: a plugin that reorders or reruns tests would change verdicts.
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _pump(stream: Any, events: queue.Queue[dict[str, Any] | None]) -> None:
    with stream:
        for line in stream:
            try:
                events.put(json.loads(line))
            except ValueError:
                continue
    events.put(None)


def _apply(event: dict[str, Any], outcome: SessionOutcome) -> float | None:
    """Fold one event into the outcome; returns a new time budget when the session announces one."""
    kind = event.get("type")
    if kind == "check":
        outcome.records.append(CheckRecord.from_json(event["record"]))
    elif kind == "collected":
        return float(event.get("budget_s", 0.0))
    elif kind == "startup_failed":
        outcome.status = "did-not-start"
        outcome.message = f"the candidate's app did not start: {event['message']}"
        outcome.app_log_tail = event.get("log_tail", "")
    elif kind == "harness_error":
        outcome.status = "harness-error"
        outcome.message = f"the grading session failed: {event['message']}"
        outcome.details["harness_detail"] = event.get("detail", "")
    elif kind == "done":
        outcome.details.update(pytest_exit=event.get("pytest_exit"), app_starts=event.get("app_starts"),
                               app_starts_forked=event.get("app_starts_forked"))
    return None


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def run_inner_session(config: SessionConfig, prefix: tuple[str, ...], private: Path,
                      progress: Callable[[dict[str, Any]], None] | None = None) -> SessionOutcome:
    """Run the inner session to its end (or its time limit) and collect what it reported."""
    config_path = private / "config.json"
    config_path.write_text(json.dumps(config.to_json()), encoding="utf-8")
    read_fd, write_fd = os.pipe()
    argv = [*prefix, sys.executable, "-m", "graders.session", "--config", str(config_path),
            "--events-fd", str(write_fd)]
    with (private / "session.log").open("wb") as log:
        process = subprocess.Popen(argv, cwd=private, env=_session_env(private), stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, pass_fds=(write_fd,),
                                   start_new_session=True)
    os.close(write_fd)
    events: queue.Queue[dict[str, Any] | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(os.fdopen(read_fd, encoding="utf-8"), events),
                              daemon=True)
    reader.start()
    outcome = _collect(process, events, progress)
    reader.join(5)
    return _finish(process, outcome, private)


def _collect(process: subprocess.Popen[bytes], events: queue.Queue[dict[str, Any] | None],
             progress: Callable[[dict[str, Any]], None] | None) -> SessionOutcome:
    outcome = SessionOutcome()
    deadline = time.monotonic() + SESSION_START_LIMIT_S
    while True:
        try:
            event = events.get(timeout=max(0.0, min(1.0, deadline - time.monotonic())))
        except queue.Empty:
            if time.monotonic() < deadline:
                continue
            _kill(process)
            outcome.status = "harness-error"
            outcome.message = "the grading session ran past its overall time limit and was stopped"
            return outcome
        if event is None:
            return outcome
        budget = _apply(event, outcome)
        if budget is not None:
            deadline = time.monotonic() + budget + SESSION_MARGIN_S
        if progress is not None:
            progress(event)


def _finish(process: subprocess.Popen[bytes], outcome: SessionOutcome, private: Path) -> SessionOutcome:
    try:
        code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        _kill(process)
        code = -9
    outcome.details["session_log_tail"] = _tail(private / "session.log", LOG_TAIL_CHARS)
    if outcome.status == "graded" and "pytest_exit" not in outcome.details:
        outcome.status = "harness-error"
        outcome.message = f"the grading session ended without finishing (exit status {code})"
    return outcome


def _tail(path: Path, limit: int) -> str:
    """The last ``limit`` bytes of ``path``, decoded (the log can hold whatever the app sent)."""
    with path.open("rb") as log:
        log.seek(0, os.SEEK_END)
        log.seek(max(0, log.tell() - limit))
        return log.read().decode("utf-8", "replace")
