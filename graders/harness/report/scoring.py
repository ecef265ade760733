"""Points per check, per exercise and per rubric tag, from the checks' records.

Rules (docs/grading.md, "Verdicts and scores"): a check counts when its exercise is in the
submission's manifest and the grading level is one of its ``levels``; the soak check (exercise
``soak``) always counts. A counted check scores ``points × credit`` when it passed, and 0 of
``points`` when it failed or was a grader-error. A grader-error is the kit's fault, not the
candidate's, but it must never raise a score: a hostile app that could turn its failures into
grader-errors would otherwise turn a low score into a full one. So a grading with any counted
grader-error is ``incomplete`` (:func:`status_for`): its score is a lower bound, and the
interviewer is told to regrade.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from graders.harness.report.records import SOAK, CheckRecord


@dataclass(frozen=True, slots=True)
class Tally:
    """Points and verdict counts over a group of counted checks."""

    score: float = 0.0
    max_score: float = 0.0
    passed: int = 0
    failed: int = 0
    errors: int = 0

    def add(self, check: ScoredCheck) -> Tally:
        verdict = check.record.verdict
        return Tally(self.score + check.score, self.max_score + check.max_score,
                     self.passed + (verdict == "pass"), self.failed + (verdict == "fail"),
                     self.errors + (verdict == "grader-error"))

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0


@dataclass(frozen=True, slots=True)
class ScoredCheck:
    """One check's record with its points. ``counted`` is False for checks that do not apply."""

    record: CheckRecord
    counted: bool
    score: float
    max_score: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Score:
    """The whole submission's score. ``checks`` keeps the records' order; groups are sorted by name."""

    score: float
    max_score: float
    checks: tuple[ScoredCheck, ...]
    by_exercise: dict[str, Tally] = field(default_factory=dict)
    by_tag: dict[str, Tally] = field(default_factory=dict)
    verdicts: dict[str, int] = field(default_factory=dict)

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0

    @property
    def counted(self) -> tuple[ScoredCheck, ...]:
        return tuple(check for check in self.checks if check.counted)

    @property
    def grader_errors(self) -> int:
        """How many counted checks were grader-errors."""
        return sum(1 for check in self.counted if check.record.verdict == "grader-error")

    @property
    def incomplete(self) -> bool:
        """Whether a counted check was a grader-error: the score is a lower bound; regrade."""
        return self.grader_errors > 0


INCOMPLETE = "incomplete"


def status_for(score: Score, status: str = "graded") -> str:
    """The grading's status once scored: ``incomplete`` when the checks ran (``status`` is
    ``graded``) but some counted check was a grader-error; otherwise ``status`` unchanged."""
    return INCOMPLETE if status == "graded" and score.incomplete else status


def incomplete_message(score: Score) -> str:
    """The message of an incomplete grading: what happened and what to do."""
    return (f"{score.grader_errors} check(s) failed by a fault of the grader, not of the app; they "
            "count as 0 of their points, so the score is a lower bound: regrade")


def not_counted_reason(record: CheckRecord, exercises: Iterable[str], level: str) -> str | None:
    """Why this check does not count for this submission at this level, or None if it counts."""
    if record.verdict == "not-run":
        return record.why or "not run"
    if record.exercise == SOAK:
        return None
    if record.exercise not in set(exercises):
        return f"exercise {record.exercise!r} is not in the submission's manifest"
    if level not in record.levels:
        return f"does not count at level {level!r}"
    return None


def score_check(record: CheckRecord, counted: bool, reason: str = "") -> ScoredCheck:
    if not counted:
        return ScoredCheck(record, False, 0.0, 0.0, reason)
    if record.verdict == "pass":
        return ScoredCheck(record, True, round(record.points * record.credit, 4), record.points)
    if record.verdict == "fail":
        return ScoredCheck(record, True, 0.0, record.points)
    return ScoredCheck(record, True, 0.0, record.points,
                       "grader-error: counted as 0 of its points; the grading is incomplete")


def score_records(records: Iterable[CheckRecord], exercises: Iterable[str], level: str) -> Score:
    """Score every record (the last record of a node id wins) for this manifest and level."""
    exercises = tuple(exercises)
    latest: dict[str, CheckRecord] = {}
    for record in records:
        latest.pop(record.nodeid, None)
        latest[record.nodeid] = record
    checks = []
    for record in latest.values():
        reason = not_counted_reason(record, exercises, level)
        checks.append(score_check(record, reason is None, reason or ""))
    by_exercise: dict[str, Tally] = {}
    by_tag: dict[str, Tally] = {}
    verdicts = {"pass": 0, "fail": 0, "grader-error": 0, "not-run": 0}
    for check in checks:
        verdicts[check.record.verdict if check.counted else "not-run"] += 1
        if check.counted:
            by_exercise[check.record.exercise] = by_exercise.get(check.record.exercise, Tally()).add(check)
            by_tag[check.record.tag] = by_tag.get(check.record.tag, Tally()).add(check)
    return Score(round(sum(c.score for c in checks), 4), round(sum(c.max_score for c in checks), 4),
                 tuple(checks), dict(sorted(by_exercise.items())), dict(sorted(by_tag.items())),
                 verdicts)
