"""``faultfirst demo``: the whole interviewer flow on the embedded defaults, in a few minutes.

It makes a candidate repo in a temporary folder, grades it as received (the starter), grades the
reference solution on the same exercises, and prints both summaries with their reports' paths.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faultfirst.calibrate import prepare_solution
from faultfirst.export import export_candidate
from faultfirst.solutions import REFERENCE

DEFAULT_EXERCISES = ("retries", "structured-output", "streaming")
DEFAULT_LEVEL = "realistic"
DEFAULT_SEED = 7


def run_demo(out: Path | None = None, exercises: tuple[str, ...] = DEFAULT_EXERCISES,
             level: str = DEFAULT_LEVEL, seed: int = DEFAULT_SEED,
             say: Callable[[str], Any] = print) -> int:
    """Run the demo; returns 0 when both gradings ran (whatever the scores)."""
    from graders.harness import TerminalProgress, grade, summary

    root = (out or Path(tempfile.mkdtemp(prefix="faultfirst-demo-"))).resolve()
    say(f"1/3  making a candidate repo ({', '.join(exercises)} at {level}) in {root / 'candidate'}")
    export_candidate(exercises, level, root / "candidate", name="Demo Candidate")
    results = []
    for step, (label, folder) in enumerate((
            ("the candidate repo as received (the starter)", root / "candidate"),
            ("the reference solution", None)), start=2):
        if folder is None:
            folder = prepare_solution(REFERENCE, exercises, level, root / "reference")
        say(f"\n{step}/3  grading {label} ...")
        result = grade(folder, level=level, seed=seed, out_dir=root / "reports" / folder.name,
                       progress=TerminalProgress())
        say(summary(result))
        results.append((label, result))
    say("\nDone. Reports:")
    for label, result in results:
        say(f"  {label}: {result.score.score:g}/{result.score.max_score:g} "
            f"({result.score.percent:.0f}%)  {result.report_path}")
    return 0 if all(r.exit_code == 0 for _, r in results) else 1
