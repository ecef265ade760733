#!/usr/bin/env python
"""Benchmark the fake LLM server against its targets (each part's target is stated below; docs/fake-llm.md).

    python bench/fake_llm_bench.py            # full run, about 5 minutes
    python bench/fake_llm_bench.py --quick    # smoke check, about a minute
    python bench/fake_llm_bench.py --profile  # also: GC accounting and py-spy profiles (+1-2 min)
    python bench/fake_llm_bench.py --only ab  # some parts only (a, b, c, d)

The fake is run as shipped (``python -m fake_llm serve --profile calm --seed 0``), pinned on core 0
like every server here; wrk, the asyncio stream client and this script run on core 1.

(a) throughput: non-streamed chat completions per second under the shipped ``calm`` profile, as a
    ratio to a bare FastAPI endpoint on the same uvicorn protocol (bench/bare_server.py) returning
    the fake's own answer verbatim (same size); wrk -t1 -c256 -d10s, interleaved, median of 3.
    Also the servers' CPU time per request, whose ratio holds up better when the core is shared;
(b) delay fidelity: a scripted 250 ms latency on every request, 200 connections held by
    ``wrk --latency`` for 10 s; p50/p99 of observed latency minus 250 ms, and the same from the
    server's ledger (finish_s - arrival_s - 0.25, --ledger-size 200000), median of 3 runs; beside
    it, interleaved, the "bare floor": bare_server.py doing a plain asyncio.sleep(0.25);
(c) 1,000 concurrent slow streams (scripted drip fault, ~10 s each) held open by a raw asyncio
    socket client; completed streams, errors by type, and the server's ledger count;
(d) server RSS (VmRSS) after 1,000 requests and after 100,000 (the ledger is a 10,000-row ring).

--profile adds: garbage-collector time per request (bench/gc_probe.py runs the same server with a
gc callback) and py-spy --native profiles of the fake and the bare server (pip install py-spy).

Prints a table (progress goes to stderr) and writes bench/results/fake_llm.json; server logs and
profiles land in bench/results/ too. Exit status 0 when every part ran (targets missed or not),
1 when a part failed. Every loop is bounded in time, a watchdog stops the script past its budget,
and the servers it started are always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
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


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------------------------

def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    log("wrk is missing: installing the Debian package")
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, timeout=300,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("wrk is not installed and could not be installed (apt-get install wrk)")
    return path


def run_wrk(url: str, connections: int, duration_s: float, latency: bool = False,
            max_requests: int | None = None) -> dict[str, Any]:
    """One pinned wrk run; returns wrk's own summary (see bench/post_chat.lua) plus req/s."""
    cmd = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}",
           f"-d{max(1, math.ceil(duration_s))}s", "--timeout", "10s", "-s", str(LUA)]
    if latency:
        cmd.append("--latency")
    cmd.append(url)
    env = dict(os.environ)
    env.pop("WRK_MAX_REQUESTS", None)
    if max_requests:
        env["WRK_MAX_REQUESTS"] = str(max_requests)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env,
                          timeout=math.ceil(duration_s) + 30)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(line.removeprefix("WRKJSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors_total"] = sum(result["errors"].values())
    result["cmd"] = " ".join(cmd[3:])
    return result


# --------------------------------------------------------------------------------------------
# (a) throughput
# --------------------------------------------------------------------------------------------

def bench_throughput(cfg: Settings) -> dict[str, Any]:
    fake = fake_server("fake_throughput").start()
    _, headers, body = http("POST", f"{fake.base}{CHAT_PATH}", CHAT_REQUEST)
    body_file = capture_body(fake)  # the bare server returns this exact body: same size
    bare = bare_server(body_file).start()
    try:
        servers = {"fake": fake, "bare": bare}
        for name, server in servers.items():
            log(f"(a) warm-up {name} {cfg.tp_warmup_s} s")
            run_wrk(f"{server.base}{CHAT_PATH}", cfg.tp_connections, cfg.tp_warmup_s)
        rounds = []
        for index in range(cfg.tp_rounds):
            order = ["fake", "bare"] if index % 2 == 0 else ["bare", "fake"]
            row: dict[str, Any] = {"round": index + 1, "order": order}
            for name in order:
                server = servers[name]
                time.sleep(1.0)
                cpu0 = cpu_seconds(server.pid)
                result = run_wrk(f"{server.base}{CHAT_PATH}", cfg.tp_connections, cfg.tp_duration_s)
                cpu = cpu_seconds(server.pid) - cpu0
                row[name] = {"rps": result["rps"], "requests": result["requests"],
                             "errors": result["errors_total"], "non2xx": result["errors"]["status"],
                             "p50_ms": result["latency_us"]["p50"] / 1000,
                             "p99_ms": result["latency_us"]["p99"] / 1000,
                             "server_cpu_s": cpu,
                             "server_cpu_util": cpu / (result["duration_us"] / 1e6),
                             "cpu_us_per_request": 1e6 * cpu / max(1, result["requests"])}
                log(f"(a) round {index + 1} {name}: {result['rps']:.0f} req/s "
                    f"({row[name]['cpu_us_per_request']:.0f} us CPU/request)")
            row["ratio"] = row["fake"]["rps"] / row["bare"]["rps"]
            rounds.append(row)
        fake_rps = median([r["fake"]["rps"] for r in rounds])
        bare_rps = median([r["bare"]["rps"] for r in rounds])
        return {
            "wrk": f"-t1 -c{cfg.tp_connections} -d{cfg.tp_duration_s}s",
            "body_bytes": {"fake": len(body), "bare": len(body_file.read_bytes())},
            "fake_response_headers": {k: v for k, v in headers.items() if k.lower().startswith("x-")},
            "rounds": rounds,
            "fake_rps_median": fake_rps,
            "bare_rps_median": bare_rps,
            "ratio_median_of_rounds": median([r["ratio"] for r in rounds]),
            "ratio_of_medians": fake_rps / bare_rps,
            "fake_cpu_us_per_request_median": median([r["fake"]["cpu_us_per_request"] for r in rounds]),
            "bare_cpu_us_per_request_median": median([r["bare"]["cpu_us_per_request"] for r in rounds]),
            # bare CPU per request / fake CPU per request: the throughput ratio the two would have
            # with core 0 to themselves; steadier than req/s when other processes share the core
            "cpu_ratio_median_of_rounds": median([r["bare"]["cpu_us_per_request"]
                                                  / r["fake"]["cpu_us_per_request"] for r in rounds]),
        }
    finally:
        fake.stop()
        bare.stop()


# --------------------------------------------------------------------------------------------
# (b) delay fidelity
# --------------------------------------------------------------------------------------------

def _delay_run(server: Server, cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    cpu0 = cpu_seconds(server.pid)
    result = run_wrk(f"{server.base}{CHAT_PATH}", cfg.delay_connections, cfg.delay_duration_s,
                     latency=True)
    cpu = cpu_seconds(server.pid) - cpu0
    lat = result["latency_us"]
    run = {"requests": result["requests"], "rps": result["rps"],
           "wrk_errors": result["errors"],
           "server_cpu_util": cpu / (result["duration_us"] / 1e6),
           "cpu_us_per_request": 1e6 * cpu / max(1, result["requests"]),
           "wrk_ms": {k: lat[k] / 1000 - INJECTED_MS for k in ("p50", "p75", "p90", "p99", "p999")}
           | {"max": lat["max"] / 1000 - INJECTED_MS}}
    return run, result


def bench_delay(cfg: Settings) -> dict[str, Any]:
    fake = fake_server("fake_delay", "--ledger-size", "200000").start()
    bare = bare_server(capture_body(fake), INJECTED_MS, "bare_delay").start()
    try:
        runs, floor = [], []
        for index in range(cfg.delay_runs):
            order = ["fake", "bare"] if index % 2 == 0 else ["bare", "fake"]
            for name in order:
                time.sleep(1.0)
                if name == "bare":
                    run, _ = _delay_run(bare, cfg)
                    run["run"] = index + 1
                    floor.append(run)
                    log(f"(b) run {index + 1} bare floor: p50 +{run['wrk_ms']['p50']:.1f} ms, "
                        f"p99 +{run['wrk_ms']['p99']:.1f} ms")
                    continue
                http_json("POST", f"{fake.base}/_chaos/reset")
                http_json("POST", f"{fake.base}/_chaos/script", {"rules": [
                    {"fault": {"kind": "latency", "delay_ms": INJECTED_MS}, "times": None}]})
                run, _ = _delay_run(fake, cfg)
                snapshot = http_json("GET", f"{fake.base}/_chaos/ledger", timeout=60)
                rows = [r for r in snapshot["rows"]
                        if r["finish_s"] is not None and r["status"] == 200]
                errors_ms = [(r["finish_s"] - r["arrival_s"]) * 1000 - INJECTED_MS for r in rows]
                run.update({
                    "run": index + 1,
                    "ledger_rows": len(snapshot["rows"]), "ledger_rows_used": len(rows),
                    "ledger_dropped": snapshot["dropped"],
                    "ledger_ms": {"p50": percentile(errors_ms, 50), "p99": percentile(errors_ms, 99),
                                  "max": max(errors_ms) if errors_ms else float("nan")},
                })
                runs.append(run)
                log(f"(b) run {index + 1} fake: wrk p50 +{run['wrk_ms']['p50']:.1f} ms, "
                    f"p99 +{run['wrk_ms']['p99']:.1f} ms; ledger p50 +{run['ledger_ms']['p50']:.2f} "
                    f"ms, p99 +{run['ledger_ms']['p99']:.2f} ms; {run['rps']:.0f} req/s")
        return {
            "wrk": f"-t1 -c{cfg.delay_connections} -d{cfg.delay_duration_s}s --latency",
            "injected_ms": INJECTED_MS,
            "ideal_rps": cfg.delay_connections / (INJECTED_MS / 1000),
            "runs": runs,
            "bare_floor_runs": floor,
            "wrk_p50_ms": median([r["wrk_ms"]["p50"] for r in runs]),
            "wrk_p99_ms": median([r["wrk_ms"]["p99"] for r in runs]),
            "ledger_p50_ms": median([r["ledger_ms"]["p50"] for r in runs]),
            "ledger_p99_ms": median([r["ledger_ms"]["p99"] for r in runs]),
            "rps_median": median([r["rps"] for r in runs]),
            "bare_p50_ms": median([r["wrk_ms"]["p50"] for r in floor]),
            "bare_p99_ms": median([r["wrk_ms"]["p99"] for r in floor]),
            "bare_rps_median": median([r["rps"] for r in floor]),
        }
    finally:
        fake.stop()
        bare.stop()


# --------------------------------------------------------------------------------------------
# (c) 1,000 slow streams
# --------------------------------------------------------------------------------------------

@dataclass
class StreamStats:
    opened: int = 0
    open_now: int = 0
    peak_open: int = 0
    completed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    durations: list[float] = field(default_factory=list)
    headers_s: list[float] = field(default_factory=list)
    chunk_counts: Counter[int] = field(default_factory=Counter)
    max_gap_s: list[float] = field(default_factory=list)


class StreamError(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


async def _read_body_chunks(reader: asyncio.StreamReader, headers: dict[str, str], timeout: float):
    """Yield the HTTP body as it arrives (chunked transfer-encoding or until EOF)."""
    if "chunked" in headers.get("transfer-encoding", ""):
        while True:
            size_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout)
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout)
                return
            data = await asyncio.wait_for(reader.readexactly(size + 2), timeout)
            yield data[:-2]
    else:
        while True:
            data = await asyncio.wait_for(reader.read(65536), timeout)
            if not data:
                return
            yield data


async def one_stream(port: int, request: bytes, stats: StreamStats, gap_timeout_s: float) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    writer: asyncio.StreamWriter | None = None
    counted_open = False
    try:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 30)
        except TimeoutError as error:
            raise StreamError("connect_timeout") from error
        except OSError as error:
            raise StreamError(f"connect_{type(error).__name__}") from error
        stats.opened += 1
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        headers = {}
        for line in header_lines:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        if status != 200:
            raise StreamError(f"http_{status}")
        stats.headers_s.append(loop.time() - started)
        stats.open_now += 1
        counted_open = True
        stats.peak_open = max(stats.peak_open, stats.open_now)
        buffer, chunks, finish, done = b"", 0, None, False
        last = loop.time()
        max_gap = 0.0
        async for data in _read_body_chunks(reader, headers, gap_timeout_s):
            now = loop.time()
            max_gap, last = max(max_gap, now - last), now
            buffer += data
            while b"\n\n" in buffer:
                frame, buffer = buffer.split(b"\n\n", 1)
                for line in frame.split(b"\n"):
                    if not line.startswith(b"data: "):
                        continue
                    payload = line[6:]
                    if payload == b"[DONE]":
                        done = True
                        continue
                    try:
                        event = json.loads(payload)
                    except ValueError as error:
                        raise StreamError("bad_json_frame") from error
                    if "error" in event:
                        raise StreamError("error_event")
                    for choice in event.get("choices", []):
                        if choice.get("delta", {}).get("content"):
                            chunks += 1
                        finish = choice.get("finish_reason") or finish
        if not done:
            raise StreamError("incomplete_no_done")
        if finish != "stop":
            raise StreamError(f"finish_reason_{finish}")
        stats.completed += 1
        stats.durations.append(loop.time() - started)
        stats.chunk_counts[chunks] += 1
        stats.max_gap_s.append(max_gap)
    except StreamError as error:
        stats.errors[error.kind] += 1
    except TimeoutError:
        stats.errors["read_timeout"] += 1
    except asyncio.IncompleteReadError:
        stats.errors["incomplete_read"] += 1
    except (ConnectionError, OSError) as error:
        stats.errors[type(error).__name__] += 1
    except Exception as error:
        stats.errors[f"other_{type(error).__name__}"] += 1
    finally:
        if counted_open:
            stats.open_now -= 1
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)


