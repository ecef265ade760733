"""The red team's attacks on the grader, each proved contained with the right verdict and exit code.

Every attack is a small malicious submission under ``tests/red_team/`` (see its README). Most of
them are one app, the probe, graded once with checks that each pass only when their attack was
contained; a second app is graded at the same time as the probe's victim (row 6). Rows 1, 9, 10
and 12 need gradings of their own. The rows are those of the red-team pass:

 1 a direct reference in pyproject.toml (built by pip as root)   7 writes to host /tmp, /var/tmp, /dev/shm
 2 deep JSON and huge numbers instead of a failing answer        8 a unix socket in the host's /tmp
 3 reading the kit's hidden material and the host's files        9 a health endpoint that dribbles
 4 a 1 GiB answer                                               10 memory hogs and a fork bomb
 5 learning that it is graded (headers, /health, environment)   12 terminal escapes in the app's output
 6 reading another grading's app (/proc, memory, its copy)

Gradings need root (the sandbox does); on a machine that cannot isolate, these tests fail.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from faultfirst.cli import main as cli_main
from faultfirst.export import export_candidate
from graders.harness import grade
from graders.harness.inner.context import KIT_ROOT, known_exercises
from graders.harness.outer.manifest import load_manifest

RED_TEAM = Path(__file__).with_name("red_team")
APPS = ("probe_app", "victim_app", "dribble_app", "escape_app", "hog_app", "direct_reference")
CHECKS = ("probe", "victim", "hog", "trivial")
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # every control character but the newline
FILL_BYTES = 1 << 30
# Under the answer's 1 GiB, so a grading that held the answer whole cannot pass. A whole tiny grading
# peaks near 100 MiB; one CI run saw 686 MiB once, not reproduced since, hence the room.
MEMORY_BOUND_KIB = 896 * 1024
MEASURE_FLOOR_KIB = 30 * 1024
DRIBBLE_S = 40.0  # how long dribble_app's health answer takes to send
GRADING_LIMIT_S = 480
EVIL = "redteam-evil"
TRICK_EXERCISE = "structured-output"
TRICK_SELECT = "structured_output"  # its five checks: the starter fails each, with an error answer

# Runs one grading in a process of its own, so that its peak memory is this grading's alone:
# RUSAGE_CHILDREN's ru_maxrss is the largest peak of any descendant reaped so far (Linux carries it
# up through every parent that waits), here the inner session's and the app's; RUSAGE_SELF is the
# caller's own, which reads nothing of the app's.
GRADE_SCRIPT = """
import io, json, resource, sys
sys.path.insert(0, sys.argv[1])
from graders.harness import TerminalProgress, grade, summary
spec = json.loads(sys.argv[2])
terminal = io.StringIO()
result = grade(spec["path"], level="calm", seed=0, out_dir=spec["out"], checks_dir=spec["checks"],
               startup_limit_s=spec["startup_limit_s"], progress=TerminalProgress(terminal))
report = {"status": result.status, "exit_code": result.exit_code, "message": result.message,
          "isolation": list(result.isolation), "terminal": terminal.getvalue() + summary(result),
          "children_peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
          "own_peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
          "results_path": str(result.results_path) if result.results_path else None}
with open(spec["report"], "w") as out:
    json.dump(report, out)
