"""The grading harness: manifests, app start failures, time limits, scoring, reports, confinement.

One throwaway submission (a stdlib HTTP app) and one throwaway set of checks, graded once per
module; the unit tests use hand-made check records.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from faultfirst.cli import main as cli_main
from graders.harness import grade
from graders.harness.inner.app_process import OutputTail
from graders.harness.inner.client import SseParser
from graders.harness.inner.context import KIT_ROOT, known_exercises
from graders.harness.outer.manifest import ManifestError, load_manifest
from graders.harness.outer.submission import copy_submission
from graders.harness.report.html import render_html
from graders.harness.report.records import CheckRecord
from graders.harness.report.result import GradeResult
from graders.harness.report.results import gradescope_problems, results_document
from graders.harness.report.scoring import score_records
from graders.harness.report.timeline import lay_out, timeline_svg

SECRET = "FAULTFIRST_TEST_GRADER_SECRET"

TINY_APP = '''
import json, os, sys, time, urllib.request, urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def ask_llm(paper_id):
    body = json.dumps({"model": "sim-gpt-large",
                       "messages": [{"role": "user", "content": f"Summarize {paper_id}"}]}).encode()
    for attempt in range(2):
        request = urllib.request.Request(os.environ["LLM_BASE_URL"] + "/chat/completions", body,
                                         {"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as error:
            status = error.code
        time.sleep(0.05)
    return status

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            return self.send_json(200, {"ok": True})
        if self.path == "/env":
            return self.send_json(200, dict(os.environ))
        if self.path == "/instance":
            return self.send_json(200, {"instance": INSTANCE})
        if self.path == "/clear-faults":
            admin = os.environ["LLM_BASE_URL"].removesuffix("/v1") + "/_chaos/script"
            try:
                urllib.request.urlopen(urllib.request.Request(admin, method="DELETE"), timeout=5)
                return self.send_json(200, {"status": 200})
            except urllib.error.HTTPError as error:
                return self.send_json(200, {"status": error.code})
        if self.path.startswith("/exists?"):
            return self.send_json(200, {"exists": os.path.exists(self.path.split("?", 1)[1])})
        if self.path == "/hang":
            time.sleep(30)
        self.send_json(404, {"error": {"code": "not_found", "message": "no such page"}})

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        paper_id = json.loads(self.rfile.read(length) or b"{}").get("paper_id", "P0001")
        status = ask_llm(paper_id)
        self.send_json(200 if status == 200 else 503, {"llm_status": status})

    def send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

INSTANCE = os.urandom(8).hex()  # which start of the app answered (its pid is the same in every sandbox)
port = int(sys.argv[sys.argv.index("--port") + 1])
print("tinyapp listening", flush=True)
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
'''

CHECKS = '''
from graders.checks.plugin import check

GRADERS_DIR = {graders_dir!r}

@check(exercise="retries", tag="retries", points=2)
def test_retried_503(app, fake, evidence):
    """One 503, then an answer."""
    fake.admin.script([{{"fault": {{"kind": "http_error", "status": 503}}, "times": 1}}])
    evidence.injected("one 503 <b>then</b> nothing")
    response = app.post("/summaries", {{"paper_id": "P0042"}})
    rows = evidence.ledger()
    evidence.observed(f"{{len(rows)}} attempts; app answered {{response.status}}")
    assert response.status == 200, "the app gave up"

@check(exercise="retries", tag="timeouts", points=3, time_limit_s=1)
def test_hangs(app):
    app.get("/hang", timeout_s=60)

@check(exercise="retries", tag="timeouts", points=1)
def test_after_the_hang(app):
    assert app.get("/health").status == 200

@check(exercise="retries", tag="parsing", points=1)
def test_fails(app):
    assert False, "deliberately failed"

@check(exercise="retries", tag="parsing", points=5)
def test_grader_bug(app):
    raise RuntimeError("a bug in the grader")

@check(exercise="retries", tag="correctness", points=1)
def test_environment(app, evidence):
    env = app.get("/env").json
    evidence.observed(" ".join(sorted(env)))

@check(exercise="retries", tag="correctness", points=1)
def test_graders_hidden(app, evidence):
    evidence.observed(f"graders visible: {{app.get('/exists?' + GRADERS_DIR).json['exists']}}")

@check(exercise="retries", tag="correctness", points=1)
def test_clear_faults(app, fake, evidence):
    fake.admin.script([{{"fault": {{"kind": "http_error", "status": 503}}, "times": 1}}])
    evidence.observed(f"admin API: {{app.get('/clear-faults').json['status']}}")
    evidence.observed(f"rules left: {{len(fake.admin.profile()['rules'])}}")

@check(exercise="retries", tag="correctness", points=1)
def test_shared_app(app, evidence):
    evidence.observed(str(app.get("/instance").json["instance"]))

@check(exercise="retries", tag="correctness", points=1, fresh_app=True)
def test_own_app(app, evidence):
    evidence.observed(str(app.get("/instance").json["instance"]))

@check(exercise="retries", tag="correctness", points=1)
def test_after_own_app(app, evidence):
    evidence.observed(str(app.get("/instance").json["instance"]))

@check(exercise="fallback", tag="fallback", points=4)
def test_not_in_the_manifest(app):
    pass

@check(exercise="retries", tag="retries", points=4, levels=("hurricane",))
def test_not_at_this_level(app):
    pass

@check(exercise="soak", tag="correctness", points=2, levels=("stormy",))
def test_soak_partial(app, evidence):
    evidence.credit(0.5)
'''


def make_submission(root: Path, command: str = "python -m tinyapp --port {port}",
                    exercises: str = '["retries"]') -> Path:
    (root / "tinyapp").mkdir(parents=True)
    (root / "tinyapp" / "__main__.py").write_text(TINY_APP)
    (root / "faultfirst.toml").write_text(f'command = "{command}"\nexercises = {exercises}\n')
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


def make_checks(root: Path) -> Path:
    root.mkdir()
    for name in ("conftest.py", "pytest.ini"):
        (root / name).write_text((KIT_ROOT / "graders" / "checks" / name).read_text())
    # A file inside the graders: the folder itself may still exist (emptied) when the kit's own
    # virtualenv lives inside the checkout and only the secret folders can be covered.
    secret_file = KIT_ROOT / "graders" / "harness" / "run.py"
    (root / "test_tiny.py").write_text(CHECKS.format(graders_dir=str(secret_file)))
    return root


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> GradeResult:
    """The tiny submission graded once with the tiny checks, a secret in the grader's env."""
    base = tmp_path_factory.mktemp("graded")
    submission = make_submission(base / "submission")
    checks = make_checks(base / "checks")
    os.environ[SECRET] = "do-not-leak"
    try:
        return grade(submission, level="calm", seed=5, out_dir=base / "out", checks_dir=checks)
    finally:
        del os.environ[SECRET]