async def run_streams(port: int, count: int, hold_s: float, interval_s: float,
                      admin_base: str) -> tuple[StreamStats, list[dict[str, Any]]]:
    body = json.dumps({**CHAT_REQUEST, "stream": True}).encode()
    request = (f"POST {CHAT_PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
               "Content-Type: application/json\r\nAuthorization: Bearer sk-bench\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    stats = StreamStats()
    samples: list[dict[str, Any]] = []
    tasks = [asyncio.ensure_future(one_stream(port, request, stats, interval_s * 4 + 10))
             for _ in range(count)]
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def sample_server() -> None:
        # the server's in-flight count (rows-free ledger query) every second while streams run
        while True:
            await asyncio.sleep(1.0)
            try:
                snap = await loop.run_in_executor(None, lambda: http_json(
                    "GET", f"{admin_base}/_chaos/ledger?since_id=1000000000", timeout=5))
                samples.append({"t_s": round(loop.time() - started, 2),
                                "server_in_flight": snap["in_flight"],
                                "client_open": stats.open_now})
            except Exception as error:
                samples.append({"t_s": round(loop.time() - started, 2), "error": repr(error)})

    sampler = asyncio.ensure_future(sample_server())
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), hold_s * 3 + 60)
    except TimeoutError:
        unfinished = sum(not t.done() for t in tasks)
        stats.errors["client_deadline"] += unfinished
        for task in tasks:
            task.cancel()
    finally:
        sampler.cancel()
        with contextlib.suppress(BaseException):
            await sampler
    return stats, samples


