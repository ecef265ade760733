"""The terminal side of a grading run: one line per check as it ends, then a summary.

``✓`` passed, ``✗`` failed, ``!`` grader-error (not counted against the candidate).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TextIO

from graders.harness.records import CheckRecord

if TYPE_CHECKING:
    from graders.harness.run import GradeResult

MARKS = {"pass": "✓", "fail": "✗", "grader-error": "!"}


class TerminalProgress:
    """A progress callback for :func:`graders.harness.grade`: prints each check as it ends."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.total = 0
        self.done = 0

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("type") == "collected":
            self.total = int(event.get("count", 0))
            self._print(f"running {self.total} checks")
        elif event.get("type") == "check":
            record = CheckRecord.from_json(event["record"])
            if record.verdict == "not-run":
                return
            self.done += 1
            self._print(progress_line(record, self.done, self.total))
        elif event.get("type") == "startup_failed":
            self._print(f"✗ the app did not start: {event.get('message')}")

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


def progress_line(record: CheckRecord, done: int, total: int) -> str:
    mark = MARKS.get(record.verdict, "?")
    earned = record.points * record.credit if record.verdict == "pass" else 0.0
    points = "not counted" if record.verdict == "grader-error" else f"{earned:g}/{record.points:g}"
    width = len(str(total)) if total else 1
    line = f"[{done:>{width}}/{total}] {mark} {record.exercise}: {record.name}  {points}"
    if record.verdict != "pass" and record.why:
        line += f"\n        {record.why.splitlines()[0][:160]}"
    return line


def summary(result: GradeResult) -> str:
    """The closing lines: score, per-exercise points, where the reports are."""
    score = result.score
    lines = [""]
    if result.status != "graded":
        lines.append(f"✗ {result.message}")
        if result.app_log_tail:
            tail = result.app_log_tail.strip().splitlines()[-15:]
            lines += ["  the app's output (last lines):", *("    " + line for line in tail)]
    lines.append(f"score {score.score:g}/{score.max_score:g} ({score.percent:.0f}%) at level "
                 f"{result.level}, seed {result.seed}: {score.verdicts.get('pass', 0)} passed, "
                 f"{score.verdicts.get('fail', 0)} failed, {score.verdicts.get('grader-error', 0)} "
                 "grader errors")
    for name, tally in score.by_exercise.items():
        lines.append(f"  {name:<20} {tally.score:g}/{tally.max_score:g}")
    for note in result.isolation:
        if "not isolated" in note or "NOT" in note or "could read" in note:
            lines.append(f"  note: {note}")
    if result.results_path is not None and result.report_path is not None:
        lines.append(f"reports: {result.results_path}  {result.report_path}")
    return "\n".join(lines)
