"""A whole grading of an app that answers what the grader cannot read whenever it would fail: every
such answer is a failed check with the reason as evidence, never a grader-error (which once
turned a 5 % starter into a 100 % score)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders.harness import grade
from graders.harness.inner.context import KIT_ROOT
from graders.harness.report.records import CheckRecord
from graders.harness.report.result import GradeResult
from graders.harness.report.scoring import status_for

HOSTILE_APP = r'''
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEEP = b"[" * 200_000
BODIES = {
    "/summaries": (200, DEEP),
    "/extractions": (200, b'{"paper_id": "P0001", "sample_size": 1' + b"0" * 5000 + b"}"),
    "/answers": (200, json.dumps({"answer": "It worked [" + "9" * 5000 + "].", "citations": []}).encode()),
    "/summaries/batch": (200, b'{"items": [{"status": "ok"}]}'),
    "/errors": (503, b'{"error": {"code": ' + DEEP),
}

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            return self.send(200, b'{"ok": true}')
        if self.path == "/huge":
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            try:
                for _ in range(320):
                    self.wfile.write(b"7" * 65536)
            except OSError:
                pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/summaries/stream":
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            try:
                self.wfile.write(b"event: delta\ndata: " + b"z" * (2 * 1024 * 1024) + b"\n\n")
            except OSError:
                pass
            return
        self.send(*BODIES[self.path])

    def send(self, status, body):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[sys.argv.index("--port") + 1])), Handler).serve_forever()
'''

CHECKS = '''
from graders.checks.plugin import check
from graders.checks.scenario import (answer_problem, extraction_problem, honest_error, shown,
                                     summary_problem)

@check(exercise="retries", tag="parsing", points=1)
def test_deep_json(app, evidence):
    response = app.post("/summaries", {"paper_id": "P0001"})
    evidence.observed(shown(response))
    problem = summary_problem(response.json, "P0001")
    assert problem is None, f"the summary: {problem}"

@check(exercise="retries", tag="parsing", points=1)
def test_huge_number(app, evidence):
    response = app.post("/extractions", {"paper_id": "P0001"})
    evidence.observed(shown(response))
    problem = extraction_problem(response.json, "P0001")
    assert problem is None, f"the extraction: {problem}"

@check(exercise="retries", tag="parsing", points=1)
def test_huge_marker(app):
    response = app.post("/answers", {"question": "q", "paper_ids": ["P0001"]})
    problem = answer_problem(response.json, ["P0001"])
    assert problem is None, f"the answer: {problem}"

@check(exercise="retries", tag="parsing", points=1)
def test_wrong_shape(app):
    response = app.post("/summaries/batch", {"paper_ids": ["P0001"]})
    assert response.json["items"][0]["paper_id"] == "P0001", "the wrong item"

@check(exercise="retries", tag="parsing", points=1)
def test_unreadable_error(app):
    problem = honest_error(app.post("/errors", {}), "llm_unavailable")
    assert problem is None, f"the error {problem}"

@check(exercise="retries", tag="parsing", points=1)
def test_huge_body(app):
    assert app.get("/huge").status == 200

@check(exercise="retries", tag="streaming", points=1)
def test_huge_stream_line(app):
    events = app.stream("/summaries/stream", {"paper_id": "P0001"})
    assert len(events) == 1
'''

EXPECTED_WHY = {
    "test_deep_json": "the summary: the body is not a JSON object",
    "test_huge_number": "the extraction: the body is not a JSON object",
    "test_huge_marker": "[a number too long to be a source]",
    "test_wrong_shape": "has no field 'paper_id'",
    "test_unreadable_error": "503 (no error code: the JSON is nested more than 64 levels deep)",
    "test_huge_body": "is over 8388608 bytes",
    "test_huge_stream_line": "a line over 1048576 bytes",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> GradeResult:
    base = tmp_path_factory.mktemp("hostile")
    submission = base / "submission"
    (submission / "hostileapp").mkdir(parents=True)
    (submission / "hostileapp" / "__main__.py").write_text(HOSTILE_APP)
    (submission / "faultfirst.toml").write_text(
        'command = "python -m hostileapp --port {port}"\nexercises = ["retries"]\n')
    checks = base / "checks"
    checks.mkdir()
    for name in ("conftest.py", "pytest.ini"):
        (checks / name).write_text((KIT_ROOT / "graders" / "checks" / name).read_text())
    (checks / "test_hostile.py").write_text(CHECKS)
    return grade(submission, level="calm", seed=3, out_dir=base / "out", checks_dir=checks)


def records(result: GradeResult) -> dict[str, CheckRecord]:
    return {check.record.name: check.record for check in result.score.checks}


def test_every_unreadable_answer_fails_its_check_with_the_reason(graded: GradeResult) -> None:
    assert graded.status == "graded", graded.message
    got = records(graded)
    assert set(got) == set(EXPECTED_WHY)
    for name, fragment in EXPECTED_WHY.items():
        assert got[name].verdict == "fail", (name, got[name].why, got[name].detail)
        assert fragment in got[name].why, (name, got[name].why)


def test_the_evidence_says_what_was_unreadable(graded: GradeResult) -> None:
    got = records(graded)
    assert "nested more than 64 levels" in got["test_deep_json"].observed[0]
    assert "a number of 5001 digits" in got["test_huge_number"].observed[0]


def test_a_hostile_app_scores_nothing_and_the_grading_is_complete(graded: GradeResult) -> None:
    score = graded.score
    assert (score.score, score.max_score) == (0, 7)
    assert score.verdicts["grader-error"] == 0 and not score.incomplete
    assert status_for(score, graded.status) == "graded"


def test_every_text_of_a_record_is_bounded(graded: GradeResult) -> None:
    for record in records(graded).values():
        assert all(len(text) < 2100 for text in (record.why, *record.observed, *record.injected))


def test_the_reports_were_written(graded: GradeResult) -> None:
    assert graded.results_path is not None and graded.results_path.is_file()
    assert graded.report_path is not None and Path(graded.report_path).is_file()
