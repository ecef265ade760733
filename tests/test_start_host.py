"""Forked starts (``grade(preload=...)``, calibration only): each start of the app is forked from
one process that imported the app's libraries once, and must look to the app, and to the
harness, like a start of its own (``python -m module``): same argv, path, ``__main__``, cwd and
environment, its own output, its own exit status, and no process of it left once it stops.

A small stdlib app, started both ways through :class:`AppManager` outside any sandbox (a
grading's sandboxed forked starts are compared in tests/test_grading_harness.py).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graders.harness.errors import AppStartError
from graders.harness.inner.app_process import AppManager, HostedApp, LaunchSpec
from graders.harness.inner.client import AppClient
from graders.harness.sandbox.plan import scrubbed_env

PROBE_APP = '''
import json, os, subprocess, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

if "--fail" in sys.argv:
    print("probeapp: refusing to start", flush=True)
    sys.exit(3)
print("probeapp started", os.getpid(), flush=True)
print("probeapp on stderr", file=sys.stderr, flush=True)
CHILDREN = []

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/facts":
            main = sys.modules["__main__"]
            body = {"argv": sys.argv, "path0": sys.path[0], "name": __name__,
                    "main_file": getattr(main, "__file__", None), "spec": __spec__.name,
                    "cwd": os.getcwd(), "env": dict(os.environ), "pid": os.getpid(),
                    "preloaded": "xml.dom.minidom" in sys.modules,
                    "host_names": sorted(n for n in ("Host", "run_start", "serve") if n in globals())}
        elif self.path == "/spawn":
            same = subprocess.Popen(["sleep", "60"], process_group=0)  # its own group, same session
            detached = subprocess.Popen(["sleep", "60"], start_new_session=True)
            CHILDREN.extend([same, detached])
            body = {"same_session": same.pid, "detached": detached.pid}
        else:
            body = {"ok": True}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

port = int(sys.argv[sys.argv.index("--port") + 1])
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
'''


def make_app(root: Path) -> Path:
    (root / "probeapp").mkdir(parents=True)
    (root / "probeapp" / "__init__.py").write_text("")
    (root / "probeapp" / "__main__.py").write_text(PROBE_APP)
    return root


def spec_for(root: Path, preload: tuple[str, ...], *extra: str) -> LaunchSpec:
    env = scrubbed_env(root / "home", [Path(sys.executable).parent], [root], {"PROBE": "1"})
    return LaunchSpec(("python", "-m", "probeapp", "--port", "{port}", *extra), "/health", root,
                      env, sys.executable, startup_limit_s=20.0, preload=preload)


@pytest.fixture
def app_root(tmp_path: Path) -> Path:
    return make_app(tmp_path / "app")


@pytest.fixture
def hosted(app_root: Path) -> Iterator[AppManager]:
    apps = AppManager(spec_for(app_root, ("xml.dom.minidom",)))
    yield apps
    apps.shutdown()


def get(apps: AppManager, path: str) -> Any:
    assert apps.current is not None
    response = AppClient(apps.current.base_url).get(path, timeout_s=5.0)
    return json.loads(response.text)


def gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie that nobody reaped yet has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state == "Z"


def wait_gone(pid: int, within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.02)
    return gone(pid)


def test_a_forked_start_sees_what_python_dash_m_gives(app_root: Path, hosted: AppManager) -> None:
    plain = AppManager(spec_for(app_root, ()))
    try:
        plain.restart()
        expected = get(plain, "/facts")
    finally:
        plain.shutdown()
    hosted.restart()
    assert isinstance(hosted.current, HostedApp)
    forked = get(hosted, "/facts")
    for key in ("path0", "name", "main_file", "spec", "cwd", "env", "host_names"):
        assert forked[key] == expected[key], key
    assert forked["argv"][0] == expected["argv"][0]
    assert forked["argv"][1:3] == ["--port", str(hosted.current.port)]
    assert forked["preloaded"] and not expected["preloaded"]
    assert forked["host_names"] == []


def test_each_start_is_a_fresh_process_with_its_own_output(hosted: AppManager) -> None:
    first = hosted.restart()
    first_pid = get(hosted, "/facts")["pid"]
    second = hosted.restart()
    second_pid = get(hosted, "/facts")["pid"]
    assert first_pid != second_pid and wait_gone(first_pid)
    assert not first.alive and second.alive
    assert f"probeapp started {first_pid}" in first.output.text()
    tail = hosted.log_tail()
    assert f"probeapp started {second_pid}" in tail and "probeapp on stderr" in tail
    assert str(first_pid) not in tail


def test_stopping_a_start_ends_the_processes_of_its_session(hosted: AppManager) -> None:
    hosted.restart()
    spawned = get(hosted, "/spawn")
    app_pid = get(hosted, "/facts")["pid"]
    hosted.stop()
    assert wait_gone(app_pid) and wait_gone(spawned["same_session"])
    # Outside a PID namespace only the start's session is swept (a sandboxed host sweeps its
    # whole namespace); the detached one is this test's to end.
    os.kill(spawned["detached"], 9)


def test_an_app_that_exits_is_reported_with_its_status_and_output(app_root: Path) -> None:
    apps = AppManager(spec_for(app_root, ("xml.dom.minidom",), "--fail"))
    try:
        with pytest.raises(AppStartError, match="exited with status 3") as raised:
            apps.restart()
        assert "probeapp: refusing to start" in raised.value.log_tail
    finally:
        apps.shutdown()


def test_a_command_the_host_cannot_run_falls_back_to_a_start_of_its_own(app_root: Path) -> None:
    spec = spec_for(app_root, ("xml.dom.minidom",))
    flags = LaunchSpec(("python", "-X", "dev", "-m", "probeapp", "--port", "{port}"), "/health",
                       app_root, spec.env, sys.executable, preload=spec.preload)
    assert spec.hosted and not flags.hosted
    apps = AppManager(flags)
    try:
        apps.restart()
        assert apps.host is None and get(apps, "/facts")["name"] == "__main__"
    finally:
        apps.shutdown()


def test_shutdown_ends_the_host_and_its_starts(hosted: AppManager) -> None:
    hosted.restart()
    app_pid = get(hosted, "/facts")["pid"]
    assert hosted.host is not None
    host_pid = hosted.host.pid
    hosted.shutdown()
    assert wait_gone(app_pid) and wait_gone(host_pid) and hosted.host is None


def test_a_host_that_ended_is_replaced_at_the_next_start(hosted: AppManager) -> None:
    hosted.restart()
    assert hosted.host is not None
    first_host = hosted.host
    os.killpg(first_host.pid, 9)
    assert wait_gone(first_host.pid)
    assert hosted.current is not None and not hosted.current.alive
    hosted.restart()
    assert hosted.host is not first_host and get(hosted, "/health") == {"ok": True}
