"""(d) Server memory (VmRSS) as requests pile up past the ledger's ring."""

from __future__ import annotations

import time
from typing import Any

from bench.fake_llm_bench.common import CHAT_PATH, CHAT_REQUEST, Settings, http, log
from bench.fake_llm_bench.servers import fake_server
from bench.fake_llm_bench.wrk import run_wrk


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