def by_name(result: GradeResult) -> dict[str, CheckRecord]:
    return {check.record.name: check.record for check in result.score.checks}


# --- a whole grading run ----------------------------------------------------------------------

def test_a_grading_with_a_grader_error_is_incomplete(graded: GradeResult) -> None:
    """The checks ran, whatever the score; the one grader-error makes it incomplete (exit 5)."""
    assert graded.status == "incomplete", graded.message
    assert graded.exit_code == 5
    assert graded.results_path is not None and graded.results_path.is_file()


def test_a_hanging_check_costs_only_that_check(graded: GradeResult) -> None:
    records = by_name(graded)
    assert records["test_hangs"].verdict == "fail"
    assert "timed out after 1 s" in records["test_hangs"].why
    assert records["test_after_the_hang"].verdict == "pass"


def test_verdicts_pass_fail_and_grader_error(graded: GradeResult) -> None:
    records = by_name(graded)
    assert records["test_retried_503"].verdict == "pass"
    assert records["test_fails"].verdict == "fail"
    assert records["test_fails"].why == "deliberately failed"
    assert records["test_grader_bug"].verdict == "grader-error"


def test_score_counts_manifest_exercises_level_and_soak(graded: GradeResult) -> None:
    score = graded.score
    counted = {check.record.name for check in score.counted}
    assert "test_not_in_the_manifest" not in counted
    assert "test_not_at_this_level" not in counted
    assert "test_soak_partial" in counted  # soak counts at any level
    # 2 (503) + 3 (hang) + 1 + 1 (fails) + 5 (grader error) + 1 + 1 + 1 (admin) + 3 (instances) + 2 (soak)
    assert score.max_score == 20
    assert score.score == 2 + 1 + 1 + 1 + 1 + 3 + 1  # the soak check earned half of its 2 points
    assert score.by_exercise["soak"].score == 1
    assert score.by_tag["timeouts"].max_score == 4


