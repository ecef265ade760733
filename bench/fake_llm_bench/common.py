"""What every part of the benchmark shares: paths, settings, targets and small helpers."""

from __future__ import annotations

import json
import math
import os
import socket
import statistics
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
RESULTS_DIR = BENCH / "results"
RESULTS_JSON = RESULTS_DIR / "fake_llm.json"
LUA = BENCH / "post_chat.lua"
BARE_SERVER = BENCH / "bare_server.py"

HOST = "127.0.0.1"
SERVER_CORE = "0"
LOAD_CORE = "1"
CHAT_PATH = "/v1/chat/completions"
CHAT_REQUEST = {"model": "sim-gpt-large",
                "messages": [{"role": "user", "content": "Summarize paper P0042."}]}
INJECTED_MS = 250.0

TARGETS = {
    "throughput_ratio": (">=", 0.5),
    "p99_delay_error_ms": ("<=", 30.0),
    "stream_errors": ("<=", 0),
    "rss_ratio": ("<=", 1.10),  # "near 1": within 10 %
}


@dataclass(frozen=True)
class Settings:
    """What one mode (full or quick) runs."""

    mode: str
    tp_rounds: int
    tp_duration_s: int
    tp_warmup_s: int
    tp_connections: int
    delay_runs: int
    delay_duration_s: int
    delay_connections: int
    streams: int
    stream_hold_s: float
    mem_checkpoints: tuple[int, ...]
    mem_connections: int
    profile_s: int
    budget_s: int  # watchdog: the whole script is stopped past this


FULL = Settings("full", tp_rounds=3, tp_duration_s=10, tp_warmup_s=3, tp_connections=256,
                delay_runs=3, delay_duration_s=10, delay_connections=200,
                streams=1000, stream_hold_s=10.0,
                mem_checkpoints=(1_000, 10_000, 50_000, 100_000), mem_connections=64,
                profile_s=10, budget_s=900)
QUICK = Settings("quick", tp_rounds=1, tp_duration_s=4, tp_warmup_s=1, tp_connections=256,
                 delay_runs=1, delay_duration_s=5, delay_connections=200,
                 streams=1000, stream_hold_s=5.0,
                 mem_checkpoints=(1_000, 10_000, 25_000), mem_connections=64,
                 profile_s=5, budget_s=240)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)



def percentile(values: list[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default method)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def http(method: str, url: str, body: Any = None, timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def http_json(method: str, url: str, body: Any = None, timeout: float = 30.0) -> Any:
    status, _, payload = http(method, url, body, timeout)
    if status >= 400:
        raise RuntimeError(f"{method} {url} -> {status}: {payload[:300]!r}")
    return json.loads(payload)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def cpu_pressure() -> str:
    """The kernel's CPU pressure (share of time some task waited for a CPU), 10 s and 60 s."""
    try:
        fields = Path("/proc/pressure/cpu").read_text().splitlines()[0].split()
    except OSError:
        return "n/a"
    values = dict(f.split("=") for f in fields[1:])
    return f"{values['avg10']}% (10 s), {values['avg60']}% (60 s)"
