"""Verdicts you can trust: each exception's verdict and status, grader-errors never raise a score,
and nothing the app wrote reaches the terminal as a control sequence."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from graders.harness.errors import (
    EXIT_CODES,
    AppDataError,
    AppFailure,
    AppStartError,
    AppUnreadable,
    CheckTimeout,
    DependencyError,
    GradingError,
    ManifestError,
    SandboxError,
    verdict_of,
)
from graders.harness.report.html import render_html
from graders.harness.report.records import CheckRecord
from graders.harness.report.result import GradeResult
from graders.harness.report.results import results_document
from graders.harness.report.scoring import score_records, status_for
from graders.harness.report.terminal import TerminalProgress, clean, progress_line, summary

HOSTILE = "\x1b[2J\x1b[H\x1b]0;owned\x07score 45/45 (100%)\rfake\x9b31m\u202eevil\x00"


@pytest.mark.parametrize(("error", "verdict"), [
    (AppFailure("no answer"), "fail"),
    (AppUnreadable("over the cap"), "fail"),
    (AppDataError("no field"), "fail"),
    (AppStartError("exited", "log"), "fail"),
    (CheckTimeout("timed out"), "fail"),
    (AssertionError("wrong"), "fail"),
    (SandboxError("no jail"), "grader-error"),
    (KeyError("contract key"), "grader-error"),
    (TypeError("a bug in a check"), "grader-error"),
])
def test_each_exception_carries_its_verdict(error: BaseException, verdict: str) -> None:
    assert verdict_of(error) == verdict


@pytest.mark.parametrize(("error", "status"), [
    (AppStartError("exited", "log"), "did-not-start"),
    (ManifestError(Path("faultfirst.toml"), "command", "missing"), "invalid-submission"),
    (DependencyError("pip failed"), "invalid-submission"),
    (SandboxError("no jail"), "harness-error"),
])
def test_each_grading_stopper_carries_its_status_and_exit_code(error: GradingError, status: str) -> None:
    assert error.status == status and error.exit_code == EXIT_CODES[status]


def test_the_exit_codes_are_the_kits_scheme() -> None:
    assert EXIT_CODES == {"graded": 0, "did-not-start": 3, "harness-error": 4, "incomplete": 5,
                          "invalid-submission": 6}
    assert isinstance(ManifestError(Path("m"), None, "x"), ValueError)
    assert isinstance(AppDataError("x"), LookupError)
    assert not isinstance(CheckTimeout("x"), Exception)  # a check's `except Exception` cannot swallow it


# --- scoring -------------------------------------------------------------------------------------

def record(name: str, verdict: str, points: float = 2, exercise: str = "retries", **fields: Any
           ) -> CheckRecord:
    return CheckRecord(f"test_x.py::{name}", name, exercise, "retries", points, verdict=verdict, **fields)


def test_a_grader_error_counts_zero_of_its_points_and_makes_the_grading_incomplete() -> None:
    with_error = score_records([record("a", "pass"), record("b", "grader-error", points=8)],
                               ["retries"], "calm")
    with_fail = score_records([record("a", "pass"), record("b", "fail", points=8)], ["retries"], "calm")
    assert (with_error.score, with_error.max_score) == (2, 10)
    assert with_error.percent == with_fail.percent  # never higher than the same checks failed
    assert with_error.incomplete and not with_fail.incomplete
    assert status_for(with_error) == "incomplete" and status_for(with_fail) == "graded"
    assert with_error.by_exercise["retries"].errors == 1


def test_a_grader_error_that_does_not_count_changes_nothing() -> None:
    score = score_records([record("a", "pass"), record("b", "grader-error", exercise="fallback")],
                          ["retries"], "calm")
    assert not score.incomplete and status_for(score) == "graded"


def test_a_grading_that_did_not_run_keeps_its_status() -> None:
    score = score_records([record("b", "grader-error")], ["retries"], "calm")
    assert status_for(score, "did-not-start") == "did-not-start"
    assert status_for(score, "harness-error") == "harness-error"


def incomplete_result(tmp_path: Path, **fields: Any) -> GradeResult:
    records = [record("a", "pass"), record("b", "grader-error", why="the grader raised KeyError")]
    values: dict[str, Any] = {
        "status": "incomplete", "message": "", "score": score_records(records, ["retries"], "calm"),
        "level": "calm", "seed": 1, "submission": "/s", "exercises": ("retries",),
        "submission_hash": "ab" * 32, "grader_hash": "cd" * 32, "kit_version": "0.1.0",
        "out_dir": tmp_path}
    return GradeResult(**{**values, **fields})


def test_the_reports_say_an_incomplete_grading_must_be_regraded(tmp_path: Path) -> None:
    result = incomplete_result(tmp_path)
    document = results_document(result)
    assert document["output"].startswith("INCOMPLETE: 1 check(s) failed by a fault of the grader")
    assert "regrade" in document["output"]
    assert document["extra_data"]["status"] == "incomplete"
    assert (document["score"], document["extra_data"]["max_score"]) == (2, 4)
    html = render_html(result)
    assert "The grading is incomplete: regrade." in html and "0 until regraded" in html
    text = summary(result)
    assert "! incomplete: 1 check(s) failed by a fault of the grader" in text and "regrade" in text


# --- the terminal --------------------------------------------------------------------------------

def test_clean_removes_escape_sequences_and_control_characters() -> None:
    cleaned = clean(HOSTILE)
    assert cleaned == "score 45/45 (100%)fakeevil"
    assert clean("two\nlines\tand a tab") == "two\nlines and a tab"
    assert clean("two\nlines", keep_newlines=False) == "two lines"


def test_a_checks_why_reaches_the_terminal_without_control_characters() -> None:
    line = progress_line(record("b", "fail", why=HOSTILE), 1, 3)
    assert not any((ord(ch) < 32 and ch != "\n") or 0x7f <= ord(ch) <= 0x9f for ch in line)
    assert "\x1b" not in line and "owned" not in line
    stream = io.StringIO()
    TerminalProgress(stream)({"type": "check", "record": record("b", "fail", why=HOSTILE).to_json()})
    assert "\x1b" not in stream.getvalue() and "score 45/45 (100%)fake" in stream.getvalue()


def test_the_apps_output_in_the_summary_is_cleaned(tmp_path: Path) -> None:
    result = incomplete_result(tmp_path, status="did-not-start", message="the app exited",
                               app_log_tail=f"Traceback\n{HOSTILE}\n")
    text = summary(result)
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "    score 45/45 (100%)fakeevil" in text