def test_the_app_cannot_use_the_fake_llms_admin_api(graded: GradeResult) -> None:
    assert by_name(graded)["test_clear_faults"].observed == ("admin API: 403", "rules left: 1")
    assert any("admin API wants a token" in note for note in graded.isolation)


def test_a_fresh_app_check_has_an_app_of_its_own(graded: GradeResult) -> None:
    records = by_name(graded)
    shared, own, after = (records[name].observed[0]
                          for name in ("test_shared_app", "test_own_app", "test_after_own_app"))
    assert own != shared  # started for the check...
    assert after != own  # ...and not handed on to the next one


def test_the_app_cannot_see_the_graders_environment(graded: GradeResult) -> None:
    observed = by_name(graded)["test_environment"].observed[0].split()
    assert SECRET not in observed
    assert "LLM_BASE_URL" in observed and "HOME" in observed


@pytest.mark.skipif(os.geteuid() != 0, reason="hiding the graders needs root (mount namespace)")
def test_the_app_cannot_see_the_hidden_graders(graded: GradeResult) -> None:
    assert by_name(graded)["test_graders_hidden"].observed == ("graders visible: False",)
    assert any("bubblewrap" in note for note in graded.isolation)
    assert any("user ID of this grading alone" in note for note in graded.isolation)


def test_results_json_has_the_gradescope_shape(graded: GradeResult) -> None:
    assert graded.results_path is not None
    document = json.loads(graded.results_path.read_text())
    assert gradescope_problems(document) == []
    extra = document["extra_data"]
    assert {"kit_version", "grader_hash", "level", "seed", "submission_hash", "verdicts",
            "by_exercise", "by_tag", "isolation"} <= set(extra)
    assert re.fullmatch(r"[0-9a-f]{64}", extra["grader_hash"])
    assert re.fullmatch(r"[0-9a-f]{64}", extra["submission_hash"])
    tests = {test["name"]: test for test in document["tests"]}
    error = tests["retries: test_grader_bug"]
    assert (error["score"], error["max_score"]) == (0, 5) and "GRADER ERROR" in error["output"]
    assert tests["retries: test_retried_503"]["status"] == "passed"
    assert tests["retries: test_fails"]["status"] == "failed"
    assert document["score"] == sum(test["score"] for test in document["tests"])


def test_report_shows_evidence_and_a_timeline_of_the_llm_calls(graded: GradeResult) -> None:
    assert graded.report_path is not None
    html = graded.report_path.read_text()
    assert html.count('<svg class="timeline"') >= 1
    assert "one 503 &lt;b&gt;then&lt;/b&gt; nothing" in html  # evidence is escaped
    assert "deliberately failed" in html and "a bug in the grader" in html
    assert not re.search(r"""(src|href)=["']https?:""", html)  # self-contained


def test_the_same_submission_gets_the_same_hash(graded: GradeResult, tmp_path: Path) -> None:
    again = copy_submission(make_submission(tmp_path / "s"), tmp_path / "copy")
    assert again.sha256 == graded.submission_hash
    assert not (tmp_path / "copy" / ".git").exists()


# --- the app does not start ---------------------------------------------------------------------

