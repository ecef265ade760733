"""A flawed solution's ``flaw.toml``, read the same way by the static test of its clauses
(tests/test_flaw_clauses.py) and by the validity suite that grades it (tests/test_validity.py)."""

from __future__ import annotations

import importlib
import inspect
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faultfirst.solutions import SOLUTIONS_DIR
from graders.checks.plugin import CheckSpec

FLAWED_DIR = SOLUTIONS_DIR / "flawed"


def flaw_names() -> list[str]:
    """Every flawed solution's folder name."""
    return sorted(path.name for path in FLAWED_DIR.iterdir()
                  if path.is_dir() and (path / "flaw.toml").is_file())


def _strings(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ValueError(f"{where}: `{key}` must be a list of non-empty strings, not {value!r}")
    return tuple(value)


@dataclass(frozen=True, slots=True)
class Flaw:
    """``name``, ``exercise``, ``description``; ``clauses``: the ids of the brief's clauses the
    flaw breaks; ``fails``: the checks of its exercise that catch it; ``also_fails``: checks of
    other exercises that catch it too, with the reason; ``uncaught``: for a known miss, the
    sentence it breaks."""

    name: str
    exercise: str
    description: str
    clauses: tuple[str, ...]
    fails: tuple[str, ...]
    also_fails: dict[str, str]
    uncaught: str = ""
    level: str = "realistic"  # where its checks count (a flaw caught by checks from stormy up: stormy)

    @classmethod
    def load(cls, name: str) -> Flaw:
        path = FLAWED_DIR / name / "flaw.toml"
        where = f"solutions/flawed/{name}/flaw.toml"
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        also = {entry["check"]: entry["reason"] for entry in data.get("also_fails", [])}
        return cls(data["name"], data["exercise"], data["description"],
                   _strings(data, "clauses", where), _strings(data, "fails", where), also,
                   data.get("uncaught", ""), data.get("level", "realistic"))


CHECKS_DIR = Path(__file__).resolve().parent.parent / "graders" / "checks"


def check_specs() -> dict[str, CheckSpec]:
    """Every check's declaration, by check name."""
    specs: dict[str, CheckSpec] = {}
    for path in sorted(CHECKS_DIR.glob("test_*.py")):
        module = importlib.import_module(f"graders.checks.{path.stem}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            spec = getattr(function, "__faultfirst_check__", None)
            if isinstance(spec, CheckSpec):
                specs[name] = spec
    return specs
