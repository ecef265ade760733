"""solutions/: overlays materialize into whole apps, and the reference passes its own tests.

The reference's tests include the starter's visible tests (the overlay keeps them), unit tests of
the retry, breaker, repair and citation logic, and integration tests against the fake server with
scripted faults.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from faultfirst.solutions import (
    KIT_ROOT,
    SOLUTIONS_DIR,
    TEMPLATE_DIR,
    UnknownSolution,
    layers,
    materialize,
    solution_names,
)

RUN_LIMIT_S = 180  # a generous cap: the run takes well under a minute; this only stops a hang


def test_the_reference_passes_its_tests(tmp_path: Path) -> None:
    app = materialize("reference", tmp_path / "reference")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(app), str(KIT_ROOT)])}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=app, env=env, capture_output=True, text=True, timeout=RUN_LIMIT_S,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    assert " passed" in result.stdout


def test_the_reference_overlays_the_template(tmp_path: Path) -> None:
    app = materialize("reference", tmp_path / "reference")
    overlay = SOLUTIONS_DIR / "reference" / "litreview" / "errors.py"
    assert (app / "litreview" / "errors.py").read_text() == overlay.read_text()
    kept = TEMPLATE_DIR / "litreview" / "prompts.py"
    assert (app / "litreview" / "prompts.py").read_text() == kept.read_text()
    assert (app / "tests" / "test_summaries.py").is_file(), "the visible tests come along"
    assert not list(app.rglob("__pycache__"))


def source_files(root: Path) -> list[Path]:
    """Files under ``root``, caches left out."""
    return sorted(
        p.relative_to(root) for p in root.rglob("*")
        if p.is_file() and not any(part.endswith("cache__") or part.endswith("_cache")
                                   or part == ".hypothesis" for part in p.parts)
    )


def test_the_starter_is_the_template_alone(tmp_path: Path) -> None:
    app = materialize("starter", tmp_path / "starter")
    assert source_files(app) == source_files(TEMPLATE_DIR)


def make_kit(root: Path) -> tuple[Path, Path]:
    """A miniature template and solutions tree, to test layering on its own."""
    template, solutions = root / "template", root / "solutions"
    for path, text in {
        template / "a.txt": "template", template / "b.txt": "template",
        template / "pkg" / "c.txt": "template",
        solutions / "reference" / "b.txt": "reference",
        solutions / "reference" / "pkg" / "c.txt": "reference",
        solutions / "flawed" / "no-retries" / "pkg" / "c.txt": "flawed",
    }.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return template, solutions


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("starter", {"a.txt": "template", "b.txt": "template", "pkg/c.txt": "template"}),
        ("reference", {"a.txt": "template", "b.txt": "reference", "pkg/c.txt": "reference"}),
        ("flawed/no-retries", {"a.txt": "template", "b.txt": "reference", "pkg/c.txt": "flawed"}),
    ],
)
def test_layers_stack_in_order(tmp_path: Path, name: str, expected: dict[str, str]) -> None:
    template, solutions = make_kit(tmp_path)
    app = materialize(name, tmp_path / "out", template, solutions)
    assert {str(p.relative_to(app)): p.read_text() for p in app.rglob("*.txt")} == expected


def test_names_are_listed_and_unknown_ones_refused(tmp_path: Path) -> None:
    template, solutions = make_kit(tmp_path)
    assert solution_names(solutions) == ["starter", "reference", "flawed/no-retries"]
    for name in ("flawed/nope", "nope", "flawed/", "flawed/../reference"):
        with pytest.raises(UnknownSolution, match="flawed/no-retries"):
            layers(name, template, solutions)


def test_a_non_empty_destination_is_refused(tmp_path: Path) -> None:
    template, solutions = make_kit(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "stale.txt").write_text("old")
    with pytest.raises(FileExistsError):
        materialize("reference", tmp_path / "out", template, solutions)


def test_the_real_catalogue_of_solutions_starts_with_starter_and_reference() -> None:
    assert solution_names()[:2] == ["starter", "reference"]


def test_an_alternative_is_listed_after_the_flaws_and_stacks_on_the_reference(
    tmp_path: Path,
) -> None:
    template, solutions = make_kit(tmp_path)
    alternative = solutions / "alternative" / "pool"
    alternative.mkdir(parents=True)
    (alternative / "change.patch").write_text(
        "--- a/pkg/c.txt\n+++ b/pkg/c.txt\n@@ -1 +1 @@\n-reference\n+alternative\n"
    )
    assert solution_names(solutions) == ["starter", "reference", "flawed/no-retries",
                                         "alternative/pool"]
    app = materialize("alternative/pool", tmp_path / "out", template, solutions)
    assert {str(p.relative_to(app)): p.read_text() for p in app.rglob("*.txt")} == {
        "a.txt": "template", "b.txt": "reference", "pkg/c.txt": "alternative\n"}
    for name in ("alternative/nope", "alternative/", "alternative/../flawed"):
        with pytest.raises(UnknownSolution, match="alternative/pool"):
            layers(name, template, solutions)