@pytest.mark.parametrize(("command", "expected"), [
    ("python -c 'import sys; print(\\\"boom-marker\\\"); sys.exit(3)' {port}", "exited with status 3"),
    ("python -c 'import time; print(\\\"boom-marker\\\", flush=True); time.sleep(60)' {port}",
     "did not answer GET /health with 200 within 1 s"),
])
def test_an_app_that_never_becomes_healthy_is_the_candidates_failure(
        tmp_path: Path, command: str, expected: str) -> None:
    submission = make_submission(tmp_path / "submission", command=command)
    result = grade(submission, level="calm", out_dir=tmp_path / "out", startup_limit_s=1.0)
    assert result.status == "did-not-start" and result.exit_code == 3
    assert expected in result.message
    assert "boom-marker" in result.app_log_tail
    assert result.report_path is not None and "boom-marker" in result.report_path.read_text()
    assert result.results_path is not None
    document = json.loads(result.results_path.read_text())
    assert document["score"] == 0 and "boom-marker" in document["output"]


def test_cli_grade_exits_non_zero_with_a_clear_message(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    command = "python -c 'import sys; print(\\\"boom-marker\\\"); sys.exit(3)' {port}"
    submission = make_submission(tmp_path / "submission", command=command)
    status = cli_main(["grade", str(submission), "--level", "calm", "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert status == 3
    assert "did not start" in captured.err
    assert "boom-marker" in captured.out
    assert (tmp_path / "out" / "results.json").is_file()


# --- manifests ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("manifest", "key", "fragment"), [
    (None, None, "missing"),
    ('exercises = ["retries"]\n', "command", "missing"),
    ('command = "python -m app"\n', "command", "{port}"),
    ('command = "python -m app --port {port}"\nlevel = "windy"\n', "level", "'calm'"),
    ('command = "python -m app --port {port}"\nexercises = ["juggling"]\n', "exercises", "'retries'"),
    ('command = "python -m app --port {port}"\nhealth = "health"\n', "health", "starting with '/'"),
    ('command = [\n', None, "not valid TOML"),
])
def test_manifest_errors_name_the_file_the_key_and_what_is_allowed(
        tmp_path: Path, manifest: str | None, key: str | None, fragment: str) -> None:
    if manifest is not None:
        (tmp_path / "faultfirst.toml").write_text(manifest)
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path, known_exercises())
    message = str(caught.value)
    assert str(tmp_path / "faultfirst.toml") in message
    assert caught.value.key == key
    assert fragment in message


def test_a_submission_without_a_manifest_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "submission").mkdir()
    result = grade(tmp_path / "submission", out_dir=tmp_path / "out")
    assert result.status == "invalid-submission" and result.exit_code == 6
    assert "faultfirst.toml" in result.message and str(tmp_path / "submission") in result.message
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    assert document["score"] == 0 and gradescope_problems(document) == []


# --- scoring, results and report, from hand-made records -------------------------------------

def record(name: str, verdict: str, exercise: str = "retries", tag: str = "retries",
           points: float = 2, **fields: Any) -> CheckRecord:
    return CheckRecord(f"test_x.py::{name}", name, exercise, tag, points, verdict=verdict, **fields)


RECORDS = [
    record("a", "pass"),
    record("b", "fail", tag="timeouts", why="too slow"),
    record("c", "grader-error", points=5, why="the grader raised KeyError"),
    record("d", "pass", exercise="fallback", points=3),
    record("e", "pass", levels=("stormy",)),
    record("f", "pass", exercise="soak", tag="correctness", points=4, levels=("stormy",), credit=0.25),
    record("g", "not-run", why="does not apply"),
]


def test_scoring_filters_by_manifest_and_level_and_counts_grader_errors_as_zero() -> None:
    score = score_records(RECORDS, exercises=["retries"], level="calm")
    assert [c.record.name for c in score.counted] == ["a", "b", "c", "f"]
    assert (score.score, score.max_score) == (2 + 1, 2 + 2 + 5 + 4)
    assert score.incomplete and score.grader_errors == 1
    assert score.by_exercise["retries"].errors == 1
    assert score.by_tag["timeouts"].failed == 1
    assert score.verdicts == {"pass": 2, "fail": 1, "grader-error": 1, "not-run": 3}


def test_the_last_record_of_a_check_wins() -> None:
    score = score_records([record("a", "fail"), record("a", "pass")], ["retries"], "calm")
    assert score.score == 2 and len(score.checks) == 1


