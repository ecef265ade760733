"""The submission's manifest, ``faultfirst.toml`` at its root: how to start the app.

    command = "python -m litreview --port {port}"   # required; {port} is filled in
    health = "/health"                              # optional; must answer 200 once the app is up
    exercises = ["retries", "fallback"]             # the exercises this submission is graded on
    level = "realistic"                             # optional; the level the repo was made for

:func:`load_manifest` validates once and raises :class:`ManifestError` naming the file, the key
and the allowed values. Keys it does not know are kept in ``Manifest.unknown_keys`` and reported,
not refused, so that newer kits can add keys.
"""

from __future__ import annotations

import shlex
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.harness.errors import ManifestError
from graders.harness.report.records import LEVELS

__all__ = ["KNOWN_KEYS", "MANIFEST_NAME", "Manifest", "ManifestError", "load_manifest"]

MANIFEST_NAME = "faultfirst.toml"
KNOWN_KEYS = ("command", "health", "exercises", "level", "kit_version", "template_hash")


@dataclass(frozen=True, slots=True)
class Manifest:
    """A validated manifest. ``argv(port)`` is the command to run, split into arguments."""

    path: Path
    command: str
    health: str = "/health"
    exercises: tuple[str, ...] = ()
    level: str | None = None
    unknown_keys: tuple[str, ...] = ()

    @property
    def argv_template(self) -> tuple[str, ...]:
        """The command split into arguments, ``{port}`` still in place."""
        return tuple(shlex.split(self.command))

    def argv(self, port: int) -> list[str]:
        return [part.replace("{port}", str(port)) for part in self.argv_template]


def load_manifest(root: Path, known_exercises: Iterable[str]) -> Manifest:
    """The manifest of the submission at ``root``; ManifestError on the first rule it breaks."""
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(path, None, f"missing: a submission needs {MANIFEST_NAME} at its root "
                                        "saying how to start the app (command = \"... {port}\")")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ManifestError(path, None, f"not valid TOML: {error}") from None
    return Manifest(
        path=path,
        command=_command(path, data),
        health=_health(path, data.get("health", "/health")),
        exercises=_exercises(path, data.get("exercises", []), tuple(known_exercises)),
        level=_level(path, data.get("level")),
        unknown_keys=tuple(sorted(set(data) - set(KNOWN_KEYS))),
    )


def _command(path: Path, data: dict[str, Any]) -> str:
    if "command" not in data:
        raise ManifestError(path, "command", "missing: say how to start the app, for example "
                                             "command = \"python -m litreview --port {port}\"")
    command = data["command"]
    if not isinstance(command, str) or not command.strip():
        raise ManifestError(path, "command", "must be a non-empty string")
    if "{port}" not in command:
        raise ManifestError(path, "command", "must contain {port}, where the grader puts the port "
                                             "the app must listen on")
    try:
        shlex.split(command)
    except ValueError as error:
        raise ManifestError(path, "command", f"cannot be split into arguments: {error}") from None
    return command


def _health(path: Path, value: object) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ManifestError(path, "health", f"must be a path starting with '/', got {value!r}")
    return value


def _exercises(path: Path, value: object, known: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ManifestError(path, "exercises", "must be a list of exercise slugs", known)
    for slug in value:
        if slug not in known:
            raise ManifestError(path, "exercises", f"unknown exercise {slug!r}", known)
    return tuple(dict.fromkeys(value))


def _level(path: Path, value: object) -> str | None:
    if value is None:
        return None
    if value not in LEVELS:
        raise ManifestError(path, "level", f"unknown level {value!r}", LEVELS)
    return str(value)
