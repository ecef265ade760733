"""--profile: garbage-collector accounting (bench/gc_probe.py) and py-spy profiles."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.fake_llm_bench.common import (
    BENCH,
    CHAT_PATH,
    HOST,
    INJECTED_MS,
    LOAD_CORE,
    RESULTS_DIR,
    ROOT,
    Settings,
    cpu_seconds,
    free_port,
    http_json,
    log,
)
from bench.fake_llm_bench.servers import Server, bare_server, capture_body
from bench.fake_llm_bench.wrk import run_wrk

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
