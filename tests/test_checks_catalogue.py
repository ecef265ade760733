"""The checks: every exercise has a module of checks whose points add up to the exercise's points."""

from __future__ import annotations

import importlib
import inspect
from collections import defaultdict
from pathlib import Path

import pytest

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


def test_every_flaw_is_graded_at_a_level_where_its_checks_count() -> None:
    """A flaw caught only by checks that count from a level up is graded there in the validity
    suite (``level`` in its flaw.toml, default realistic)."""
    import tomllib

    levels_of = {name: spec.levels for checks in _specs().values() for name, spec in checks}
    for path in sorted((KIT / "solutions" / "flawed").glob("*/flaw.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        level = data.get("level", "realistic")
        checks = [*data["fails"], *(entry["check"] for entry in data.get("also_fails", []))]
        silent = [name for name in checks if level not in levels_of.get(name, ())]
        assert not silent, f"{path}: at {level}, these checks do not count: {silent}"


def test_from_level_counts_from_that_level_up() -> None:
    from graders.checks.plugin import check

    @check(exercise="retries", tag="retries", points=1, from_level="stormy")
    def probe() -> None:
        """A probe."""

    assert probe.__faultfirst_check__.levels == ("stormy", "hurricane")  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="from_level"):
        check(exercise="retries", tag="retries", points=1, from_level="breezy")
