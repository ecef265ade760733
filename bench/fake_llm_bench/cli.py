"""The command line: parse the options, prepare the machine, run the parts, print and save."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench.fake_llm_bench as package
from bench.fake_llm_bench.common import (
    CHAT_REQUEST,
    FULL,
    LOAD_CORE,
    QUICK,
    RESULTS_DIR,
    RESULTS_JSON,
    Settings,
    cpu_pressure,
    loadavg,
    log,
)
from bench.fake_llm_bench.delay import bench_delay
from bench.fake_llm_bench.memory import bench_memory
from bench.fake_llm_bench.profiling import bench_profile
from bench.fake_llm_bench.report import report, targets
from bench.fake_llm_bench.servers import http_protocol, stop_all
from bench.fake_llm_bench.streams import bench_streams
from bench.fake_llm_bench.throughput import bench_throughput
from bench.fake_llm_bench.wrk import ensure_wrk

PARTS: tuple[tuple[str, str, Callable[[Settings], dict[str, Any]]], ...] = (
    ("a", "throughput", bench_throughput), ("b", "delay", bench_delay),
    ("c", "streams", bench_streams), ("d", "memory", bench_memory))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(package.__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (about a minute)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile the fake and bare servers with py-spy (if installed)")
    parser.add_argument("--only", default="abcd",
                        help="which parts to run, e.g. 'ab' (default: abcd)")
    parser.add_argument("--output", type=Path, default=RESULTS_JSON)
    return parser.parse_args(argv)


def prepare_machine() -> str:
    """Check the cores, pin this script on the load core, raise the file limit; returns wrk's path."""
    if os.cpu_count() is None or os.cpu_count() < 2:  # type: ignore[operator]
        raise SystemExit("needs 2 cores (server on core 0, load on core 1)")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    os.sched_setaffinity(0, {int(LOAD_CORE)})  # this script (and the stream client) on the load core
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # inherited by the servers too
    return ensure_wrk()


def arm_watchdog(budget_s: int) -> None:
    """SIGALRM past the budget stops the run; SIGTERM stops it like Ctrl-C (servers stopped)."""

    def watchdog(signum: int, frame: Any) -> None:
        raise TimeoutError(f"the benchmark ran past its {budget_s} s budget")

    def terminated(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    signal.signal(signal.SIGALRM, watchdog)
    signal.signal(signal.SIGTERM, terminated)
    signal.alarm(budget_s)


def run_meta(cfg: Settings, wrk_path: str) -> dict[str, Any]:
    import uvicorn

    wrk_version = subprocess.run([wrk_path, "--version"], capture_output=True, text=True,
                                 timeout=10).stdout.split("[")[0].replace("wrk", "").strip()
    return {
        "mode": cfg.mode, "started": dt.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(), "uvicorn": uvicorn.__version__,
        "http_protocol": http_protocol(), "loop": "uvloop" if _has("uvloop") else "asyncio",
        "wrk": wrk_version, "cores": os.cpu_count(), "loadavg_start": loadavg(),
        "cpu_pressure_start": cpu_pressure(),
        "settings": cfg.__dict__,
        "request": CHAT_REQUEST,
    }


def run_parts(cfg: Settings, only: str, results: dict[str, Any]) -> None:
    """Run the chosen parts; one part's failure is reported in ``failures``, not fatal."""
    for letter, key, fn in PARTS:
        if letter not in only:
            continue
        log(f"({letter}) {key} ...")
        started = time.monotonic()
        try:
            results[key] = fn(cfg)
        except (Exception, TimeoutError) as error:
            if isinstance(error, TimeoutError) and "budget" in str(error):
                raise
            log(f"({letter}) FAILED: {error!r}")
            results.setdefault("failures", {})[key] = repr(error)
        log(f"({letter}) took {time.monotonic() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = QUICK if args.quick else FULL
    wrk_path = prepare_machine()
    arm_watchdog(cfg.budget_s + (300 if args.profile else 0))
    results: dict[str, Any] = {"meta": run_meta(cfg, wrk_path)}
    t0 = time.monotonic()
    try:
        run_parts(cfg, args.only, results)
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
