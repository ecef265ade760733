"""The inner grading session: ``python -m graders.session --config FILE --events-fd N``.

Runs inside the network namespace the outer process made (see :mod:`graders.harness.sandbox.netns`):
brings loopback up, starts the seeded fake LLM in-process, starts the app once to prove it can
start, then runs pytest on ``graders/checks`` with the plugin. It talks to the outer process only
through JSON-line events on ``--events-fd``:

- ``{"type": "collected", "count": N, "budget_s": S}`` once the checks that count are known;
- ``{"type": "check", "record": {...}}`` as each check ends (a CheckRecord);
- ``{"type": "startup_failed", "message", "log_tail"}`` when the app never became healthy (exit 3);
- ``{"type": "harness_error", "message"}`` when the session itself could not run (exit 4);
- ``{"type": "done", "pytest_exit": int, "app_starts": int}`` at the end (exit 0).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

import pytest

from faultfirst_data import package_folder
from graders.harness.inner import context as ctx_module
from graders.harness.inner.app_process import AppManager, AppStartError, LaunchSpec
from graders.harness.inner.context import EventSink, GradingContext, fd_sink, grader_fake, llm_env
from graders.harness.report.records import SessionConfig
from graders.harness.sandbox.netns import bring_loopback_up
from graders.harness.sandbox.plan import Sandbox

CHECKS_DIR = package_folder("graders") / "checks"
EXIT_OK, EXIT_APP_DID_NOT_START, EXIT_HARNESS = 0, 3, 4


def launch_spec(config: SessionConfig, fake_env: dict[str, str]) -> LaunchSpec:
    return LaunchSpec(
        argv_template=config.argv_template, health=config.health, cwd=Path(config.cwd),
        env={**config.env, **fake_env}, python=config.python,
        sandbox=Sandbox.from_json(config.sandbox), startup_limit_s=config.startup_limit_s,
        coverage=config.coverage, preload=config.preload)


def pytest_args(config: SessionConfig) -> list[str]:
    folder = config.checks_dir or str(CHECKS_DIR)
    targets = [f"{folder}/{nodeid}" for nodeid in config.only] if config.only is not None else [folder]
    args = [*targets, "-q", "-p", "no:cacheprovider",
            "--continue-on-collection-errors", "-o", "console_output_style=classic"]
    if config.select:
        args += ["-k", config.select]
    return args


def run(config: SessionConfig, emit: EventSink) -> int:
    """The session proper; returns its exit status."""
    if config.loopback_up:
        bring_loopback_up()
    with grader_fake(config.level, config.seed) as fake:
        apps = AppManager(launch_spec(config, llm_env(fake)))
        try:
            apps.restart()
        except AppStartError as error:
            emit({"type": "startup_failed", "message": str(error), "log_tail": error.log_tail})
            apps.shutdown()
            return EXIT_APP_DID_NOT_START
        context = GradingContext(config.level, config.seed, config.exercises, fake, apps, emit)
        ctx_module.install(context)
        try:
            status = pytest.main(pytest_args(config))
        finally:
            ctx_module.install(None)
            apps.shutdown()
        emit({"type": "done", "pytest_exit": int(status), "app_starts": apps.starts,
              "app_starts_forked": apps.forked})
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graders.session")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--events-fd", required=True, type=int)
    args = parser.parse_args(argv)
    emit = fd_sink(args.events_fd)
    try:
        config = SessionConfig.from_json(json.loads(args.config.read_text(encoding="utf-8")))
        return run(config, emit)
    except Exception as error:  # reported to the outer process, never raised past here
        emit({"type": "harness_error", "message": f"{type(error).__name__}: {error}",
              "detail": traceback.format_exc()[-4000:]})
        return EXIT_HARNESS


if __name__ == "__main__":
    sys.exit(main())
