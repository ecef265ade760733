"""``results.json`` to the letter of the Gradescope autograder specification (docs/grading.md).

The specification knows these keys and no others: at the top level :data:`TOP_KEYS`, per test
:data:`TEST_KEYS`; everything of the kit's own (the total points available, the grader's hash, the
verdicts, the per-exercise tallies) goes in ``extra_data``. Each counted check is one test:
``name``, ``score``, ``max_score``, ``status`` (``passed`` or ``failed``), ``output`` (why, the
brief's clauses a failed check found broken, quoted, what was injected, what was observed; plain
text), ``tags`` (rubric tag and exercise, each once), ``visibility`` and ``extra_data`` (verdict,
the clauses the check proves, the broken ones). A grader-error check scores 0 of its points and
says so in its output; a grading with one is ``incomplete`` (``extra_data.status``) and its output
says to regrade. When no check ran (an invalid submission, an app that never started) each chosen
exercise is one failed test worth its points, so the points available still show.
:func:`gradescope_problems` checks a document against the specification's shape.
"""

from __future__ import annotations

import importlib
import tomllib
from typing import Any

from faultfirst_data import exercises_dir
from graders.clauses import quote
from graders.harness.report.records import SOAK
from graders.harness.report.result import GradeResult
from graders.harness.report.scoring import INCOMPLETE, ScoredCheck, Tally, incomplete_message

VISIBILITY = "after_published"  # the interviewer's results; never shown to the candidate early
_VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
FORMATS = ("text", "html", "simple_format", "md", "ansi")
OUTPUT_FORMAT = "text"  # outputs quote the app's own words and logs: never rendered as HTML or Markdown
TOP_KEYS = ("score", "execution_time", "output", "output_format", "test_output_format",
            "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard")
TEST_KEYS = ("score", "max_score", "status", "name", "name_format", "number", "output",
             "output_format", "tags", "visibility", "extra_data")


def broken_clauses(check: ScoredCheck) -> list[dict[str, str]]:
    """The brief's clauses a failed check found broken (``[{"id", "text"}]``); none otherwise."""
    if check.record.verdict != "fail":
        return []
    return quote(check.record.clauses, level=check.record.extra.get("level"))


def check_output(check: ScoredCheck) -> str:
    record = check.record
    lines = []
    if record.verdict == "grader-error":
        lines.append(f"GRADER ERROR: a fault of the grading harness, not of the candidate; counted "
                     f"as 0 of {record.points:g} points: the grading is incomplete, regrade.")
    lines.append(f"Why: {record.why}" if record.why else "")
    lines += [f'Broken clause {clause["id"]}: "{clause["text"]}"' for clause in broken_clauses(check)]
    lines += [f"Injected: {text}" for text in record.injected]
    lines += [f"Observed: {text}" for text in record.observed]
    if record.credit < 1 and record.verdict == "pass":
        lines.append(f"Partial credit: {record.credit:.0%} of {record.points:g} points")
    return "\n".join(line for line in lines if line)


def check_entry(check: ScoredCheck) -> dict[str, Any]:
    record = check.record
    full = check.record.verdict == "pass" and check.score >= check.max_score
    return {
        "name": f"{record.exercise}: {record.name}",
        "score": check.score,
        "max_score": check.max_score,
        "status": "passed" if full else "failed",
        "output": check_output(check),
        "tags": list(dict.fromkeys([record.tag, record.exercise])),
        "visibility": VISIBILITY,
        "extra_data": {"verdict": record.verdict, "nodeid": record.nodeid,
                       "duration_s": record.duration_s, "clauses": list(record.clauses),
                       "broken_clauses": broken_clauses(check)},
    }


def exercise_points(slug: str) -> float:
    """The points exercise ``slug`` is worth (its ``exercise.toml``); 0 for an unknown slug."""
    path = exercises_dir() / slug / "exercise.toml"
    if not path.is_file():
        return 0.0
    return float(tomllib.loads(path.read_text(encoding="utf-8")).get("points", 0))


def soak_points() -> float:
    """The points of the soak checks (which count in every grading), read from their declarations."""
    module = importlib.import_module("graders.checks.test_soak")
    specs = [getattr(item, "__faultfirst_check__", None) for item in vars(module).values()]
    return float(sum(spec.points for spec in specs if spec is not None and spec.exercise == SOAK))


