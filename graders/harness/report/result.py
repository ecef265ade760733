"""The result of one grading, as the report side receives it from :func:`graders.harness.grade`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graders.harness.errors import EXIT_CODES
from graders.harness.report.scoring import Score


@dataclass(frozen=True, slots=True)
class GradeResult:
    """The outcome of one grading run.

    ``status`` is ``graded`` (the checks ran, whatever the score), ``incomplete`` (they ran, but
    some were grader-errors: regrade), ``invalid-submission`` (no usable manifest or
    dependencies), ``did-not-start`` (the app never became healthy: the candidate's failure,
    scored 0) or ``harness-error`` (the kit failed: not the candidate's fault). ``exit_code`` is
    what ``faultfirst grade`` exits with. ``results_path`` and ``report_path`` are set once the
    reports are written. ``coverage`` (only when asked for) maps each start of the app to the
    lines it ran, by file relative to the submission: ``{start: {path: (line, ...)}}``.
    """

    status: str
    message: str
    score: Score
    level: str
    seed: int
    submission: str
    exercises: tuple[str, ...] = ()
    submission_hash: str = ""
    grader_hash: str = ""
    kit_version: str = ""
    isolation: tuple[str, ...] = ()
    app_log_tail: str = ""
    duration_s: float = 0.0
    out_dir: Path | None = None
    results_path: Path | None = None
    report_path: Path | None = None
    details: dict[str, Any] = field(default_factory=dict)
    coverage: dict[int, dict[str, tuple[int, ...]]] | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]
