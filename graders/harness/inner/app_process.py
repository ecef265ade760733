"""The candidate's app as a subprocess: start it from its manifest, wait for health, stop it.

:class:`AppManager` owns the one running app of a grading session and restarts it when a check
needs a fresh one, when a new exercise module starts, or when the previous check left it hung or
dead. Its output is kept as a bounded tail (:class:`OutputTail`) for the report.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from graders.harness.errors import AppFailure
from graders.harness.errors import AppStartError as AppStartError  # re-exported
from graders.harness.errors import SandboxError as SandboxError  # re-exported
from graders.harness.inner.client import AppClient
from graders.harness.sandbox.jail import EXEC_FAILED, JAIL_FAILED
from graders.harness.sandbox.plan import Sandbox

TAIL_BYTES = 32 * 1024
STOP_GRACE_S = 3.0
PROBE_LIMIT_S = 2.0  # one health probe, start to end of its body
PROBE_INTERVAL_S = 0.05
_PYTHON_NAMES = ("python", "python3", f"python3.{__import__('sys').version_info.minor}")
# Calibration's coverage runs (:func:`covered_argv`): each start of the app writes the lines it ran
# to ``<submission copy>/COVERAGE_FOLDER/start-<n>``, with the run settings in COVERAGE_RC there.
COVERAGE_FOLDER, COVERAGE_RC, COVERAGE_START = ".faultfirst-coverage", "coveragerc", "start-"
HOST_SOURCE = Path(__file__).with_name("start_host.py")


class OutputTail:
    """Reads a pipe to its end in a thread, keeping only the last ``limit_bytes`` and a byte count."""

    def __init__(self, stream: IO[bytes], limit_bytes: int = TAIL_BYTES) -> None:
        self._chunks: deque[bytes] = deque()
        self._kept = 0
        self._limit = limit_bytes
        self.total_bytes = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True,
                                        name="app-output")
        self._thread.start()

    def _pump(self, stream: IO[bytes]) -> None:
        for chunk in iter(lambda: stream.read1(4096), b""):  # type: ignore[attr-defined]
            with self._lock:
                self._chunks.append(chunk)
                self._kept += len(chunk)
                self.total_bytes += len(chunk)
                while self._kept - len(self._chunks[0]) >= self._limit:
                    self._kept -= len(self._chunks.popleft())
        stream.close()

    def text(self) -> str:
        """The kept tail, decoded; says how much was cut when the output was longer."""
        with self._lock:
            data = b"".join(self._chunks)[-self._limit:]
            total = self.total_bytes
        cut = f"[... {total - len(data)} earlier bytes not kept ...]\n" if total > len(data) else ""
        return cut + data.decode("utf-8", "replace")

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    """Everything needed to start the app; ``env`` is the complete environment it gets."""

    argv_template: tuple[str, ...]
    health: str
    cwd: Path
    env: Mapping[str, str]
    python: str
    sandbox: Sandbox = field(default_factory=Sandbox)
    startup_limit_s: float = 30.0
    coverage: bool = False
    preload: tuple[str, ...] = ()  # modules a start host imports once (see start_host.py)

    def plain_argv(self, port: int) -> list[str]:
        argv = [part.replace("{port}", str(port)) for part in self.argv_template]
        if argv[0] in _PYTHON_NAMES:
            argv[0] = self.python
        return argv

    def argv(self, port: int, start: int = 1) -> list[str]:
        argv = self.plain_argv(port)
        if self.coverage:
            argv = covered_argv(argv, self.python, self.coverage_folder, start) or argv
        return argv

    @property
    def coverage_folder(self) -> str:
        return f"{self.sandbox.inside(self.cwd)}/{COVERAGE_FOLDER}"

    @property
    def hosted(self) -> bool:
        """Whether starts are forked from a start host: ``preload`` is set and the command is
        ``python -m module ...`` or ``python file.py ...``."""
        return bool(self.preload) and _runnable(self.plain_argv(0), self.python)


def covered_argv(argv: list[str], python: str, folder: str, start: int) -> list[str] | None:
    """``argv`` run under coverage.py, its data in ``folder/start-<start>``; None when ``argv``
    is not ``python -m module ...`` or ``python file.py ...`` (then the start is not measured,
    and calibration treats it as having run every line)."""
    if not _runnable(argv, python):
        return None
    rcfile, data_file = coverage_files(folder, start)
    return [python, "-m", "coverage", "run", f"--rcfile={rcfile}", f"--data-file={data_file}", *argv[1:]]


def coverage_files(folder: str, start: int) -> tuple[str, str]:
    """The coverage settings file in ``folder`` and start ``start``'s data file there."""
    return f"{folder}/{COVERAGE_RC}", f"{folder}/{COVERAGE_START}{start}"


def _runnable(argv: list[str], python: str) -> bool:
    """Whether ``argv`` is ``python -m module ...`` or ``python file.py ...`` (no interpreter flags)."""
    return (len(argv) >= 2 and argv[0] == python
            and ((argv[1] == "-m" and len(argv) >= 3) or argv[1].endswith(".py")))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _App:
    """What every kind of app start shares: its port, its output, the wait for health."""

    spec: LaunchSpec
    output: OutputTail

    def __init__(self, spec: LaunchSpec, start: int) -> None:
        self.spec = spec
        self.start = start
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"

    def poll(self) -> int | None:
        """The start's exit status once it has ended; None while it runs."""
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @property
    def alive(self) -> bool:
        return self.poll() is None

    def wait_healthy(self) -> None:
        """Probe ``GET health`` until it answers 200 in full; AppStartError if the app exits or
        the start limit passes first.

        Each probe has a total deadline of its own (at most PROBE_LIMIT_S, never past the start
        limit), so a health endpoint that hangs, dribbles its body or sends an endless one is a
        failed probe, and the whole wait never outlasts the start limit.
        """
        deadline = time.monotonic() + self.spec.startup_limit_s
        client = AppClient(self.base_url)
        last = "no probe finished"
        while (left_s := deadline - time.monotonic()) > 0:
            code = self.poll()
            if code is not None:
                self._exited(code)
            try:
                response = client.get(self.spec.health, timeout_s=min(PROBE_LIMIT_S, left_s))
            except AppFailure as failure:
                last = str(failure)
            else:
                if response.status == 200:
                    return
                last = f"it answered {response.status}"
            time.sleep(min(PROBE_INTERVAL_S, max(0.0, deadline - time.monotonic())))
        self.stop()
        raise AppStartError(f"the app did not answer GET {self.spec.health} with 200 within "
                            f"{self.spec.startup_limit_s:g} s of starting (last probe: {last})",
                            self.output.text())

    def _exited(self, code: int) -> None:
        self.output.join(2.0)
        tail = self.output.text()
        if code == JAIL_FAILED and "faultfirst-jail:" in tail:
            raise SandboxError(f"the sandbox could not start the app: {tail.strip()}")
        what = "could not be run" if code == EXEC_FAILED else f"exited with status {code}"
        raise AppStartError(f"the app {what} before answering GET {self.spec.health}", tail)


class AppProcess(_App):
    """One run of the app. :meth:`start` returns once it answers health, or raises AppStartError."""

    def __init__(self, spec: LaunchSpec, start: int = 1) -> None:
        super().__init__(spec, start)
        argv = spec.sandbox.wrap(spec.argv(self.port, start), spec.cwd, spec.env)
        self._proc = subprocess.Popen(argv, cwd=spec.cwd, env=dict(spec.env), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        assert self._proc.stdout is not None
        self.output = OutputTail(self._proc.stdout)

    def poll(self) -> int | None:
        return self._proc.poll()

    def stop(self) -> None:
        """Stop the app and everything in its process group: SIGTERM, then SIGKILL.

        Under coverage, the processes below the sandbox tool get the SIGTERM themselves first
        (the sandbox runs the app in a session of its own, out of reach of the group's signal),
        so that coverage.py saves what the app ran before the app is killed."""
        if self._proc.poll() is None:
            if self.spec.coverage:
                self._stop_below()
            self._signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(STOP_GRACE_S)
        self._signal(signal.SIGKILL)
        self._proc.wait()
        self.output.join(2.0)

    def _stop_below(self) -> None:
        """SIGTERM to the processes below the sandbox tool, deepest first, and a wait (at most
        STOP_GRACE_S) for them to end, before the sandbox tool itself is signalled."""
        below = descendants(self._proc.pid)
        for pid in reversed(below):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline and any(_running(pid) for pid in below[-1:]):
            time.sleep(0.02)

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)


class StartHost:
    """One grading's start host (:mod:`graders.harness.inner.start_host`), run in the sandbox the
    app's starts would get; :class:`HostedApp` asks it for each start over a socket pair."""

    def __init__(self, spec: LaunchSpec) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = {"fd": theirs.fileno(), "preload": list(spec.preload), "coverage": spec.coverage,
                  "sweep": spec.sandbox.mode == "bwrap"}
        argv = spec.sandbox.wrap([spec.python, "-c", HOST_SOURCE.read_text(encoding="utf-8"),
                                  json.dumps(config)], spec.cwd, spec.env)
        with theirs:
            self._proc = subprocess.Popen(argv, cwd=spec.cwd, env=dict(spec.env),
                                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, pass_fds=(theirs.fileno(),),
                                          start_new_session=True)
        assert self._proc.stdout is not None
        self.output = OutputTail(self._proc.stdout)
        self._sock = ours
        self._codes: dict[int, int] = {}
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True, name="start-host").start()

    def _read(self) -> None:
        while True:
            try:
                data = self._sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                break
            with contextlib.suppress(ValueError, KeyError, TypeError):
                event = json.loads(data)
                if event["event"] == "exited":
                    with self._changed:
                        self._codes[int(event["start"])] = int(event["code"])
                        self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    @property
    def pid(self) -> int:
        return self._proc.pid

    def code(self, start: int) -> int | None:
        """Start ``start``'s exit status; the host's own once the host has ended; None while
        it runs."""
        with self._changed:
            if start in self._codes:
                return self._codes[start]
        return self._proc.poll()

    def lost(self, start: int) -> bool:
        """Whether the host ended before ``start`` did (then its output says why)."""
        with self._changed:
            return start not in self._codes and not self.alive

    def launch(self, start: int, argv: list[str], coverage: dict[str, str] | None, out: int) -> None:
        message = {"op": "start", "start": start, "argv": argv, "coverage": coverage}
        with contextlib.suppress(OSError):  # a host that has ended: the start reads as ended
            socket.send_fds(self._sock, [json.dumps(message).encode()], [out])

    def stop(self, start: int) -> bool:
        """Ask the host to stop ``start`` (SIGTERM, SIGKILL after STOP_GRACE_S); whether it has
        ended within that and a margin."""
        with contextlib.suppress(OSError):
            self._sock.send(json.dumps({"op": "stop", "start": start,
                                        "grace_s": STOP_GRACE_S}).encode())
        with self._changed:
            return self._changed.wait_for(lambda: start in self._codes or not self.alive,
                                          STOP_GRACE_S + 2.0)

    def close(self) -> None:
        """End the host and everything it started."""
        with contextlib.suppress(OSError):  # the host kills its starts and exits on the EOF
            self._sock.shutdown(socket.SHUT_RDWR)  # (a close alone leaves the reader's recv open)
        self._sock.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(STOP_GRACE_S)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()
        self.output.join(2.0)


class HostedApp(_App):
    """One run of the app, forked by the grading's :class:`StartHost`."""

    def __init__(self, spec: LaunchSpec, host: StartHost, start: int = 1) -> None:
        super().__init__(spec, start)
        self.host = host
        read, write = os.pipe()
        self.output = OutputTail(os.fdopen(read, "rb"))
        coverage = None
        if spec.coverage:
            rcfile, data_file = coverage_files(spec.coverage_folder, start)
            coverage = {"rcfile": rcfile, "data_file": data_file}
        try:
            host.launch(start, spec.plain_argv(self.port)[1:], coverage, write)
        finally:
            os.close(write)

    def poll(self) -> int | None:
        return self.host.code(self.start)

    def stop(self) -> None:
        if self.poll() is None and not self.host.stop(self.start):
            self.host.close()  # it did not answer: it ends, with every start of it
        self.output.join(2.0)

    def _exited(self, code: int) -> None:
        if self.host.lost(self.start):
            self.output = self.host.output  # the host itself ended: its output says why
        super()._exited(code)


def descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (children first), from /proc; [] where /proc cannot tell."""
    found: list[int] = []
    parents = [pid]
    while parents:
        parent = parents.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError, ValueError):
                children = [int(child) for child in task.read_text().split()]
                found += children
                parents += children
    return found


def _running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class AppManager:
    """The session's app: started on demand, restarted per module, on request, or when unhealthy."""

    def __init__(self, spec: LaunchSpec) -> None:
        self.spec = spec
        self.current: _App | None = None
        self.host: StartHost | None = None
        self._key: str | None = None
        self._dirty = False
        self.starts = 0
        self.forked = 0  # how many of the starts a start host forked

    def ensure(self, key: str, fresh: bool = False) -> _App:
        """A healthy app for a check of group ``key`` (its module); restarts it when needed.

        Raises AppStartError (the candidate's app did not start) or SandboxError.
        """
        # A new module gets a new app, except that the first module adopts the app started
        # before any check ran (it is fresh).
        new_group = self._key is not None and key != self._key
        needs_restart = (self.current is None or fresh or self._dirty or new_group
                         or not self.current.alive)
        if needs_restart:
            self.restart()
        self._key = key
        assert self.current is not None
        return self.current

    def restart(self) -> _App:
        self.stop()
        self._dirty = False
        self.starts += 1
        app: _App
        if self.spec.hosted:
            if self.host is not None and not self.host.alive:
                self.host.close()
                self.host = None
            if self.host is None:
                self.host = StartHost(self.spec)
            app = HostedApp(self.spec, self.host, self.starts)
            self.forked += 1
        else:
            app = AppProcess(self.spec, self.starts)
        self.current = app
        app.wait_healthy()
        return app

    def mark_dirty(self) -> None:
        """The last check may have left the app hung: the next check gets a fresh one."""
        self._dirty = True

    def log_tail(self) -> str:
        return self.current.output.text() if self.current is not None else ""

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current = None

    def shutdown(self) -> None:
        """Stop the app and the start host, if any."""
        self.stop()
        if self.host is not None:
            self.host.close()
            self.host = None

    def describe(self) -> dict[str, Any]:
        return {"starts": self.starts, "argv": list(self.spec.argv_template),
                "cwd": str(self.spec.cwd)}