"""


def interpreter_paths() -> list[Path]:
    """What an app may see besides its copy: this interpreter's folders and its libraries."""
    import site
    import sysconfig

    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).parent,
             *map(Path, site.getsitepackages()),
             *(Path(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib", "purelib", "platlib"))}
    return sorted(path.resolve() for path in paths if path.exists())


def require_root() -> None:
    assert os.geteuid() == 0, ("the red-team suite grades submissions, and grading confines the app "
                               "only as root: run it as root (it must fail, not skip, elsewhere)")


def copy_app(name: str, dest: Path) -> Path:
    shutil.copytree(RED_TEAM / name, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def checks_dir(root: Path, name: str, params: dict[str, Any]) -> Path:
    """A checks folder: the kit's conftest and pytest.ini, one red-team module, its params."""
    root.mkdir(parents=True)
    for part in ("conftest.py", "pytest.ini"):
        shutil.copy(KIT_ROOT / "graders" / "checks" / part, root / part)
    shutil.copy(RED_TEAM / "checks" / f"{name}_checks.py", root / f"test_{name}.py")
    (root / "params.json").write_text(json.dumps(params))
    return root


def start_grading(submission: Path, checks: Path, out: Path, startup_limit_s: float = 10.0,
                  ) -> tuple[subprocess.Popen[bytes], Path]:
    report = out.with_name(out.name + "-report.json")
    spec = {"path": str(submission), "out": str(out), "checks": str(checks),
            "startup_limit_s": startup_limit_s, "report": str(report)}
    process = subprocess.Popen([sys.executable, "-c", GRADE_SCRIPT, str(KIT_ROOT), json.dumps(spec)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return process, report


def finish_grading(process: subprocess.Popen[bytes], report: Path) -> dict[str, Any]:
    try:
        output, _ = process.communicate(timeout=GRADING_LIMIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"a red-team grading did not end within {GRADING_LIMIT_S} s") from None
    assert report.is_file(), f"the grading process failed:\n{output.decode(errors='replace')[-4000:]}"
    data: dict[str, Any] = json.loads(report.read_text())
    return data


def verdicts(results_path: str | Path | None) -> dict[str, dict[str, Any]]:
    """results.json's checks by name: {"verdict", "output"} (the name without its exercise)."""
    assert results_path is not None, "the grading wrote no results.json"
    document = json.loads(Path(results_path).read_text())
    return {test["name"].split(": ", 1)[-1]: {"verdict": test.get("extra_data", {}).get("verdict"),
                                               "output": test.get("output", "")}
            for test in document["tests"]}


def check_verdict(checks: dict[str, dict[str, Any]], name: str) -> tuple[str, str]:
    assert name in checks, f"the check {name} did not run (results: {sorted(checks)})"
    return checks[name]["verdict"], checks[name]["output"]


def control_characters(text: str) -> list[str]:
    return sorted({repr(char) for char in CONTROL.findall(text)})


class UnixListener:
    """A unix socket in the host's /tmp that anyone may connect to; remembers who did."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.received: list[bytes] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        path.chmod(0o777)
        self.sock.listen()
        self.sock.settimeout(0.5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.sock.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2)
                with contextlib.suppress(OSError):
                    self.received.append(connection.recv(200) or b"(connected, sent nothing)")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        self.path.unlink(missing_ok=True)


def other_checkout(root: Path) -> list[str]:
    """Another checkout of the kit, readable by everyone (as a real clone would be).

    It goes in the host's /tmp, not in pytest's tmp_path: that sits in a folder only root may
    enter, which would make the attack fail whatever the sandbox does.
    """
    (root / "solutions" / "reference").mkdir(parents=True)
    (root / "solutions" / "reference" / "SECRET.txt").write_text("the reference solution\n")
    (root / "graders" / "checks").mkdir(parents=True)
    (root / "graders" / "checks" / "test_hidden.py").write_text("# a hidden check\n")
    (root / "exercises" / "retries").mkdir(parents=True)
    (root / "exercises" / "retries" / "notes.md").write_text("the interviewer's notes\n")
    for folder, _, _ in os.walk(root):
        Path(folder).chmod(0o755)
    return [str(root), str(root / "solutions" / "reference" / "SECRET.txt"), str(root / "graders"),
            str(root / "graders" / "checks" / "test_hidden.py"),
            str(root / "exercises" / "retries" / "notes.md")]


def kit_secrets() -> list[str]:
    """The graded kit's material that no app may read, and the host's private files."""
    kit = KIT_ROOT
    paths = [kit, kit / "docs", kit / "docs" / "grading.md", kit / "tests", Path(__file__),
             kit / "CHANGELOG.md", kit / "README.md", kit / "graders", kit / "graders" / "harness" / "run.py",
             kit / "graders" / "checks", kit / "solutions", kit / "solutions" / "reference",
             kit / "exercises" / "retries" / "notes.md", kit / ".git", kit / "pyproject.toml",
             *kit.glob("*.egg-info"), *kit.glob("*/*.egg-info"),
             Path("/root"), Path("/root/.bashrc"), Path("/etc/shadow"), Path("/work")]
    if Path("/work").is_dir():  # where this machine keeps checkouts (hidden entries are not ours)
        paths += sorted(p for p in Path("/work").iterdir() if not p.name.startswith("."))
    return list(dict.fromkeys(str(p) for p in paths if p.exists() or p.is_symlink()))


@dataclass
class ProbeRun:
    """The probe grading (and its victim, graded at the same time), and what the host saw."""

    report: dict[str, Any]
    victim: dict[str, Any]
    checks: dict[str, dict[str, Any]]
    victim_checks: dict[str, dict[str, Any]]
    temp_markers: list[str]
    survived: list[str]
    socket_received: list[bytes] = field(default_factory=list)


@pytest.fixture(scope="module")
def probe_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProbeRun]:
    require_root()
    base = tmp_path_factory.mktemp("probe")
    tag = f"ff-redteam-{uuid.uuid4().hex[:12]}"
    elsewhere = Path(tempfile.mkdtemp(prefix=f"{tag}-kit-", dir="/tmp"))
    elsewhere.chmod(0o755)
    rendezvous = base / "rendezvous"
    rendezvous.mkdir()
    markers = [f"/tmp/{tag}-marker", f"/var/tmp/{tag}-marker", f"/dev/shm/{tag}-marker"]
    listener = UnixListener(Path(f"/tmp/{tag}.sock"))
    params: dict[str, Any] = {
        "secret_paths": other_checkout(elsewhere / "faultfirst") + kit_secrets(),
        "allowed_paths": [str(p) for p in interpreter_paths()], "own_file": "@self",
        "grader_words": ["graders.session", "pytest"], "rendezvous": str(rendezvous),
        "temp_markers": markers, "fill_dir": f"/tmp/{tag}-fill", "fill_bytes": FILL_BYTES,
        "unix_socket": str(listener.path)}
    started: list[subprocess.Popen[bytes]] = []
    try:
        probe = start_grading(copy_app("probe_app", base / "probe_app"),
                              checks_dir(base / "probe_checks", "probe", params), base / "probe_out")
        started.append(probe[0])
        victim = start_grading(copy_app("victim_app", base / "victim_app"),
                               checks_dir(base / "victim_checks", "victim", params), base / "victim_out")
        started.append(victim[0])
        probe_report = finish_grading(*probe)
        (rendezvous / "attacker-done").touch()  # the victim waits no longer if the probe never came
        victim_report = finish_grading(*victim)
        survived = [path for path in [*markers, params["fill_dir"]] if os.path.exists(path)]
        yield ProbeRun(probe_report, victim_report, verdicts(probe_report["results_path"]),
                       verdicts(victim_report["results_path"]), markers, survived, listener.received)
    finally:
        for process in started:  # only when something above failed: each ends by itself otherwise
            if process.poll() is None:
                process.kill()
                process.wait()
        listener.close()
        shutil.rmtree(elsewhere, ignore_errors=True)
        shutil.rmtree(params["fill_dir"], ignore_errors=True)
        for path in markers:
            Path(path).unlink(missing_ok=True)


# --- the well-formedness of the attacks (fast) ---------------------------------------------------

def test_every_attack_submission_is_well_formed() -> None:
    """So that the slow suite fails for the attack, never for a broken submission."""
    for name in APPS:
        manifest = load_manifest(RED_TEAM / name, known_exercises())
        assert manifest.exercises == ("retries",), name
        package = manifest.argv_template[2].replace("-", "_")
        main = RED_TEAM / name / package / "__main__.py"
        assert main.is_file(), f"{name}: {main} is missing"
        ast.parse(main.read_text(), str(main))
    overlay = load_manifest(RED_TEAM / "trick_overlay", known_exercises())
    assert overlay.exercises == (TRICK_EXERCISE,)
    assert (RED_TEAM / "trick_overlay" / "redteam_trick" / "__main__.py").is_file()
    for name in CHECKS:
        source = (RED_TEAM / "checks" / f"{name}_checks.py").read_text()
        tree = ast.parse(source)
        tests = [node for node in tree.body if isinstance(node, ast.FunctionDef)
                 and node.name.startswith("test_")]
        assert tests, f"{name}_checks.py declares no checks"
        for node in tests:
            assert any(isinstance(d, ast.Call) and getattr(d.func, "id", "") == "check"
                       for d in node.decorator_list), f"{name}_checks.py: {node.name} is not a @check"
    evil = tomllib.loads((RED_TEAM / "direct_reference" / "evil_pkg" / "pyproject.toml").read_text())
    assert evil["project"]["name"] == EVIL and evil["build-system"]["backend-path"] == ["."]
    assert (RED_TEAM / "direct_reference" / "evil_pkg" / "evil_backend.py").is_file()
    assert not (RED_TEAM / "direct_reference" / "pyproject.toml").exists()  # the test writes it


# --- row 1: a direct reference in pyproject.toml ---------------------------------------------------

def evil_archive(folder: Path, markers: list[Path]) -> Path:
    """The evil package as a source folder and as an sdist archive, both listing ``markers``."""
    source = folder / f"{EVIL}-0.1.0"
    shutil.copytree(RED_TEAM / "direct_reference" / "evil_pkg", source,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (source / "MARKERS.txt").write_text("".join(f"{m}\n" for m in markers))
    archive = folder / f"{EVIL}-0.1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname=source.name)
    return archive


@contextlib.contextmanager
def served(folder: Path) -> Iterator[str]:
    """``folder`` over HTTP on loopback (its base URL), as a package index's file host would."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.slow
@pytest.mark.parametrize("reference", ["file-archive", "file-folder", "http-archive"])
def test_row1_direct_references_are_refused_and_never_built(tmp_path: Path, reference: str) -> None:
    require_root()
    host_marker = Path(f"/tmp/ff-redteam-{uuid.uuid4().hex[:12]}-{reference}")
    markers = [tmp_path / f"marker-{reference}", host_marker]
    archive = evil_archive(tmp_path / "evil", markers)
    submission = copy_app("direct_reference", tmp_path / "submission")
    with served(archive.parent) as base_url:
        target = {"file-archive": archive.as_uri(), "file-folder": archive.parent.joinpath(
            f"{EVIL}-0.1.0").as_uri(), "http-archive": f"{base_url}/{archive.name}"}[reference]
        (submission / "pyproject.toml").write_text(
            f'[project]\nname = "redteam-submission"\nversion = "0.1.0"\n'
            f'dependencies = ["{EVIL} @ {target}"]\n')
        try:
            result = grade(submission, level="calm", out_dir=tmp_path / "out",
                           checks_dir=checks_dir(tmp_path / "checks", "trivial", {}), startup_limit_s=5)
            ran = {str(m): m.read_text().strip() for m in markers if m.exists()}
        finally:
            host_marker.unlink(missing_ok=True)
    assert not ran, (f"row 1 ({reference} direct reference) got through: the submission's build "
                     f"backend ran on the host: {ran}")
    assert (result.status, result.exit_code) == ("invalid-submission", 6), (
        f"row 1 ({reference}): status {result.status} (exit {result.exit_code}), expected "
        f"invalid-submission (exit 6): {result.message}")
    assert EVIL in result.message, f"row 1 ({reference}): the message does not name the requirement: " \
                                   f"{result.message}"


# --- the probe grading: rows 2, 3, 4, 5, 6, 7, 8, 12 ----------------------------------------------

@pytest.mark.slow
def test_probe_grading_completes_isolated_without_grader_errors(probe_run: ProbeRun) -> None:
    report = probe_run.report
    assert (report["status"], report["exit_code"]) == ("graded", 0), (
        f"the probe grading ended {report['status']} (exit {report['exit_code']}): {report['message']}")
    errors = {name: check["output"][:200] for name, check in probe_run.checks.items()
              if check["verdict"] == "grader-error"}
    assert not errors, f"the probe's attacks turned checks into grader-errors: {errors}"
    weak = [line for line in report["isolation"]
            if re.search(r"\bNOT\b|not isolated|could read|ran as root|not confined", line)]
    assert not weak, f"the grading says it could not isolate the app here: {weak}"


@pytest.mark.slow
def test_row2_unreadable_answers_are_the_apps_fail(probe_run: ProbeRun) -> None:
    """Deep JSON, a 5000-digit number, a deep streamed event: fail, as a plain wrong answer would."""
    for name in ("test_row2_deep_json", "test_row2_huge_number", "test_row2_deep_json_stream"):
        verdict, output = check_verdict(probe_run.checks, name)
        assert verdict == "fail", (f"row 2 got through: {name} is {verdict!r}, not 'fail' "
                                   f"(an unreadable answer must cost the app the check): {output[:300]}")


@pytest.mark.slow
def test_row3_hidden_material_stays_hidden(probe_run: ProbeRun) -> None:
    verdict, output = check_verdict(probe_run.checks, "test_row3_hidden_material")
    assert verdict == "pass", output[:3000]


@pytest.mark.slow
def test_row4_a_one_gib_answer_fails_the_check_in_bounded_memory(probe_run: ProbeRun) -> None:
    report = probe_run.report
    assert report["status"] == "graded", f"row 4: the grading ended {report['status']}: {report['message']}"
    verdict, output = check_verdict(probe_run.checks, "test_row4_one_gib_body")
    assert verdict == "fail", f"row 4: the 1 GiB answer's check is {verdict!r}, not 'fail': {output[:300]}"
    children, own = probe_run.report["children_peak_kib"], probe_run.report["own_peak_kib"]
    # The inner session (pytest, the fake LLM, the checks' client) alone is tens of MiB: a smaller
    # peak means its processes were never counted, and the bound below would prove nothing.
    assert children > MEASURE_FLOOR_KIB, (f"row 4: the grading's processes peaked at {children} KiB: "
                                          "they were not counted, the memory bound proves nothing")
    peak = max(children, own)
    assert peak < MEMORY_BOUND_KIB, (f"row 4 (1 GiB answer) got through: a process of the grading "
                                     f"grew to {peak // 1024} MiB (bound {MEMORY_BOUND_KIB // 1024} MiB)")


@pytest.mark.slow
def test_row5_the_app_cannot_tell_it_is_graded(probe_run: ProbeRun) -> None:
    failed = {name: check_verdict(probe_run.checks, name)[1][:400]
              for name in ("test_row5_fake_llm_headers", "test_row5_fake_llm_health",
                           "test_row5_environment")
              if check_verdict(probe_run.checks, name)[0] != "pass"}
    assert not failed, f"row 5 got through: {failed}"


@pytest.mark.slow
def test_row6_concurrent_gradings_cannot_read_each_other(probe_run: ProbeRun) -> None:
    victim_verdict, victim_output = check_verdict(probe_run.victim_checks,
                                                  "test_row6_victim_is_up_while_the_neighbour_looks")
    assert victim_verdict == "pass", f"row 6: the two gradings did not overlap: {victim_output[:500]}"
    assert (probe_run.victim["status"], probe_run.victim["exit_code"]) == ("graded", 0), \
        probe_run.victim["message"]
    verdict, output = check_verdict(probe_run.checks, "test_row6_neighbour_grading")
    assert verdict == "pass", output[:3000]
    identities = [re.findall(r"user ID of this grading alone \((\d+)\)", " ".join(run["isolation"]))
                  for run in (probe_run.report, probe_run.victim)]
    assert all(len(ids) == 1 for ids in identities), f"row 6: no per-grading user ID: {identities}"
    assert identities[0] != identities[1], f"row 6: both gradings ran as host user ID {identities[0]}"


@pytest.mark.slow
def test_row7_temp_files_never_reach_the_host_and_are_capped(probe_run: ProbeRun) -> None:
    assert not probe_run.survived, f"row 7 got through: the app's files are on the host: {probe_run.survived}"
    for name in ("test_row7_host_temp_folders", "test_row7_temp_size_cap"):
        verdict, output = check_verdict(probe_run.checks, name)
        assert verdict == "pass", output[:1000]


@pytest.mark.slow
def test_row8_host_unix_sockets_are_out_of_reach(probe_run: ProbeRun) -> None:
    assert not probe_run.socket_received, (
        f"row 8 got through: the app connected to the host's unix socket: {probe_run.socket_received}")
    verdict, output = check_verdict(probe_run.checks, "test_row8_host_unix_socket")
    assert verdict == "pass", output[:1000]


@pytest.mark.slow
def test_row12_the_terminal_output_has_no_control_characters(probe_run: ProbeRun) -> None:
    terminal = probe_run.report["terminal"]
    verdict, _ = check_verdict(probe_run.checks, "test_row12_escapes_in_why")
    assert verdict == "fail"
    assert "test_row12_escapes_in_why" in terminal  # its failure line, with the app's code, is shown
    found = control_characters(terminal)
    assert not found, f"row 12 got through: the grading's terminal output holds {found}"


@pytest.mark.slow
def test_row12_a_did_not_start_app_cannot_write_escapes_to_the_terminal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_root()
    submission = copy_app("escape_app", tmp_path / "escape_app")
    status = cli_main(["grade", str(submission), "--level", "calm", "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert status == 3, f"the escape app: exit {status}, expected 3 (did-not-start)"
    assert "fake: all checks passed" in captured.out  # the app's output is shown, made harmless
    found = control_characters(captured.out + captured.err)
    assert not found, f"row 12 got through: `faultfirst grade` printed {found}"


@pytest.mark.slow
def test_row2_unreadable_errors_score_no_more_on_the_real_checks(tmp_path: Path) -> None:
    """The starter, and the starter whose every error answer is unreadable, on the real checks."""
    require_root()
    plain = export_candidate([TRICK_EXERCISE], "calm", tmp_path / "plain").path
    trick = export_candidate([TRICK_EXERCISE], "calm", tmp_path / "trick").path
    shutil.copytree(RED_TEAM / "trick_overlay", trick, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    graded = {name: grade(path, level="calm", out_dir=tmp_path / f"out-{name}", select=TRICK_SELECT)
              for name, path in (("plain", plain), ("trick", trick))}
    assert graded["plain"].status == "graded", graded["plain"].message
    plain_checks, trick_checks = (verdicts(graded[name].results_path) for name in ("plain", "trick"))
    assert any(check["verdict"] == "fail" for check in plain_checks.values()), "the starter failed nothing"
    promoted = {name: check["verdict"] for name, check in trick_checks.items()
                if plain_checks.get(name, {}).get("verdict") == "fail" and check["verdict"] != "fail"}
    assert not promoted, ("row 2 got through on the real checks: unreadable errors turned fails "
                          f"into {promoted}")
    plain_pct, trick_pct = graded["plain"].score.percent, graded["trick"].score.percent
    assert trick_pct <= plain_pct, (f"row 2 got through on the real checks: the trick scores "
                                    f"{trick_pct:.0f}% ({graded['trick'].status}), the plain starter "
                                    f"{plain_pct:.0f}%")
    assert (graded["trick"].status, graded["trick"].exit_code) == ("graded", 0), graded["trick"].message


# --- row 9: a dribbling health endpoint ------------------------------------------------------------

@pytest.mark.slow
def test_row9_a_dribbling_health_check_did_not_start(tmp_path: Path) -> None:
    """Its body takes 40 s; the start limit is 2 s. A bounded read gives up within it."""
    require_root()
    submission = copy_app("dribble_app", tmp_path / "dribble_app")
    result = grade(submission, level="calm", out_dir=tmp_path / "out", startup_limit_s=2.0,
                   checks_dir=checks_dir(tmp_path / "checks", "trivial", {}))
    assert (result.status, result.exit_code) == ("did-not-start", 3), (
        f"row 9 (dribbling health) got through: status {result.status} (exit {result.exit_code}), "
        f"expected did-not-start (exit 3): {result.message}")
    # Not a timing threshold but a structural one: a grader that read the whole body cannot have
    # finished before the body did (a bounded one ends some 35 s earlier).
    assert result.duration_s < DRIBBLE_S, (
        f"row 9 (dribbling health) got through: the grading waited {result.duration_s:.0f} s, as long "
        "as the app's body took: the read of the health answer is not bounded in time")


# --- row 10: memory hogs and a fork bomb ------------------------------------------------------------

@pytest.mark.slow
def test_row10_the_whole_grading_is_limited(tmp_path: Path) -> None:
    require_root()
    submission = copy_app("hog_app", tmp_path / "hog_app")
    result = grade(submission, level="calm", out_dir=tmp_path / "out", startup_limit_s=10.0,
                   checks_dir=checks_dir(tmp_path / "checks", "hog", {}))
    assert (result.status, result.exit_code) == ("graded", 0), (
        f"row 10: the grading did not complete: {result.status} (exit {result.exit_code}): {result.message}")
    checks = verdicts(result.results_path)
    for name in ("test_row10_memory_hogs", "test_row10_fork_bomb", "test_row10_grading_goes_on"):
        verdict, output = check_verdict(checks, name)
        assert verdict == "pass", output[:1000]
    lines = "\n".join(result.isolation).lower()
    missing = [limit for limit, words in {"memory": ("memory",), "processes": ("process", "pids"),
                                           "cpu": ("cpu",)}.items()
               if not any(word in lines for word in words)]
    assert not missing, (f"row 10: the report's isolation lines do not say which limits held "
                         f"({', '.join(missing)} missing): {result.isolation}")
