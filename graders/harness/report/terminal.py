"""The terminal side of a grading run: one line per check as it ends, then a summary.

``✓`` passed, ``✗`` failed, ``!`` grader-error (a fault of the kit: 0 points, and the grading is
incomplete: regrade).

Much of what is printed comes from the app (a check's "why" quotes its answers; the summary
shows its output), and the app is untrusted: :func:`clean` removes control characters and
escape sequences from every line before it reaches the terminal, so the app cannot move the
cursor, recolour or rewrite the score line, or set the window title.
"""

from __future__ import annotations

import re
import sys
from typing import Any, TextIO

from graders.harness.report.records import CheckRecord
from graders.harness.report.result import GradeResult
from graders.harness.report.scoring import INCOMPLETE, incomplete_message

MARKS = {"pass": "✓", "fail": "✗", "grader-error": "!"}
# ANSI escape sequences (CSI ... final byte, OSC ... BEL/ST, and two-byte ESC forms), then any
# C0/C1 control character or Unicode direction override left over.
_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]"
                     r"|\x9b[0-?]*[ -/]*[@-~]|\x9d[^\x07\x1b]*(?:\x07|\x1b\\)?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: str, keep_newlines: bool = True) -> str:
    """``text`` safe to print: escape sequences and control characters removed, tabs as spaces;
    newlines kept when ``keep_newlines``, else turned into spaces."""
    text = _ESCAPE.sub("", str(text)).replace("\t", " ").replace("\r\n", "\n")
    text = _CONTROL.sub("", text)
    return text if keep_newlines else text.replace("\n", " ")


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
            self._print(f"✗ the app did not start: {clean(event.get('message', ''), False)}")

    def _print(self, text: str) -> None:
        print(clean(text), file=self.stream, flush=True)


def progress_line(record: CheckRecord, done: int, total: int) -> str:
    mark = MARKS.get(record.verdict, "?")
    earned = record.points * record.credit if record.verdict == "pass" else 0.0
    points = f"{earned:g}/{record.points:g}"
    if record.verdict == "grader-error":
        points += " (grader error: regrade)"
    width = len(str(total)) if total else 1
    line = f"[{done:>{width}}/{total}] {mark} {record.exercise}: {clean(record.name, False)}  {points}"
    why = clean(record.why, False).strip()
    if record.verdict != "pass" and why:
        line += f"\n        {why[:160]}"
    return line


def summary(result: GradeResult) -> str:
    """The closing lines: score, per-exercise points, where the reports are (all printable)."""
    score = result.score
    lines = [""]
    if result.status == INCOMPLETE:
        lines.append(f"! incomplete: {clean(result.message or incomplete_message(score), False)}")
    elif result.status != "graded":
        lines.append(f"✗ {clean(result.message, False)}")
        if result.app_log_tail:
            tail = clean(result.app_log_tail).strip().splitlines()[-15:]
            lines += ["  the app's output (last lines):", *("    " + line for line in tail)]
    lines.append(f"score {score.score:g}/{score.max_score:g} ({score.percent:.0f}%) at level "
                 f"{result.level}, seed {result.seed}: {score.verdicts.get('pass', 0)} passed, "
                 f"{score.verdicts.get('fail', 0)} failed, {score.verdicts.get('grader-error', 0)} "
                 "grader errors")
    for name, tally in score.by_exercise.items():
        lines.append(f"  {name:<20} {tally.score:g}/{tally.max_score:g}")
    for note in result.isolation:
        if "not isolated" in note or "NOT" in note or "could read" in note:
            lines.append(f"  note: {clean(note, False)}")
    if result.results_path is not None and result.report_path is not None:
        lines.append(f"reports: {result.results_path}  {result.report_path}")
    return "\n".join(lines)
