"""results.json keeps to Gradescope's specification, and the schema that checks it can fail."""

from __future__ import annotations

from pathlib import Path

from graders.harness.report.records import CheckRecord
from graders.harness.report.result import GradeResult
from graders.harness.report.results import results_document
from graders.harness.report.scoring import score_records
from tests.gradescope_schema import schema_violations


def _record(name: str, verdict: str, exercise: str = "retries", tag: str = "retries") -> CheckRecord:
    return CheckRecord(f"test_x.py::{name}", name, exercise, tag, 2, verdict=verdict)


def _result(records: list[CheckRecord], status: str = "graded", message: str = "",
            exercises: tuple[str, ...] = ("retries",)) -> GradeResult:
    return GradeResult(status=status, message=message, score=score_records(records, exercises, "calm"),
                       level="calm", seed=1, submission="/s", exercises=exercises, duration_s=12.6,
                       kit_version="0.1.0", out_dir=Path("/unused"))


def test_a_graded_document_fits_the_specification_with_the_kit_data_in_extra_data() -> None:
    document = results_document(_result([_record("a", "pass"), _record("b", "fail", tag="timeouts")]))
    assert schema_violations(document) == []
    assert "max_score" not in document and document["extra_data"]["max_score"] == 4
    assert document["execution_time"] == 13 and isinstance(document["execution_time"], int)
    assert (document["output_format"], document["test_output_format"]) == ("text", "text")
    assert {test["name"]: test["tags"] for test in document["tests"]} == {
        "retries: a": ["retries"], "retries: b": ["timeouts", "retries"]}


def test_a_grading_where_nothing_ran_lists_the_points_available() -> None:
    document = results_document(_result([], status="invalid-submission", message="no faultfirst.toml"))
    assert schema_violations(document) == []
    assert [(t["name"], t["score"], t["max_score"]) for t in document["tests"]] == [
        ("retries: not graded", 0.0, 20.0), ("soak: not graded", 0.0, 10.0)]
    assert document["score"] == 0 and "0 / 30 points" in document["output"]
    assert all("no faultfirst.toml" in test["output"] for test in document["tests"])


def test_the_schema_refuses_what_the_specification_does_not_know() -> None:
    good = results_document(_result([_record("a", "pass")]))
    assert schema_violations({**good, "max_score": 2})  # not a top-level key of the specification
    bad_test = {**good["tests"][0], "tags": ["retries", "retries"], "points": 2}
    problems = schema_violations({**good, "tests": [bad_test]})
    assert any("points" in p for p in problems) and any("non-unique" in p for p in problems)
    assert schema_violations({**good, "output_format": "rst"})
    assert schema_violations({"output": "no score anywhere"})
