"""The ``faultfirst`` command's edges: version, refused ports, a missing folder, the exit codes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from faultfirst import __version__
from faultfirst.cli import main
from graders.harness.errors import EXIT_CODES

REPO = Path(__file__).resolve().parent.parent


def faultfirst(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "faultfirst.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"faultfirst {__version__}"


def test_a_port_out_of_range_is_one_line_and_no_banner(tmp_path: Path) -> None:
    done = faultfirst("serve", "--port", "99999", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: --port 99999 is out of range: choose a port from 1 to 65535"]


def test_a_port_in_use_is_one_line_and_no_banner(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = faultfirst("serve", "--port", str(port), cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0]
    assert "choose another --port" in lines[0]


def test_grading_a_missing_folder_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    status = main(["grade", str(tmp_path / "no-such-repo")])
    assert status == EXIT_CODES["invalid-submission"] == 6
    assert "no-such-repo: no such folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_exit_codes_follow_the_shared_scheme_and_grade_help_lists_them(tmp_path: Path) -> None:
    assert EXIT_CODES == {"graded": 0, "did-not-start": 3, "harness-error": 4, "incomplete": 5,
                          "invalid-submission": 6}
    text = faultfirst("grade", "--help", cwd=tmp_path).stdout
    for status, code in [*EXIT_CODES.items(), ("usage-error", 2)]:
        assert any(line.split()[:2] == [str(code), status] for line in text.splitlines()), status
    documented = (REPO / "docs" / "grading.md").read_text()
    for status, code in EXIT_CODES.items():
        assert f"| {status} | {code} |" in documented, status


def test_gradescope_refuses_an_unknown_exercise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["gradescope", "--exercises", "retries,nope", "--out", str(tmp_path / "a.zip")])
    assert status == 2 and "unknown exercise(s) nope" in capsys.readouterr().err
    assert not (tmp_path / "a.zip").exists()


def test_a_fresh_candidate_repo_is_lint_clean(tmp_path: Path) -> None:
    assert main(["new-candidate", "--exercises", "retries", "--out", str(tmp_path / "repo")]) == 0
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=tmp_path / "repo",
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout
