"""The grading session's shared state, handed from the session runner to the pytest plugin.

The inner session (:mod:`graders.harness.inner.session`) builds a :class:`GradingContext` and
:func:`install`\\ s it before running pytest; the plugin reads it with :func:`current`. When the
checks are run with plain ``pytest graders/checks --ff-submission DIR`` (developing checks), the
plugin builds one itself with :func:`dev_context`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from faultfirst_data import exercises_dir, package_folder
from graders.harness.inner.app_process import AppManager, LaunchSpec
from graders.harness.outer.manifest import load_manifest
from graders.harness.sandbox.plan import scrubbed_env

if TYPE_CHECKING:
    from fake_llm.runner import FakeLLM

KIT_ROOT = package_folder("graders").parent  # where the kit's packages are imported from
EXERCISES_DIR = exercises_dir()
# The key a candidate's app uses locally (the template's default): nothing in a graded app's
# environment tells it that it is being graded.
GRADER_KEY = "sk-local"

EventSink = Callable[[dict[str, Any]], None]


class FakeServer(Protocol):
    """What the checks need of the fake LLM (fake_llm.runner.FakeLLM fits)."""

    @property
    def admin(self) -> Any: ...

    @property
    def openai_base_url(self) -> str: ...

    @property
    def anthropic_base_url(self) -> str: ...


@dataclass
class GradingContext:
    """One grading session: level, seed, the manifest's exercises, the fake LLM, the app."""

    level: str
    seed: int
    exercises: tuple[str, ...]
    fake: FakeServer
    apps: AppManager
    emit: EventSink = field(default=lambda event: None)
    owned: list[Any] = field(default_factory=list)  # things to stop at the end (dev mode)

    def close(self) -> None:
        self.apps.shutdown()
        for thing in reversed(self.owned):
            thing.stop()


_current: GradingContext | None = None


def install(context: GradingContext | None) -> None:
    global _current
    _current = context


def current() -> GradingContext | None:
    return _current


def grader_fake(level: str, seed: int) -> FakeLLM:
    """The fake LLM for one grading, not started yet. Its admin API wants a random token that
    never leaves this process: the app shares the fake's loopback but cannot script, clear or read
    its faults. It runs in grading mode: no ``x-fake-llm-*`` headers and a bare ``/health``, so
    nothing tells the app which fault it met or that it is graded."""
    from fake_llm.runner import FakeLLM

    return FakeLLM(profile=level, seed=seed, admin_token=secrets.token_urlsafe(24), grading=True)


def llm_env(fake: FakeServer) -> dict[str, str]:
    """The LLM settings every app gets (the LLM_* variables of the candidate README), pointing at
    this session's fake LLM."""
    return {
        "LLM_BASE_URL": fake.openai_base_url,
        "LLM_FALLBACK_BASE_URL": fake.anthropic_base_url,
        "LLM_API_KEY": GRADER_KEY,
        "LLM_FALLBACK_API_KEY": GRADER_KEY,
        "LLM_MODEL": "sim-gpt-large",
        "LLM_FALLBACK_MODEL": "sim-claude-large",
    }


def known_exercises() -> tuple[str, ...]:
    return tuple(sorted(p.name for p in EXERCISES_DIR.iterdir()
                        if (p / "exercise.toml").is_file()))


def file_sink(path: Path) -> EventSink:
    """Events appended as JSON lines to ``path``."""

    def emit(event: dict[str, Any]) -> None:
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(event) + "\n")

    return emit


def fd_sink(fd: int) -> EventSink:
    """Events written as JSON lines to an inherited file descriptor (a pipe to the outer process)."""
    stream = os.fdopen(fd, "w", encoding="utf-8", buffering=1)

    def emit(event: dict[str, Any]) -> None:
        stream.write(json.dumps(event) + "\n")
        stream.flush()

    return emit


def dev_context(submission: Path, level: str, seed: int, exercises: str | None,
                results: Path | None) -> GradingContext:
    """A context for developing checks: the submission runs in place, unconfined."""
    manifest = load_manifest(submission, known_exercises())
    fake = grader_fake(level, seed).start()
    home = Path(tempfile.mkdtemp(prefix="faultfirst-dev-home-"))
    (home / "tmp").mkdir()
    env = scrubbed_env(home, [Path(sys.executable).parent], [submission, submission / "src"],
                       llm_env(fake))
    spec = LaunchSpec(manifest.argv_template, manifest.health, submission, env, sys.executable)
    chosen = tuple(exercises.split(",")) if exercises else manifest.exercises
    emit: EventSink = file_sink(results) if results else (lambda event: None)
    return GradingContext(level, seed, chosen, fake, AppManager(spec), emit, [_Removal(home), fake])


class _Removal:
    """Removes a temporary folder when the context closes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def stop(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