def ungraded_entries(result: GradeResult) -> list[dict[str, Any]]:
    """One failed test per chosen exercise and the soak, worth their points, for a grading where
    no check ran: the points available still show."""
    points = {slug: exercise_points(slug) for slug in result.exercises}
    if points:
        points[SOAK] = soak_points()
    return [{"name": f"{slug}: not graded", "score": 0.0, "max_score": max_score,
             "status": "failed", "output": f"Not graded ({result.status}): {result.message}",
             "tags": [slug], "visibility": VISIBILITY, "extra_data": {"verdict": result.status}}
            for slug, max_score in points.items()]


def _tallies(groups: dict[str, Tally]) -> dict[str, dict[str, float]]:
    return {name: {"score": t.score, "max_score": t.max_score, "passed": t.passed,
                   "failed": t.failed, "grader_errors": t.errors} for name, t in groups.items()}


def summary_output(result: GradeResult, available: float | None = None) -> str:
    """The top-level output; ``available`` is the points available when it is not the score's."""
    score = result.score
    available = score.max_score if available is None else available
    head = (f"faultfirst {result.kit_version}: {score.score:g} / {available:g} points at level "
            f"{result.level!r}, seed {result.seed}.")
    if result.status == INCOMPLETE:
        head = f"INCOMPLETE: {result.message or incomplete_message(score)}\n{head}"
    elif result.status != "graded":
        head = f"{result.message}\n{head}"
    if result.app_log_tail:
        head += "\n\nThe app's output (tail):\n" + result.app_log_tail[-3000:]
    return head


def results_document(result: GradeResult) -> dict[str, Any]:
    """The whole results.json document for ``result``."""
    score = result.score
    tests = [check_entry(check) for check in score.counted] or ungraded_entries(result)
    available = sum(test["max_score"] for test in tests)
    return {
        "score": score.score,
        "execution_time": round(result.duration_s),
        "output": summary_output(result, available),
        "output_format": OUTPUT_FORMAT,
        "test_output_format": OUTPUT_FORMAT,
        "test_name_format": OUTPUT_FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "max_score": available,
            "kit_version": result.kit_version,
            "grader_hash": result.grader_hash,
            "level": result.level,
            "seed": result.seed,
            "submission_hash": result.submission_hash,
            "status": result.status,
            "exercises": list(result.exercises),
            "verdicts": score.verdicts,
            "by_exercise": _tallies(score.by_exercise),
            "by_tag": _tallies(score.by_tag),
            "isolation": list(result.isolation),
            "not_counted": [{"name": c.record.name, "exercise": c.record.exercise, "reason": c.reason}
                            for c in score.checks if not c.counted],
            "duration_s": result.duration_s,
        },
    }


def gradescope_problems(document: Any) -> list[str]:
    """Everything in ``document`` that does not fit the Gradescope results shape (empty if fine)."""
    problems: list[str] = []
    if not isinstance(document, dict):
        return ["the document is not an object"]
    problems += [f"unknown key {key!r}" for key in document if key not in TOP_KEYS]
    if not isinstance(document.get("score"), int | float):
        problems.append("score must be a number")
    if "execution_time" in document and not isinstance(document["execution_time"], int | float):
        problems.append("execution_time must be a number")
    for key in ("output",):
        if key in document and not isinstance(document[key], str):
            problems.append(f"{key} must be a string")
    problems += [f"{key} must be one of {FORMATS}" for key in TOP_KEYS
                 if key.endswith("_format") and key in document and document[key] not in FORMATS]
    if "extra_data" in document and not isinstance(document["extra_data"], dict):
        problems.append("extra_data must be an object")
    tests = document.get("tests", [])
    if not isinstance(tests, list):
        return [*problems, "tests must be a list"]
    for index, test in enumerate(tests):
        problems += [f"tests[{index}]: {p}" for p in _test_problems(test)]
    return problems


def _test_problems(test: Any) -> list[str]:
    if not isinstance(test, dict):
        return ["not an object"]
    problems = [f"unknown key {key!r}" for key in test if key not in TEST_KEYS]
    for key in ("score", "max_score"):
        if not isinstance(test.get(key), int | float):
            problems.append(f"{key} must be a number")
    if test.get("status") not in ("passed", "failed"):
        problems.append("status must be 'passed' or 'failed'")
    for key in ("name", "output"):
        if not isinstance(test.get(key), str):
            problems.append(f"{key} must be a string")
    tags = test.get("tags", [])
    if not isinstance(tags, list):
        problems.append("tags must be a list")
    elif len(set(map(str, tags))) != len(tags):
        problems.append("tags must not repeat")
    if test.get("visibility", "visible") not in _VISIBILITIES:
        problems.append(f"visibility must be one of {_VISIBILITIES}")
    return problems
