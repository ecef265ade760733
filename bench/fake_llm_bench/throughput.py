"""(a) Throughput: non-streamed chat completions per second, the fake against the bare endpoint."""

from __future__ import annotations

import time
from typing import Any

from bench.fake_llm_bench.common import CHAT_PATH, CHAT_REQUEST, Settings, cpu_seconds, http, log, median
from bench.fake_llm_bench.servers import Server, bare_server, capture_body, fake_server
from bench.fake_llm_bench.wrk import run_wrk


def _round(servers: dict[str, Server], cfg: Settings, index: int, order: list[str]) -> dict[str, Any]:
    """One interleaved round: wrk against each server in turn, with its CPU time."""
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
    return row


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
            rounds.append(_round(servers, cfg, index, order))
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
