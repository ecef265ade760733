"""The checks: every exercise has a module of checks whose points add up to the exercise's points."""

from __future__ import annotations

import importlib
import inspect
from collections import defaultdict
from pathlib import Path

from faultfirst.catalogue import load_catalogue
from graders.checks.plugin import CheckSpec

KIT = Path(__file__).resolve().parent.parent
CHECKS_DIR = KIT / "graders" / "checks"


def _specs() -> dict[str, list[tuple[str, CheckSpec]]]:
    found: dict[str, list[tuple[str, CheckSpec]]] = defaultdict(list)
    for path in sorted(CHECKS_DIR.glob("test_*.py")):
        module = importlib.import_module(f"graders.checks.{path.stem}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            spec = getattr(function, "__faultfirst_check__", None)
            if name.startswith("test_"):
                assert isinstance(spec, CheckSpec), f"{path.name}::{name} is not declared with @check"
                found[spec.exercise].append((name, spec))
    return found


def test_each_exercise_has_checks_worth_its_points() -> None:
    specs = _specs()
    for exercise in load_catalogue(KIT / "exercises"):
        checks = specs.get(exercise.slug, [])
        assert checks, f"no checks for exercise {exercise.slug}"
        assert sum(spec.points for _, spec in checks) == exercise.points, exercise.slug


def test_every_check_has_a_docstring_and_a_unique_name() -> None:
    names = [name for checks in _specs().values() for name, _ in checks]
    assert len(names) == len(set(names))
    for path in CHECKS_DIR.glob("test_*.py"):
        module = importlib.import_module(f"graders.checks.{path.stem}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("test_"):
                assert (function.__doc__ or "").strip(), f"{path.name}::{name} has no docstring"


def test_the_soak_check_always_counts() -> None:
    assert [name for name, _ in _specs()["soak"]] == ["test_mixed_requests_under_the_levels_weather"]
