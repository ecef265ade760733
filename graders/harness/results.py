"""``results.json`` in the Gradescope autograder schema, with faultfirst's stamp in ``extra_data``.

Each counted check is one test: ``name``, ``score``, ``max_score``, ``status`` (``passed`` or
``failed``), ``output`` (why, the brief's clauses a failed check found broken, quoted, what was
injected, what was observed), ``tags`` (rubric tag and exercise) and ``visibility``; faultfirst's
own fields (verdict, clauses) go in the test's ``extra_data``, the one place the schema leaves
open. A grader-error check has ``max_score`` 0 and says so in its output.
:func:`gradescope_problems` checks a document against the schema's shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graders.clauses import quote
from graders.harness.scoring import ScoredCheck, Tally

if TYPE_CHECKING:
    from graders.harness.run import GradeResult

VISIBILITY = "after_published"  # the interviewer's results; never shown to the candidate early
_VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def broken_clauses(check: ScoredCheck) -> list[dict[str, str]]:
    """The brief's clauses a failed check found broken (``[{"id", "text"}]``); none otherwise."""
    return quote(check.record.clauses) if check.record.verdict == "fail" else []


def check_output(check: ScoredCheck) -> str:
    record = check.record
    lines = []
    if record.verdict == "grader-error":
        lines.append("GRADER ERROR: a fault of the grading harness, not counted against the "
                     "candidate (max_score 0).")
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
        "tags": [record.tag, record.exercise],
        "visibility": VISIBILITY,
        "extra_data": {"verdict": record.verdict, "nodeid": record.nodeid,
                       "duration_s": record.duration_s, "clauses": list(record.clauses),
                       "broken_clauses": broken_clauses(check)},
    }


def _tallies(groups: dict[str, Tally]) -> dict[str, dict[str, float]]:
    return {name: {"score": t.score, "max_score": t.max_score, "passed": t.passed,
                   "failed": t.failed, "grader_errors": t.errors} for name, t in groups.items()}


def summary_output(result: GradeResult) -> str:
    score = result.score
    head = (f"faultfirst {result.kit_version}: {score.score:g} / {score.max_score:g} points at level "
            f"{result.level!r}, seed {result.seed}.")
    if result.status != "graded":
        head = f"{result.message}\n{head}"
    if result.app_log_tail:
        head += "\n\nThe app's output (tail):\n" + result.app_log_tail[-3000:]
    return head


def results_document(result: GradeResult) -> dict[str, Any]:
    """The whole results.json document for ``result``."""
    score = result.score
    return {
        "score": score.score,
        "max_score": score.max_score,
        "output": summary_output(result),
        "visibility": VISIBILITY,
        "stdout_visibility": "hidden",
        "tests": [check_entry(check) for check in score.counted],
        "extra_data": {
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
    if not isinstance(document.get("score"), int | float):
        problems.append("score must be a number")
    for key in ("max_score",):
        if key in document and not isinstance(document[key], int | float):
            problems.append(f"{key} must be a number")
    for key in ("output",):
        if key in document and not isinstance(document[key], str):
            problems.append(f"{key} must be a string")
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
    problems = []
    for key in ("score", "max_score"):
        if not isinstance(test.get(key), int | float):
            problems.append(f"{key} must be a number")
    if test.get("status") not in ("passed", "failed"):
        problems.append("status must be 'passed' or 'failed'")
    for key in ("name", "output"):
        if not isinstance(test.get(key), str):
            problems.append(f"{key} must be a string")
    if not isinstance(test.get("tags", []), list):
        problems.append("tags must be a list")
    if test.get("visibility", "visible") not in _VISIBILITIES:
        problems.append(f"visibility must be one of {_VISIBILITIES}")
    return problems
