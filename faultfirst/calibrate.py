"""Calibration: grade the known solutions at each level and find the level that tells them apart.

The known solutions are the starter, every flawed solution (the reference minus one skill) and
the reference. A level *separates* well when the reference keeps full marks while each flawed
solution loses the points of its flaw and the starter scores low; :func:`best_level` picks the
level where the most flawed solutions score below the reference, then the widest mean gap, then
the calmer level (a calmer level grades faster and leans less on chance).
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from faultfirst.catalogue import load_catalogue
from faultfirst.export import template_hash, write_session_files
from faultfirst.solutions import FLAWED_PREFIX, REFERENCE, materialize, solution_names

Grader = Callable[[Path, str, int, Path], float]  # (app folder, level, seed, out dir) -> percent


@dataclass
class Calibration:
    """Scores (percent) by solution and level, in grading order."""

    levels: tuple[str, ...]
    exercises: tuple[str, ...]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def flawed(self) -> list[str]:
        return [name for name in self.scores if name.startswith(FLAWED_PREFIX)]

    def gap(self, level: str) -> tuple[int, float]:
        """(flawed solutions scoring below the reference, mean points-percent they lose)."""
        reference = self.scores[REFERENCE][level]
        losses = [reference - self.scores[name][level] for name in self.flawed]
        below = sum(1 for loss in losses if loss > 0)
        return below, statistics.fmean(losses) if losses else 0.0

    def best_level(self) -> str:
        """The level that best separates the flawed solutions from the reference."""
        def key(item: tuple[int, str]) -> tuple[int, float, int]:
            index, level = item
            below, mean_loss = self.gap(level)
            return below, round(mean_loss, 6), -index

        return max(enumerate(self.levels), key=key)[1]


def prepare_solution(name: str, exercises: Sequence[str], level: str, dest: Path) -> Path:
    """Materialize a known solution with a manifest naming the exercises to grade."""
    catalogue = {e.slug: e for e in load_catalogue()}
    folder = materialize(name, dest)
    chosen = [catalogue[slug] for slug in exercises]
    write_session_files(folder, chosen, level, template_hash())
    return folder


def grade_percent(folder: Path, level: str, seed: int, out: Path) -> float:
    """Grade one folder with the hidden checks; its score in percent."""
    from graders.harness import grade

    result = grade(folder, level=level, seed=seed, out_dir=out)
    if result.status != "graded":
        raise RuntimeError(f"grading {folder} at {level} failed: {result.message}")
    return round(result.score.percent, 1)


def calibrate(levels: Sequence[str], exercises: Sequence[str] | None = None,
              solutions: Sequence[str] | None = None, seed: int = 0, out: Path | None = None,
              grader: Grader = grade_percent,
              on_score: Callable[[str, str, float], None] | None = None,
              jobs: int = 1) -> Calibration:
    """Grade each known solution at each level (reports under ``out/<solution>/<level>``).

    ``jobs`` gradings run at once (each is mostly waiting on the fake LLM's clock, and every check
    judges time on that clock, so two at a time on two cores keeps the verdicts).
    """
    slugs = tuple(exercises or [e.slug for e in load_catalogue()])
    names = list(solutions or solution_names())
    result = Calibration(tuple(levels), slugs, {name: {} for name in names})
    out = out or Path(tempfile.mkdtemp(prefix="faultfirst-calibrate-"))
    with tempfile.TemporaryDirectory(prefix="faultfirst-solutions-") as work:

        def one(name: str, level: str) -> tuple[str, str, float]:
            safe = name.replace("/", "-")
            folder = prepare_solution(name, slugs, level, Path(work) / f"{safe}-{level}")
            return name, level, grader(folder, level, seed, out / safe / level)

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(one, name, level) for name in names for level in levels]
            for future in as_completed(futures):
                name, level, score = future.result()
                result.scores[name][level] = score
                if on_score is not None:
                    on_score(name, level, score)
    return result


def table(calibration: Calibration) -> str:
    """The scores as a Markdown table, one row per solution, plus the separation per level."""
    levels = calibration.levels
    lines = ["| solution | " + " | ".join(levels) + " |",
             "| --- | " + " | ".join("---:" for _ in levels) + " |"]
    for name, scores in calibration.scores.items():
        lines.append(f"| {name} | " + " | ".join(f"{scores[level]:.1f}%" for level in levels) + " |")
    if REFERENCE in calibration.scores and calibration.flawed:
        gaps = [calibration.gap(level) for level in levels]
        total = len(calibration.flawed)
        lines.append("| flawed below reference | " + " | ".join(f"{b}/{total}" for b, _ in gaps) + " |")
        lines.append("| mean loss of a flawed | " + " | ".join(f"{m:.1f}" for _, m in gaps) + " |")
    return "\n".join(lines)
