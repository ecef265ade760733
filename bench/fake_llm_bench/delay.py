"""(b) Delay fidelity: how close to a scripted 250 ms the answers come, beside the bare floor."""

from __future__ import annotations

import time
from typing import Any

from bench.fake_llm_bench.common import (
    CHAT_PATH,
    INJECTED_MS,
    Settings,
    cpu_seconds,
    http_json,
    log,
    median,
    percentile,
)
from bench.fake_llm_bench.servers import Server, bare_server, capture_body, fake_server
from bench.fake_llm_bench.wrk import run_wrk


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


def _fake_run(fake: Server, cfg: Settings, index: int) -> dict[str, Any]:
    """One run against the fake with the latency scripted, measured by wrk and by its ledger."""
    http_json("POST", f"{fake.base}/_chaos/reset")
    http_json("POST", f"{fake.base}/_chaos/script", {"rules": [
        {"fault": {"kind": "latency", "delay_ms": INJECTED_MS}, "times": None}]})
    run, _ = _delay_run(fake, cfg)
    snapshot = http_json("GET", f"{fake.base}/_chaos/ledger", timeout=60)
    rows = [r for r in snapshot["rows"] if r["finish_s"] is not None and r["status"] == 200]
    errors_ms = [(r["finish_s"] - r["arrival_s"]) * 1000 - INJECTED_MS for r in rows]
    run.update({
        "run": index + 1,
        "ledger_rows": len(snapshot["rows"]), "ledger_rows_used": len(rows),
        "ledger_dropped": snapshot["dropped"],
        "ledger_ms": {"p50": percentile(errors_ms, 50), "p99": percentile(errors_ms, 99),
                      "max": max(errors_ms) if errors_ms else float("nan")},
    })
    log(f"(b) run {index + 1} fake: wrk p50 +{run['wrk_ms']['p50']:.1f} ms, "
        f"p99 +{run['wrk_ms']['p99']:.1f} ms; ledger p50 +{run['ledger_ms']['p50']:.2f} "
        f"ms, p99 +{run['ledger_ms']['p99']:.2f} ms; {run['rps']:.0f} req/s")
    return run


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
                run = _fake_run(fake, cfg, index)
                runs.append(run)
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