def probe_chunks(base: str) -> int:
    """Content chunks in one streamed answer to the benchmark prompt (calm: no drip)."""
    status, _, payload = http("POST", f"{base}{CHAT_PATH}", {**CHAT_REQUEST, "stream": True})
    if status != 200:
        raise RuntimeError(f"stream probe got {status}")
    chunks = 0
    for line in payload.split(b"\n"):
        if line.startswith(b"data: {"):
            event = json.loads(line[6:])
            if any(c.get("delta", {}).get("content") for c in event.get("choices", [])):
                chunks += 1
    return chunks


def bench_streams(cfg: Settings) -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    fake = fake_server("fake_streams", "--ledger-size", "20000").start()
    try:
        chunks = probe_chunks(fake.base)
        interval_ms = round(cfg.stream_hold_s * 1000 / max(1, chunks - 1))
        http_json("POST", f"{fake.base}/_chaos/reset")
        http_json("POST", f"{fake.base}/_chaos/script", {"rules": [
            {"match": {"stream": True}, "fault": {"kind": "drip", "chunk_interval_ms": interval_ms},
             "times": None}]})
        log(f"(c) {cfg.streams} streams, {chunks} chunks each at {interval_ms} ms "
            f"(about {(chunks - 1) * interval_ms / 1000:.1f} s per stream)")
        rss_before = fake.rss_mb()
        cpu0 = cpu_seconds(fake.pid)
        wall0 = time.monotonic()
        stats, samples = asyncio.run(run_streams(fake.port, cfg.streams, cfg.stream_hold_s,
                                                 interval_ms / 1000, fake.base))
        wall = time.monotonic() - wall0
        cpu = cpu_seconds(fake.pid) - cpu0
        rss_peak = fake.hwm_mb()
        time.sleep(0.5)
        snapshot = http_json("GET", f"{fake.base}/_chaos/ledger", timeout=60)
        rows = [r for r in snapshot["rows"] if r["stream"]]
        completed_rows = [r for r in rows if r["status"] == 200 and r["finish_s"] is not None
                          and not r["client_gone"]]
        expected_s = (chunks - 1) * interval_ms / 1000
        return {
            "streams": cfg.streams, "chunks_per_stream": chunks, "chunk_interval_ms": interval_ms,
            "expected_stream_s": expected_s,
            "fd_limit": [soft, hard],
            "client": "raw asyncio sockets (one connection per stream, HTTP/1.1 chunked SSE)",
            "opened": stats.opened, "peak_open_client": stats.peak_open,
            "peak_in_flight_server": max((s.get("server_in_flight", 0) for s in samples), default=0),
            "completed": stats.completed,
            "errors": dict(stats.errors), "errors_total": sum(stats.errors.values()),
            "chunk_counts": {str(k): v for k, v in sorted(stats.chunk_counts.items())},
            "headers_p50_ms": percentile(stats.headers_s, 50) * 1000,
            "headers_p99_ms": percentile(stats.headers_s, 99) * 1000,
            "duration_p50_s": percentile(stats.durations, 50),
            "duration_p99_s": percentile(stats.durations, 99),
            "duration_max_s": max(stats.durations, default=float("nan")),
            "max_chunk_gap_p99_ms": percentile(stats.max_gap_s, 99) * 1000,
            "wall_s": wall,
            "server_cpu_util": cpu / wall if wall else float("nan"),
            "server_rss_mb": {"before": rss_before, "peak": rss_peak},
            "ledger": {"stream_rows": len(rows), "completed": len(completed_rows),
                       "by_status": dict(Counter(str(r["status"]) for r in rows)),
                       "client_gone": sum(r["client_gone"] for r in rows),
                       "unfinished": sum(r["finish_s"] is None for r in rows)},
            "in_flight_samples": samples,
        }
    finally:
        fake.stop()


