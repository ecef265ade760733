"""Writing a grading run's reports: ``results.json`` (Gradescope) and ``report.html``.

The HTML report is one self-contained file (inline CSS and SVG, no external assets) rendered
from ``templates/report.html.j2``: the score per exercise and rubric tag, then every check with
its evidence and a timeline of its LLM calls.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jinja2
import markupsafe

from graders.harness.report.result import GradeResult
from graders.harness.report.results import broken_clauses, results_document
from graders.harness.report.scoring import ScoredCheck, incomplete_message
from graders.harness.report.timeline import CATEGORIES, timeline_svg

VERDICT_MARKS = {"pass": "✓", "fail": "✗", "grader-error": "!", "not-run": "–"}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("graders.harness.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["points"] = lambda value: f"{value:g}"
    return env


def _check_view(check: ScoredCheck) -> dict[str, Any]:
    record = check.record
    return {"check": check, "record": record, "mark": VERDICT_MARKS[record.verdict],
            "timeline": markupsafe.Markup(timeline_svg(record.ledger, record.ledger_dropped,
                                                       record.extra.get("ledger_now_s"))),
            "calls": len(record.ledger) + record.ledger_dropped,
            "broken_clauses": broken_clauses(check)}


def render_html(result: GradeResult) -> str:
    """The report page for ``result``, as a string."""
    score = result.score
    groups: dict[str, list[dict[str, Any]]] = {}
    for check in score.counted:
        groups.setdefault(check.record.exercise, []).append(_check_view(check))
    template = _environment().get_template("report.html.j2")
    return template.render(
        result=result, score=score, groups=groups,
        not_counted=[c for c in score.checks if not c.counted], categories=CATEGORIES,
        incomplete_note=incomplete_message(score),
        percent=lambda tally: round(tally.percent))


def write_reports(result: GradeResult) -> GradeResult:
    """Write both reports into ``result.out_dir``; returns the result with their paths set."""
    assert result.out_dir is not None
    out = result.out_dir
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results_path.write_text(json.dumps(results_document(result), indent=2) + "\n", encoding="utf-8")
    report_path = out / "report.html"
    report_path.write_text(render_html(result), encoding="utf-8")
    return dataclasses.replace(result, results_path=results_path, report_path=report_path)
