"""The server processes a benchmark part runs: the fake as shipped and the bare endpoint, pinned on
the server core and always stopped."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.fake_llm_bench.common import (
    BARE_SERVER,
    CHAT_PATH,
    CHAT_REQUEST,
    HOST,
    RESULTS_DIR,
    ROOT,
    SERVER_CORE,
    free_port,
    http,
    proc_status_kb,
)

_LIVE: list[Server] = []


class Server:
    """A server process pinned to SERVER_CORE, stopped for sure at exit."""

    def __init__(self, name: str, argv: list[str], port: int) -> None:
        self.name, self.argv, self.port = name, argv, port
        self.log_path = RESULTS_DIR / f"server_{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout_s: float = 30.0) -> Server:
        log_file = self.log_path.open("wb")
        # taskset execs the command, so proc.pid is the server's own pid.
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, *self.argv], cwd=ROOT,
                                     stdout=log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log_file.close()
        _LIVE.append(self)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
            try:
                if http("GET", f"{self.base}/health", timeout=2)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /health within {timeout_s:.0f} s")

    def rss_mb(self) -> float:
        return proc_status_kb(self.pid, "VmRSS") / 1024

    def hwm_mb(self) -> float:
        return proc_status_kb(self.pid, "VmHWM") / 1024

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self in _LIVE:
            _LIVE.remove(self)


def stop_all() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop()


def fake_server(name: str, *extra: str) -> Server:
    port = free_port()
    return Server(name, [sys.executable, "-m", "fake_llm", "serve", "--host", HOST, "--port",
                         str(port), "--profile", "calm", "--seed", "0", *extra], port)


def bare_server(body_file: Path, delay_ms: float = 0.0, name: str = "bare") -> Server:
    port = free_port()
    return Server(name, [sys.executable, str(BARE_SERVER), "--host", HOST, "--port", str(port),
                         "--body-file", str(body_file), "--delay-ms", str(delay_ms)], port)


def capture_body(fake: Server) -> Path:
    """The fake's answer to the benchmark request, saved for the bare server to return verbatim."""
    status, _, body = http("POST", f"{fake.base}{CHAT_PATH}", CHAT_REQUEST)
    if status != 200:
        raise RuntimeError(f"the fake server answered {status}: {body[:300]!r}")
    body_file = RESULTS_DIR / "bare_body.json"
    body_file.write_bytes(body)
    return body_file


def http_protocol() -> str:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"