# --------------------------------------------------------------------------------------------
# (d) memory
# --------------------------------------------------------------------------------------------

def served_count(base: str) -> int:
    """Requests the server has numbered so far (one more request reads x-request-id)."""
    _, headers, _ = http("POST", f"{base}{CHAT_PATH}", CHAT_REQUEST)
    request_id = {k.lower(): v for k, v in headers.items()}.get("x-request-id", "req_0")
    return int(request_id.removeprefix("req_"))


def bench_memory(cfg: Settings) -> dict[str, Any]:
    fake = fake_server("fake_memory").start()
    try:
        points = [{"requests": 0, "rss_mb": fake.rss_mb()}]
        rate = 1500.0  # first guess, refined from each wrk run
        served = 0
        deadline = time.monotonic() + 300
        for checkpoint in cfg.mem_checkpoints:
            while served < checkpoint and time.monotonic() < deadline:
                remaining = checkpoint - served
                duration = max(1.0, remaining / rate * 1.15 + 0.5)
                result = run_wrk(f"{fake.base}{CHAT_PATH}", cfg.mem_connections, duration,
                                 max_requests=remaining)
                if 0 < result["requests"] < remaining:  # ran the whole duration: an exact rate
                    rate = max(200.0, result["rps"])
                served = served_count(fake.base)
            time.sleep(1.0)
            points.append({"requests": served, "rss_mb": fake.rss_mb(), "hwm_mb": fake.hwm_mb()})
            log(f"(d) after {served:,} requests: RSS {points[-1]['rss_mb']:.1f} MB")
        first = next(p for p in points if p["requests"] >= cfg.mem_checkpoints[0])
        last = points[-1]
        ring = next((p for p in points if p["requests"] >= 10_000), None)
        return {
            "wrk": f"-t1 -c{cfg.mem_connections}",
            "ledger_capacity": 10_000,
            "points": points,
            "first": first, "last": last,
            "rss_ratio": last["rss_mb"] / first["rss_mb"],
            "rss_growth_mb": last["rss_mb"] - first["rss_mb"],
            "rss_ratio_after_ring_full": (last["rss_mb"] / ring["rss_mb"]) if ring and ring is not last
            else None,
        }
    finally:
        fake.stop()


# --------------------------------------------------------------------------------------------
# profiling (--profile)
# --------------------------------------------------------------------------------------------

GC_FRAME = "gc_collect_main"


