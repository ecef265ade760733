"""A process that imports the app's libraries once and forks every start of the app from itself.

Calibration grades the kit's own solutions dozens of times, and most of an app start is the
import of its web and HTTP libraries (about 0.35 CPU s of every start). With ``preload`` set
(``grade(preload=...)``), the inner session starts this script once per grading, inside the
same sandbox an app start gets, and asks it for each start: it forks, and the child runs
``python -m module args`` (or ``python file.py args``) as the interpreter would, with the
preloaded modules already in ``sys.modules``. A candidate's grading never uses it: a start
forked this way shares its sandbox's ``/tmp`` and hash seed with the others of its grading.

Standalone on purpose (standard library only): the kit is not visible inside the sandbox, so
the session runs this file's source with ``python -c``. One argument, JSON:
``{"fd": control socket, "preload": [module, ...], "coverage": bool, "sweep": bool}``.

The control socket is a ``SOCK_SEQPACKET`` pair, one JSON message per packet:

- session -> host: ``{"op": "start", "start": n, "argv": [...], "coverage": {...} | null}``
  with the write end of the start's output pipe attached (``SCM_RIGHTS``);
  ``{"op": "stop", "start": n, "grace_s": s}``.
- host -> session: ``{"event": "exited", "start": n, "code": c}`` when a start has ended
  (``code`` as ``Popen.returncode``: negative for a signal). Requests sent while the host still
  imports wait in the socket.

A child ends as a sandboxed start would: when it exits, or when asked to stop (SIGTERM to its
process group, SIGKILL after the grace), every process of its session is killed, and with
``sweep`` (the host is alone in its PID namespace with the sandbox's init) every process but
the host and that init. When the session closes the socket, the host kills everything it
started and exits.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

MAX_MESSAGE = 1 << 16
KILL_AGAIN_S = 0.5  # a SIGKILLed group that has not ended yet is signalled again


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        sock.send(json.dumps(message).encode())


def _preload(names: list[str]) -> None:
    """Import each module that the app would resolve outside its own folder (a module of the
    app's own is left for the app: its code runs in the app, under coverage when asked)."""
    import importlib
    import importlib.util

    here = Path.cwd().resolve()
    for name in names:
        try:
            spec = importlib.util.find_spec(name.split(".")[0])
            origin = Path(spec.origin).resolve() if spec is not None and spec.origin else None
            if spec is None or (origin is not None and origin.is_relative_to(here)):
                continue
            importlib.import_module(name)
        except Exception:  # an optional module, or one that fails here: the app imports it itself
            continue


def _session_of(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[3])


def _sweep(leader: int, everyone: bool) -> None:
    """SIGKILL the processes of ``leader``'s session (all but this one and PID 1 when
    ``everyone``), before ``leader`` is reaped, so that no PID has been reused."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (me, 1):
            continue
        pid = int(entry)
        if everyone or _session_of(pid) == leader:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


class Host:
    """The fork server's loop: starts, stops and exits of the children, one thread."""

    def __init__(self, sock: socket.socket, sweep: bool) -> None:
        self.sock, self.sweep = sock, sweep
        self.children: dict[int, tuple[int, int]] = {}  # pidfd -> (start, pid)
        self.kill_at: dict[int, float] = {}  # start -> when SIGKILL follows the SIGTERM

    def serve(self) -> dict[str, Any] | None:
        """Run until the session closes the socket (None), or return a start's request in the
        forked child (with its output on stdout and stderr)."""
        while True:
            timeout = max(0.0, min(self.kill_at.values()) - time.monotonic()) if self.kill_at else None
            watched: list[int] = [self.sock.fileno(), *self.children]
            ready, _, _ = select.select(watched, [], [], timeout)
            for fd in ready:
                if fd in self.children:
                    self._ended(fd)
            if self.sock.fileno() in ready:
                try:
                    data, fds, _, _ = socket.recv_fds(self.sock, MAX_MESSAGE, 1)
                except OSError:
                    data, fds = b"", []
                if not data:
                    self._close()
                    return None
                request: dict[str, Any] = json.loads(data)
                if request["op"] == "start":
                    if self._fork(request, fds[0]):
                        return request
                elif request["op"] == "stop":
                    self._stop(request["start"], float(request["grace_s"]))
            now = time.monotonic()
            for start, pid in list(self.children.values()):
                if self.kill_at.get(start, now + 1) <= now:
                    with contextlib.suppress(OSError):
                        os.killpg(pid, signal.SIGKILL)
                    self.kill_at[start] = now + KILL_AGAIN_S

    def _fork(self, request: dict[str, Any], out: int) -> bool:
        """Fork a start; True in the child."""
        pid = os.fork()
        if pid == 0:
            os.setsid()
            for fd in (*self.children, self.sock.fileno()):
                with contextlib.suppress(OSError):
                    os.close(fd)
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.close(out)
            return True
        os.close(out)
        self.children[os.pidfd_open(pid)] = (int(request["start"]), pid)
        return False

    def _stop(self, start: int, grace_s: float) -> None:
        for start_, pid in self.children.values():
            if start_ == start:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGTERM)
                self.kill_at[start] = time.monotonic() + grace_s

    def _ended(self, pidfd: int) -> None:
        start, pid = self.children.pop(pidfd)
        _sweep(pid, self.sweep)
        _, status = os.waitpid(pid, 0)
        os.close(pidfd)
        self.kill_at.pop(start, None)
        _send(self.sock, {"event": "exited", "start": start, "code": os.waitstatus_to_exitcode(status)})

    def _close(self) -> None:
        for pidfd, (_, pid) in list(self.children.items()):
            _sweep(pid, self.sweep)
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(pidfd)
        self.children.clear()


def run_start(request: dict[str, Any]) -> None:
    """In the forked child: run the app's command as the interpreter would have."""
    import runpy
    import types

    argv = request["argv"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    cov = None
    if request.get("coverage"):
        import coverage

        cov = coverage.Coverage(data_file=request["coverage"]["data_file"],
                                config_file=request["coverage"]["rcfile"])
        cov.start()
    try:
        if argv[0] == "-m":
            sys.argv = ["-m", *argv[2:]]
            sys.path[0] = os.getcwd()
            runpy._run_module_as_main(argv[1], alter_argv=True)  # type: ignore[attr-defined]
        else:
            sys.argv = list(argv)
            sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))
            runpy.run_path(argv[0], run_name="__main__")
    finally:
        if cov is not None:
            cov.stop()
            cov.save()


def main() -> None:
    config = json.loads(sys.argv[1])
    sock = socket.socket(fileno=config["fd"])
    _preload(config["preload"] + (["coverage"] if config.get("coverage") else []))
    request = Host(sock, bool(config.get("sweep"))).serve()
    if request is None:
        sys.exit(0)
    run_start(request)


if __name__ == "__main__":
    main()
