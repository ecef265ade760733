"""The sandbox a submission runs in: an allow-list root, its own identity, limits on the whole grading.

Each test runs a small Python program through the same plan a grading uses (``plan_sandbox`` and
``probe`` on a grading-like layout) and asserts on what it could and could not do. They need root
and bubblewrap, as grading does; without them they fail rather than skip, since a kit that cannot
confine a submission is not ready to grade.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from faultfirst_data import kit_private_paths
from graders.harness.inner.context import KIT_ROOT
from graders.harness.sandbox.cgroups import GradingCgroup, GradingLimits
from graders.harness.sandbox.plan import (
    APP_DIR,
    Layout,
    Sandbox,
    UidLease,
    interpreter_paths,
    plan_sandbox,
    probe,
    scrubbed_env,
    write_etc,
)

PROGRAM = r'''
import json, os, socket, sys
def readable(path):
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").close()
        return True
    except OSError:
        return False
report = {"uid": os.getuid(), "euid": os.geteuid(), "cwd": os.getcwd(),
          "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
          "readable": {p: readable(p) for p in sys.argv[2].split(",")}}
for folder in ("/tmp", "/var/tmp", "/dev/shm"):
    with open(os.path.join(folder, "left-behind"), "w") as out:
        out.write("x")
try:
    with open("/tmp/big", "wb") as out:
        for _ in range(200):
            out.write(b"\0" * (1 << 20))
    report["tmp_capped"] = False
except OSError:
    report["tmp_capped"] = True
os.remove("/tmp/big")
sock = socket.socket(socket.AF_UNIX)
try:
    sock.connect(sys.argv[3])
    report["unix_socket"] = True
except OSError:
    report["unix_socket"] = False
with open(sys.argv[1], "w") as out:
    json.dump(report, out)
'''


def confine(tmp_path: Path) -> tuple[Sandbox, Path]:
    """A grading-like layout and the sandbox a grading would use for it, as a grading probes it."""
    assert os.geteuid() == 0, "confining a submission needs root (the graders run as root)"
    work = tmp_path / "work"
    work.mkdir(mode=0o700)
    layout = Layout(work / "submission", work / "deps", work / "bin", write_etc(work / "etc"),
                    tuple(interpreter_paths()))
    for folder in (layout.submission, layout.deps, layout.bin):
        folder.mkdir()
    lease = UidLease()
    try:
        os.chown(layout.submission, lease.uid, lease.uid)
        private = kit_private_paths()
        return probe(plan_sandbox(layout, private, lease.uid), layout.submission, private), layout.submission
    finally:
        lease.release()


@pytest.fixture
def confined(tmp_path: Path) -> tuple[Sandbox, Path]:
    return confine(tmp_path)


def run_inside(sandbox: Sandbox, cwd: Path, paths: list[str], unix_socket: str) -> dict[str, object]:
    argv = [sys.executable, "-I", "-c", PROGRAM, f"{APP_DIR}/report.json", ",".join(paths), unix_socket]
    env = scrubbed_env("/home/app", [], [], {})
    done = subprocess.run(sandbox.wrap(argv, cwd, env), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads((cwd / "report.json").read_text())
    return report


def test_the_sandbox_is_an_allow_list_root(confined: tuple[Sandbox, Path], tmp_path: Path) -> None:
    sandbox, cwd = confined
    assert sandbox.mode == "bwrap", sandbox.notes
    other_checkout = tmp_path / "other-checkout" / "solutions"
    other_checkout.mkdir(parents=True)
    (other_checkout / "reference.py").write_text("secret")
    listening = socket.socket(socket.AF_UNIX)
    socket_path = f"/tmp/faultfirst-test-{os.getpid()}-{threading.get_ident()}.sock"
    listening.bind(socket_path)
    listening.listen()
    hidden = [str(other_checkout), str(KIT_ROOT / "graders"), str(KIT_ROOT / "solutions"),
              str(KIT_ROOT / "docs"), str(KIT_ROOT / "tests"), str(KIT_ROOT / "CHANGELOG.md"),
              str(KIT_ROOT / "pyproject.toml"), "/etc/shadow", "/var/log", "/root/.bashrc"]
    try:
        report = run_inside(sandbox, cwd, [*hidden, sys.executable, APP_DIR], socket_path)
    finally:
        listening.close()
        os.unlink(socket_path)
    readable = report["readable"]
    assert isinstance(readable, dict)
    assert [path for path in hidden if readable[path]] == []
    assert readable[sys.executable] and readable[APP_DIR]
    assert report["uid"] != 0 and report["euid"] != 0
    assert report["cwd"] == APP_DIR
    assert report["pids"] == [1, 2] or max(report["pids"]) < 10  # type: ignore[call-overload]
    assert report["tmp_capped"] is True
    assert report["unix_socket"] is False


def test_nothing_written_to_tmp_outlives_the_app(confined: tuple[Sandbox, Path]) -> None:
    sandbox, cwd = confined
    before = {folder: set(os.listdir(folder)) for folder in ("/tmp", "/var/tmp", "/dev/shm")}
    run_inside(sandbox, cwd, [], "/nonexistent.sock")
    for folder, names in before.items():
        assert "left-behind" not in set(os.listdir(folder)) - names


def test_kit_folders_inside_a_bound_library_folder_are_hidden(tmp_path: Path) -> None:
    library = tmp_path / "site-packages"
    (library / "graders").mkdir(parents=True)
    (library / "fastapi").mkdir()
    layout = Layout(tmp_path / "s", tmp_path / "d", tmp_path / "b", write_etc(tmp_path / "etc"), (library,))
    (library / "faultfirst_data" / "solutions").mkdir(parents=True)
    private = [library / "graders", library / "faultfirst_data" / "solutions", library / "faultfirst_data",
               tmp_path / "elsewhere"]
    sandbox = plan_sandbox(layout, private, 3_000_001)
    # only the outermost: an empty folder cannot hold another folder to cover
    assert sandbox.hide == (str(library / "faultfirst_data"), str(library / "graders"))
    assert sandbox.inside(tmp_path / "s" / "pkg") == f"{APP_DIR}/pkg"
    assert sandbox.inside(library / "fastapi") == str(library / "fastapi")


def test_concurrent_gradings_get_distinct_user_ids(tmp_path: Path) -> None:
    leases = [UidLease(tmp_path) for _ in range(50)]
    try:
        assert len({lease.uid for lease in leases}) == 50
    finally:
        for lease in leases:
            lease.release()
    assert os.listdir(tmp_path) == []


def test_the_whole_grading_shares_one_memory_cap(confined: tuple[Sandbox, Path]) -> None:
    """Four processes of 96 MiB each, under a 256 MiB cap for the group: not all of them fit."""
    sandbox, cwd = confined
    cgroup = GradingCgroup(f"faultfirst-test-{os.getpid()}", GradingLimits(memory_bytes=256 << 20)).create()
    try:
        assert {"memory", "pids", "cpu"} <= set(cgroup.folders), cgroup.notes
        grouped = Sandbox(**{**{f: getattr(sandbox, f) for f in Sandbox.__dataclass_fields__},
                             "cgroup_join": tuple(cgroup.join_files())})
        program = ("import subprocess, sys\n"
                   "code = 'b = bytearray(96 << 20); b[::4096] = b\"x\" * len(b[::4096]); "
                   "import time; time.sleep(1)'\n"
                   "procs = [subprocess.Popen([sys.executable, '-c', code]) for _ in range(4)]\n"
                   "print(sorted(p.wait() for p in procs))\n")
        done = subprocess.run(grouped.wrap([sys.executable, "-I", "-c", program], cwd,
                                           scrubbed_env("/home/app", [], [], {})),
                              capture_output=True, text=True, timeout=60, check=False)
        codes = json.loads(done.stdout.strip() or "[]")
        assert any(code != 0 for code in codes), done.stdout + done.stderr
        held = " ".join(cgroup.held())
        assert "capped at 256 MiB" in held
    finally:
        cgroup.remove()
    assert cgroup.folders == {}



def test_without_bubblewrap_the_report_says_what_is_not_isolated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("graders.harness.sandbox.plan.shutil.which", lambda name: None)
    sandbox, _ = confine(tmp_path)
    assert sandbox.mode == "mounts"
    assert sandbox.uid is not None and sandbox.uid >= 3_000_000
    assert any("NOT isolated" in note and "bubblewrap" in note for note in sandbox.notes)
    assert any("deny-list" in line for line in sandbox.summary())