def _split_frame(frame: str) -> tuple[str, str]:
    """py-spy's "func (path/file.py:123)" -> ("func", "path/file.py")."""
    name, _, where = frame.rpartition(" (")
    if not name:
        return frame, ""
    return name, where.rstrip(")").rsplit(":", 1)[0]


def _is_python(where: str) -> bool:
    return where.endswith(".py") or where.startswith(("<frozen", "<string>"))


def summarize_collapsed(path: Path, cpu_us_per_request: float, top: int = 25) -> dict[str, Any]:
    """Shares of the busy samples from py-spy's raw (collapsed) output.

    inclusive: per Python function, samples with it anywhere on the stack (fake_llm only);
    exclusive: per sample, the garbage collector if gc_collect_main is on the stack, else the
    innermost Python function (native frames folded into their Python caller).
    """
    inclusive: Counter[str] = Counter()
    exclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_split_frame(f) for f in stack.split(";")]
        keys = [f"{where}:{name}" for name, where in frames if _is_python(where)]
        for key in set(keys):
            inclusive[key] += count
        if any(name == GC_FRAME for name, _ in frames):
            exclusive["(garbage collector: gc_collect_main)"] += count
        else:
            exclusive[keys[-1] if keys else "(native, no Python frame)"] += count

    def rows(counter: Counter[str], keep: Any) -> list[dict[str, Any]]:
        out = []
        for key, count in counter.most_common():
            share = count / total if total else 0.0
            if keep(key, share):
                out.append({"function": key, "share": share,
                            "us_per_request": share * cpu_us_per_request})
            if len(out) >= top:
                break
        return out

    return {"samples": total, "cpu_us_per_request": cpu_us_per_request,
            "gc_share": exclusive["(garbage collector: gc_collect_main)"] / total if total else 0.0,
            "inclusive_fake_llm": rows(inclusive, lambda k, sh: "fake_llm/" in k and sh < 0.98),
            "exclusive": rows(exclusive, lambda k, sh: True)}