def _result(records: list[CheckRecord], tmp_path: Path) -> GradeResult:
    return GradeResult(status="graded", message="", score=score_records(records, ["retries"], "calm"),
                       level="calm", seed=1, submission="/s", exercises=("retries",),
                       submission_hash="ab" * 32, grader_hash="cd" * 32, kit_version="0.1.0",
                       out_dir=tmp_path)


def test_results_document_marks_grader_errors_and_partial_credit(tmp_path: Path) -> None:
    document = results_document(_result(RECORDS, tmp_path))
    assert gradescope_problems(document) == []
    tests = {test["name"]: test for test in document["tests"]}
    assert tests["retries: c"]["max_score"] == 5 and tests["retries: c"]["output"].startswith("GRADER ERROR")
    assert (tests["soak: f"]["score"], tests["soak: f"]["status"]) == (1.0, "failed")
    assert document["extra_data"]["verdicts"]["grader-error"] == 1


def test_gradescope_problems_finds_a_bad_document() -> None:
    problems = gradescope_problems({"score": "10", "tests": [{"name": 1, "status": "ok"}]})
    assert "score must be a number" in problems
    assert any(problem.startswith("tests[0]: status") for problem in problems)


ROWS: list[dict[str, Any]] = [  # one request retried after a 503 and a wait, and a second request in parallel
    {"id": 1, "arrival_s": 10.0, "finish_s": 10.1, "fingerprint": "f1", "provider": "openai",
     "task": "summary", "paper_ids": ["P0042"], "attempt": 1, "fault": "http_error", "status": 503},
    {"id": 2, "arrival_s": 10.05, "finish_s": 10.2, "fingerprint": "f2", "provider": "openai",
     "task": "extract", "paper_ids": ["P0007"], "attempt": 1, "fault": "none", "status": 200},
    {"id": 3, "arrival_s": 10.4, "finish_s": 10.6, "fingerprint": "f1", "provider": "openai",
     "task": "summary", "paper_ids": ["P0042"], "attempt": 2, "fault": "none", "status": 200},
    {"id": 4, "arrival_s": 10.45, "finish_s": None, "fingerprint": "f1", "provider": "openai",
     "task": "summary", "paper_ids": ["P0042"], "attempt": 3, "fault": "hang", "status": None},
]


def test_timeline_puts_retries_of_one_request_on_one_lane() -> None:
    bars, labels, t0, _ = lay_out(ROWS)
    lanes = {bar.row["id"]: bar.lane for bar in bars}
    assert lanes[1] == lanes[3] != lanes[2]
    assert lanes[4] not in (lanes[1], lanes[2])  # overlaps attempt 2: a lane of its own
    assert labels[lanes[1]] == "openai · summary P0042" and t0 == 10.0


def test_timeline_svg_shows_attempts_and_waits() -> None:
    svg = timeline_svg(ROWS)
    assert svg.startswith('<svg class="timeline"') and svg.count('<g class="bar') == 4
    assert "300 ms" in svg  # the wait between attempt 1 and attempt 2
    assert "#2" in svg and "fault http_error" in svg
    assert timeline_svg([]) == ""


def test_report_renders_every_check_with_its_evidence(tmp_path: Path) -> None:
    rows = tuple(ROWS)
    records = [record("a", "pass", ledger=rows, injected=("<script>x</script>",), observed=("2 attempts",)),
               record("b", "fail", why="too slow", app_log_tail="Traceback: app log line"),
               record("c", "grader-error", detail="KeyError: 'x'")]
    html = render_html(_result(records, tmp_path))
    assert html.count('<section class="check') == 3
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    assert '<svg class="timeline"' in html and "app log line" in html and "KeyError" in html


# --- small parts --------------------------------------------------------------------------------

def test_output_tail_keeps_only_the_end() -> None:
    tail = OutputTail(io.BufferedReader(io.BytesIO(b"x" * 100_000 + b"THE END")), limit_bytes=1000)
    tail.join(5)
    text = tail.text()
    assert text.endswith("THE END") and len(text) < 1100 and "earlier bytes not kept" in text


def test_sse_parser_reads_named_events_and_json_data() -> None:
    parser, events = SseParser(), []
    for line in ["event: delta", 'data: {"text": "hi"}', "", ": comment", "data: plain", ""]:
        event = parser.feed(line, 0.5)
        if event is not None:
            events.append(event)
    assert events == [("delta", {"text": "hi"}), ("message", "plain")]
    assert events[0].at_s == 0.5


def test_copy_leaves_out_links_and_version_control(tmp_path: Path) -> None:
    source = make_submission(tmp_path / "s")
    (source / "escape").symlink_to(KIT_ROOT / "graders")
    copied = copy_submission(source, tmp_path / "copy")
    assert copied.skipped_links == ("escape",)
    assert not (tmp_path / "copy" / "escape").exists() and not (tmp_path / "copy" / ".git").exists()


def test_only_the_named_checks_run_and_coverage_tells_what_each_start_ran(tmp_path: Path) -> None:
    """Calibration's partial gradings: ``only`` runs exactly those node ids, and ``coverage``
    maps each start of the app to the lines it ran (the app stopped with SIGTERM saves them)."""
    submission = make_submission(tmp_path / "submission")
    checks = make_checks(tmp_path / "checks")
    only = ["test_tiny.py::test_shared_app", "test_tiny.py::test_own_app"]
    result = grade(submission, level="calm", seed=5, out_dir=tmp_path / "out", checks_dir=checks,
                   only=only, coverage=True)
    ran = {c.record.name: c.record for c in result.score.checks if c.record.verdict != "not-run"}
    assert set(ran) == {"test_shared_app", "test_own_app"}, result.message
    starts = {name: record.app_start for name, record in ran.items()}
    assert starts["test_own_app"] != starts["test_shared_app"] and all(starts.values())
    assert result.coverage is not None and set(starts.values()) <= set(result.coverage)
    source = (submission / "tinyapp" / "__main__.py").read_text().splitlines()
    instance_line = next(n for n, line in enumerate(source, 1) if '"/instance"' in line)
    for start in starts.values():
        lines = result.coverage[start]["tinyapp/__main__.py"]
        assert instance_line in lines and instance_line + 1 in lines
    with pytest.raises(ValueError, match="node id"):
        grade(submission, only=["test_tiny.py::test_x or 1"], out_dir=tmp_path / "bad")


def test_forked_starts_give_the_same_verdicts_in_the_sandbox(graded: GradeResult,
                                                             tmp_path: Path) -> None:
    """Calibration's forked starts (``preload``), in the grading's own sandbox: every check,
    the hung app's restart and the fresh app's included, gets the verdict it gets when each
    start is a process of its own."""
    submission = make_submission(tmp_path / "submission")
    checks = make_checks(tmp_path / "checks")
    os.environ[SECRET] = "do-not-leak"
    try:
        forked = grade(submission, level="calm", seed=5, out_dir=tmp_path / "out", checks_dir=checks,
                       preload=("json", "http.server", "urllib.request"))
    finally:
        del os.environ[SECRET]
    verdicts = {name: record.verdict for name, record in by_name(graded).items()}
    assert {name: record.verdict for name, record in by_name(forked).items()} == verdicts
    assert forked.details["app_starts"] == graded.details["app_starts"] == forked.details["app_starts_forked"]
    assert graded.details["app_starts_forked"] == 0


def test_coverage_files_the_app_could_forge_are_left_unknown(tmp_path: Path) -> None:
    """A start whose data is not coverage data, or is a link out of the folder, is not read:
    it stays unknown, which calibration treats as meeting every change."""
    from graders.harness.inner.app_process import COVERAGE_FOLDER
    from graders.harness.outer.coverage import read_coverage

    folder = tmp_path / COVERAGE_FOLDER
    folder.mkdir()
    (folder / "start-1").write_bytes(b"not a database")
    (folder / "start-2").symlink_to("/etc/passwd")
    (folder / "start-x").write_text("")
    assert read_coverage(tmp_path, "/srv/app") == {}