def profile_server(server: Server, name: str, seconds: int, connections: int) -> dict[str, Any]:
    """py-spy (with native frames, so the garbage collector shows) while wrk loads the server."""
    out = RESULTS_DIR / f"profile_{name}.collapsed.txt"
    out.unlink(missing_ok=True)
    spy = subprocess.Popen(["taskset", "-c", LOAD_CORE, "py-spy", "record", "--native",
                            "--pid", str(server.pid), "--duration", str(seconds), "--rate", "200",
                            "--format", "raw", "--output", str(out)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    cpu0 = cpu_seconds(server.pid)
    result = run_wrk(f"{server.base}{CHAT_PATH}", connections, seconds)
    cpu = cpu_seconds(server.pid) - cpu0
    try:
        spy.wait(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait(timeout=5)
    if not out.exists():
        return {"skipped": "py-spy wrote nothing (is ptrace permitted?)"}
    summary = summarize_collapsed(out, 1e6 * cpu / max(1, result["requests"]))
    summary.update({"rps_while_sampled": result["rps"],
                    "collapsed_stacks": str(out.relative_to(ROOT)),
                    "server_cpu_util": cpu / (result["duration_us"] / 1e6)})
    return summary


def gc_accounting(server: Server, out: Path, seconds: int, connections: int) -> dict[str, Any]:
    """Garbage-collector pauses during one wrk run, from bench/gc_probe.py (no profiler attached)."""
    os.kill(server.pid, signal.SIGUSR1)
    time.sleep(0.3)
    cpu0 = cpu_seconds(server.pid)
    result = run_wrk(f"{server.base}{CHAT_PATH}", connections, seconds, latency=True)
    cpu = cpu_seconds(server.pid) - cpu0
    out.unlink(missing_ok=True)
    os.kill(server.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.2)
    stats = json.loads(out.read_text())
    gc_ms = sum(g["cpu_ms"] for g in stats["gen"].values())
    requests = max(1, result["requests"])
    return {"rps": result["rps"], "requests": result["requests"],
            "cpu_us_per_request": 1e6 * cpu / requests,
            "gc_us_per_request": 1000 * gc_ms / requests,
            "gc_share_of_cpu": (gc_ms / 1000) / cpu if cpu else float("nan"),
            "p50_ms": result["latency_us"]["p50"] / 1000, "p99_ms": result["latency_us"]["p99"] / 1000,
            "generations": stats["gen"], "tracked_objects_after": stats["tracked_objects"]}


def bench_profile(cfg: Settings) -> dict[str, Any]:
    port = free_port()
    gc_out = RESULTS_DIR / "gc_probe.json"
    fake = Server("fake_profile", [sys.executable, str(BENCH / "gc_probe.py"), str(gc_out), "serve",
                                   "--host", HOST, "--port", str(port), "--profile", "calm",
                                   "--seed", "0", "--ledger-size", "200000"], port).start()
    bare = bare_server(capture_body(fake)).start()
    try:
        found: dict[str, Any] = {}
        log(f"profile: garbage-collector accounting, {cfg.profile_s} s calm c{cfg.tp_connections} "
            f"then {cfg.profile_s} s latency {INJECTED_MS:.0f} ms c{cfg.delay_connections}")
        run_wrk(f"{fake.base}{CHAT_PATH}", cfg.tp_connections, 2)  # warm-up
        found["gc_calm"] = gc_accounting(fake, gc_out, cfg.profile_s, cfg.tp_connections)
        http_json("POST", f"{fake.base}/_chaos/script", {"rules": [
            {"fault": {"kind": "latency", "delay_ms": INJECTED_MS}, "times": None}]})
        found["gc_latency250"] = gc_accounting(fake, gc_out, cfg.profile_s, cfg.delay_connections)
        http_json("POST", f"{fake.base}/_chaos/reset")
        if shutil.which("py-spy"):
            log(f"profile: py-spy --native on fake and bare, calm c{cfg.tp_connections}, "
                f"{cfg.profile_s} s each")
            found["pyspy_fake_calm"] = profile_server(fake, "fake_calm", cfg.profile_s,
                                                      cfg.tp_connections)
            found["pyspy_bare"] = profile_server(bare, "bare", cfg.profile_s, cfg.tp_connections)
        else:
            found["pyspy"] = {"skipped": "py-spy is not installed (pip install py-spy)"}
        return found
    finally:
        fake.stop()
        bare.stop()


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------

def judge(name: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    op, goal = TARGETS[name]
    ok = value >= goal if op == ">=" else value <= goal
    return "MET" if ok else "MISSED"


def _profile_row(row: dict[str, Any]) -> str:
    return f"        {row['share']:>6.1%} {row['us_per_request']:>5.0f} us  {row['function']}"


def report(results: dict[str, Any]) -> str:
    out: list[str] = []
    meta = results["meta"]
    out.append(f"fake_llm benchmark ({meta['mode']}), {meta['started']}; python {meta['python']}, "
               f"uvicorn {meta['uvicorn']} ({meta['http_protocol']}, asyncio loop: {meta['loop']}), "
               f"wrk {meta['wrk']}; server on core {SERVER_CORE}, load on core {LOAD_CORE}; "
               f"load average at start {meta['loadavg_start']}, CPU pressure at start "
               f"{meta['cpu_pressure_start']}, at end {meta.get('cpu_pressure_end', 'n/a')}")
    if tp := results.get("throughput"):
        out.append("")
        out.append(f"(a) Throughput, non-streamed, profile calm as shipped, wrk {tp['wrk']}, "
                   f"{len(tp['rounds'])} interleaved round(s); body {tp['body_bytes']['fake']} B "
                   f"(fake) vs {tp['body_bytes']['bare']} B (bare)")
        out.append(f"    {'round':<7}{'fake req/s':>11}{'bare req/s':>11}{'ratio':>7}"
                   f"{'fake CPU':>10}{'bare CPU':>10}{'fake us/req':>13}{'bare us/req':>13}"
                   f"{'CPU ratio':>11}{'fake p99':>10}{'bare p99':>10}")
        for r in tp["rounds"]:
            f, b = r["fake"], r["bare"]
            out.append(f"    {r['round']:<7}{f['rps']:>11,.0f}{b['rps']:>11,.0f}{r['ratio']:>7.3f}"
                       f"{f['server_cpu_util']:>10.0%}{b['server_cpu_util']:>10.0%}"
                       f"{f['cpu_us_per_request']:>13.0f}{b['cpu_us_per_request']:>13.0f}"
                       f"{b['cpu_us_per_request'] / f['cpu_us_per_request']:>11.3f}"
                       f"{f['p99_ms']:>10.1f}{b['p99_ms']:>10.1f}")
        out.append(f"    {'median':<7}{tp['fake_rps_median']:>11,.0f}{tp['bare_rps_median']:>11,.0f}"
                   f"{tp['ratio_median_of_rounds']:>7.3f}{'':>20}"
                   f"{tp['fake_cpu_us_per_request_median']:>13.0f}"
                   f"{tp['bare_cpu_us_per_request_median']:>13.0f}"
                   f"{tp['cpu_ratio_median_of_rounds']:>11.3f}")
        out.append("    (CPU = server CPU time / wall time: under 100 % at this load means another process "
                   "had core 0; us/req = server CPU microseconds per request; CPU ratio = bare us/req / "
                   "fake us/req, the ratio with the core to themselves; p99 in ms)")
        errors = sum(r["fake"]["errors"] + r["bare"]["errors"] for r in tp["rounds"])
        out.append(f"    wrk errors (socket + non-2xx) over all rounds: {errors}")
    if dl := results.get("delay"):
        out.append("")
        out.append(f"(b) Delay fidelity: scripted latency {dl['injected_ms']:.0f} ms on every request, "
                   f"wrk {dl['wrk']}; error = observed - {dl['injected_ms']:.0f} ms. 'bare floor' = "
                   "bare_server.py doing asyncio.sleep(0.25), same wrk, interleaved")
        out.append(f"    {'run':<13}{'req/s':>7}{'wrk p50':>9}{'wrk p90':>9}{'wrk p99':>9}"
                   f"{'wrk max':>9}{'ledger p50':>12}{'ledger p99':>12}{'ledger max':>12}"
                   f"{'CPU':>6}{'us/req':>8}")
        for r, b in zip(dl["runs"], dl["bare_floor_runs"], strict=False):
            for label, x in ((f"{r['run']} fake", r), (f"{b['run']} bare floor", b)):
                ledger = x.get("ledger_ms")
                cells = (f"{ledger['p50']:>+12.2f}{ledger['p99']:>+12.2f}{ledger['max']:>+12.2f}"
                         if ledger else f"{'':>36}")
                out.append(f"    {label:<13}{x['rps']:>7,.0f}{x['wrk_ms']['p50']:>+9.1f}"
                           f"{x['wrk_ms']['p90']:>+9.1f}{x['wrk_ms']['p99']:>+9.1f}"
                           f"{x['wrk_ms']['max']:>+9.1f}{cells}{x['server_cpu_util']:>6.0%}"
                           f"{x['cpu_us_per_request']:>8.0f}")
        out.append(f"    {'median fake':<13}{dl['rps_median']:>7,.0f}{dl['wrk_p50_ms']:>+9.1f}{'':>9}"
                   f"{dl['wrk_p99_ms']:>+9.1f}{'':>9}{dl['ledger_p50_ms']:>+12.2f}"
                   f"{dl['ledger_p99_ms']:>+12.2f}")
        out.append(f"    {'median bare':<13}{dl['bare_rps_median']:>7,.0f}{dl['bare_p50_ms']:>+9.1f}{'':>9}"
                   f"{dl['bare_p99_ms']:>+9.1f}")
        out.append(f"    (ms columns are errors in ms; ideal rate {dl['ideal_rps']:.0f} req/s = "
                   f"{dl['wrk'].split()[1][2:]} connections / 0.25 s; ledger = finish_s - arrival_s - 0.25, "
                   "where arrival_s is when the request's bytes reached the server)")
    if st := results.get("streams"):
        out.append("")
        out.append(f"(c) {st['streams']:,} concurrent slow streams (drip: {st['chunks_per_stream']} chunks "
                   f"at {st['chunk_interval_ms']} ms, {st['expected_stream_s']:.1f} s each), "
                   f"{st['client']}")
        out.append(f"    completed {st['completed']:,} / {st['streams']:,}; errors {st['errors_total']} "
                   f"{json.dumps(st['errors']) if st['errors'] else ''}")
        out.append(f"    peak open at once: client {st['peak_open_client']:,}, server in-flight "
                   f"{st['peak_in_flight_server']:,}; content chunks per stream {st['chunk_counts']}")
        out.append(f"    stream time p50 {st['duration_p50_s']:.2f} s, p99 {st['duration_p99_s']:.2f} s, "
                   f"max {st['duration_max_s']:.2f} s (expected {st['expected_stream_s']:.2f} s); "
                   f"headers p50 {st['headers_p50_ms']:.0f} ms, p99 {st['headers_p99_ms']:.0f} ms; "
                   f"worst chunk gap p99 {st['max_chunk_gap_p99_ms']:.0f} ms")
        lg = st["ledger"]
        out.append(f"    server ledger: {lg['stream_rows']:,} stream rows, {lg['completed']:,} completed, "
                   f"by status {lg['by_status']}, client_gone {lg['client_gone']}, "
                   f"unfinished {lg['unfinished']}; server CPU {st['server_cpu_util']:.0%}, "
                   f"RSS {st['server_rss_mb']['before']:.0f} -> peak {st['server_rss_mb']['peak']:.0f} MB")
    if mem := results.get("memory"):
        out.append("")
        out.append(f"(d) Server memory (VmRSS), ledger ring of {mem['ledger_capacity']:,} rows, "
                   f"wrk {mem['wrk']}")
        out.append(f"    {'requests':>10}{'RSS MB':>10}{'ratio to first':>16}")
        for p in mem["points"]:
            ratio = p["rss_mb"] / mem["first"]["rss_mb"]
            out.append(f"    {p['requests']:>10,}{p['rss_mb']:>10.1f}{ratio:>16.3f}")
        extra = (f"; after the ring is full: x{mem['rss_ratio_after_ring_full']:.3f}"
                 if mem.get("rss_ratio_after_ring_full") else "")
        out.append(f"    {mem['last']['requests']:,} vs {mem['first']['requests']:,} requests: "
                   f"x{mem['rss_ratio']:.3f} ({mem['rss_growth_mb']:+.1f} MB){extra}")
    out.append("")
    out.append("Targets")
    out.append(f"    {'target':<42}{'measured':>11}{'goal':>12}  {'status':<8}note")
    for row in results["targets"]:
        out.append(f"    {row['name']:<42}{row['display']:>11}{row['goal']:>12}  {row['status']:<8}"
                   f"{row.get('note', '')}")
    if prof := results.get("profile"):
        out.append("")
        out.append("Profile: garbage collector (bench/gc_probe.py wraps `fake_llm serve`, "
                   "no profiler attached)")
        for name in ("gc_calm", "gc_latency250"):
            if g := prof.get(name):
                gens = "; ".join(f"gen{k}: {v['collections']} runs, max {v['max_wall_ms']:.0f} ms, "
                                 f"{v['collected']:,} freed" for k, v in g["generations"].items())
                out.append(f"    {name}: {g['rps']:,.0f} req/s, {g['cpu_us_per_request']:.0f} us CPU/req, "
                           f"GC {g['gc_us_per_request']:.0f} us/req = {g['gc_share_of_cpu']:.0%} of "
                           f"server CPU; {gens}")
        for name in ("pyspy_fake_calm", "pyspy_bare", "pyspy"):
            summary = prof.get(name)
            if not summary:
                continue
            if "skipped" in summary:
                out.append(f"    {name}: skipped: {summary['skipped']}")
                continue
            out.append(f"    {name}: py-spy --native, {summary['samples']} samples, "
                       f"{summary['rps_while_sampled']:,.0f} req/s while sampled, "
                       f"{summary['cpu_us_per_request']:.0f} us CPU/req (inflated by sampling), "
                       f"server CPU {summary['server_cpu_util']:.0%}")
            out.append("      exclusive (GC, else innermost Python function):")
            for row in summary["exclusive"][:14]:
                out.append(_profile_row(row))
            if name != "pyspy_bare":
                out.append("      inclusive, fake_llm functions:")
                for row in summary["inclusive_fake_llm"][:14]:
                    out.append(_profile_row(row))
    return "\n".join(out)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []

    def add(name: str, label: str, value: float | None, display: str, goal: str,
            note: str = "") -> None:
        rows.append({"name": label, "key": name, "value": value, "display": display, "goal": goal,
                     "status": judge(name, value), "note": note})

    if tp := results.get("throughput"):
        v = tp["ratio_median_of_rounds"]
        each = ", ".join(f"{r['ratio']:.2f}" for r in tp["rounds"])
        add("throughput_ratio", "(a) throughput fake / bare (median)", v, f"{v:.3f}", ">= 0.5",
            f"rounds {each}; CPU-time ratio "
            f"{tp['cpu_ratio_median_of_rounds']:.3f} ({tp['fake_cpu_us_per_request_median']:.0f} vs "
            f"{tp['bare_cpu_us_per_request_median']:.0f} us/req)")
    if dl := results.get("delay"):
        v = dl["wrk_p99_ms"]
        add("p99_delay_error_ms", "(b) p99 delay error at 200 conns (wrk)", v, f"{v:+.1f} ms",
            "<= 30 ms", f"p50 {dl['wrk_p50_ms']:+.1f} ms; ledger p99 {dl['ledger_p99_ms']:+.1f} ms; "
                        f"bare floor p99 {dl['bare_p99_ms']:+.1f} ms")
    if st := results.get("streams"):
        v = st["errors_total"] + (st["streams"] - st["completed"] - st["errors_total"])
        add("stream_errors", f"(c) errors among {st['streams']:,} slow streams", v, str(v), "0",
            f"{st['completed']:,} completed; ledger {st['ledger']['completed']:,} completed")
    if mem := results.get("memory"):
        v = mem["rss_ratio"]
        after = mem.get("rss_ratio_after_ring_full")
        add("rss_ratio", f"(d) RSS after {mem['last']['requests']:,} / after "
                         f"{mem['first']['requests']:,}", v, f"x{v:.3f}", "~1 (<=1.1)",
            f"{mem['first']['rss_mb']:.1f} -> {mem['last']['rss_mb']:.1f} MB"
            + (f"; x{after:.3f} once the 10k-row ledger ring is full" if after else ""))
    return rows


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (about a minute)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile the fake and bare servers with py-spy (if installed)")
    parser.add_argument("--only", default="abcd",
                        help="which parts to run, e.g. 'ab' (default: abcd)")
    parser.add_argument("--output", type=Path, default=RESULTS_JSON)
    args = parser.parse_args()
    cfg = QUICK if args.quick else FULL

    if os.cpu_count() is None or os.cpu_count() < 2:  # type: ignore[operator]
        raise SystemExit("needs 2 cores (server on core 0, load on core 1)")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    os.sched_setaffinity(0, {int(LOAD_CORE)})  # this script (and the stream client) on the load core
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # inherited by the servers too
    wrk_path = ensure_wrk()

    budget_s = cfg.budget_s + (300 if args.profile else 0)

    def watchdog(signum: int, frame: Any) -> None:
        raise TimeoutError(f"the benchmark ran past its {budget_s} s budget")

    signal.signal(signal.SIGALRM, watchdog)
    def terminated(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    signal.signal(signal.SIGTERM, terminated)
    signal.alarm(budget_s)

    import uvicorn

    wrk_version = subprocess.run([wrk_path, "--version"], capture_output=True, text=True,
                                 timeout=10).stdout.split("[")[0].replace("wrk", "").strip()
    results: dict[str, Any] = {"meta": {
        "mode": cfg.mode, "started": dt.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(), "uvicorn": uvicorn.__version__,
        "http_protocol": http_protocol(), "loop": "uvloop" if _has("uvloop") else "asyncio",
        "wrk": wrk_version, "cores": os.cpu_count(), "loadavg_start": loadavg(),
        "cpu_pressure_start": cpu_pressure(),
        "settings": cfg.__dict__,
        "request": CHAT_REQUEST,
    }}
    t0 = time.monotonic()
    try:
        parts = [("a", "throughput", bench_throughput), ("b", "delay", bench_delay),
                 ("c", "streams", bench_streams), ("d", "memory", bench_memory)]
        for letter, key, fn in parts:
            if letter in args.only:
                log(f"({letter}) {key} ...")
                started = time.monotonic()
                try:
                    results[key] = fn(cfg)
                except (Exception, TimeoutError) as error:  # one part's failure is reported, not fatal
                    if isinstance(error, TimeoutError) and "budget" in str(error):
                        raise
                    log(f"({letter}) FAILED: {error!r}")
                    results.setdefault("failures", {})[key] = repr(error)
                log(f"({letter}) took {time.monotonic() - started:.0f} s")
        if args.profile:
            results["profile"] = bench_profile(cfg)
    finally:
        signal.alarm(0)
        stop_all()
    results["meta"]["elapsed_s"] = round(time.monotonic() - t0, 1)
    results["meta"]["loadavg_end"] = loadavg()
    results["meta"]["cpu_pressure_end"] = cpu_pressure()
    results["targets"] = targets(results)
    table = report(results)
    if failures := results.get("failures"):
        table += "\n\nFAILED parts: " + json.dumps(failures)
    table += f"\n\nelapsed {results['meta']['elapsed_s']:.0f} s; JSON: {args.output}"
    print(table, flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1, default=str) + "\n")
    return 1 if results.get("failures") else 0


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        stop_all()
