"""The fake LLM benchmark's package (bench/fake_llm_bench): its report and targets from a run's
results, its percentile and profile summaries, and its command line."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.fake_llm_bench.common import percentile
from bench.fake_llm_bench.profiling import summarize_collapsed
from bench.fake_llm_bench.report import report, targets

ROOT = Path(__file__).parents[1]


def _round(n: int, fake_rps: float, bare_rps: float) -> dict[str, Any]:
    def side(rps: float, us: float) -> dict[str, Any]:
        return {"rps": rps, "requests": int(rps * 10), "errors": 0, "non2xx": 0, "p50_ms": 40.0,
                "p99_ms": 90.0, "server_cpu_s": 9.5, "server_cpu_util": 0.95, "cpu_us_per_request": us}
    return {"round": n, "order": ["fake", "bare"], "fake": side(fake_rps, 170.0),
            "bare": side(bare_rps, 100.0), "ratio": fake_rps / bare_rps}


def _delay_run(n: int, ledger: bool) -> dict[str, Any]:
    run: dict[str, Any] = {"run": n, "requests": 7900, "rps": 790.0, "wrk_errors": {},
                           "server_cpu_util": 0.6, "cpu_us_per_request": 300.0,
                           "wrk_ms": {"p50": 1.5, "p75": 2.0, "p90": 3.0, "p99": 9.5, "p999": 12.0,
                                      "max": 20.0}}
    if ledger:
        run["ledger_ms"] = {"p50": 0.4, "p99": 2.5, "max": 8.0}
    return run


RESULTS: dict[str, Any] = {
    "meta": {"mode": "quick", "started": "2026-01-01T00:00:00", "python": "3.11.7", "uvicorn": "0.30",
             "http_protocol": "httptools", "loop": "asyncio", "wrk": "4.2", "loadavg_start": [1, 1, 1],
             "cpu_pressure_start": "1% (10 s)", "cpu_pressure_end": "2% (10 s)"},
    "throughput": {
        "wrk": "-t1 -c256 -d4s", "body_bytes": {"fake": 600, "bare": 600},
        "rounds": [_round(1, 5000.0, 8000.0), _round(2, 5200.0, 8100.0)],
        "fake_rps_median": 5100.0, "bare_rps_median": 8050.0, "ratio_median_of_rounds": 0.63,
        "fake_cpu_us_per_request_median": 170.0, "bare_cpu_us_per_request_median": 100.0,
        "cpu_ratio_median_of_rounds": 0.59},
    "delay": {"wrk": "-t1 -c200 -d5s --latency", "injected_ms": 250.0, "ideal_rps": 800.0,
              "runs": [_delay_run(1, True)], "bare_floor_runs": [_delay_run(1, False)],
              "wrk_p50_ms": 1.5, "wrk_p99_ms": 9.5, "ledger_p50_ms": 0.4, "ledger_p99_ms": 2.5,
              "rps_median": 790.0, "bare_p50_ms": 1.5, "bare_p99_ms": 9.5, "bare_rps_median": 790.0},
    "streams": {"streams": 1000, "chunks_per_stream": 12, "chunk_interval_ms": 450,
                "expected_stream_s": 4.95, "client": "raw asyncio sockets", "completed": 998,
                "errors": {"read_timeout": 2}, "errors_total": 2, "peak_open_client": 1000,
                "peak_in_flight_server": 1000, "chunk_counts": {"12": 998}, "duration_p50_s": 5.0,
                "duration_p99_s": 5.2, "duration_max_s": 5.4, "headers_p50_ms": 30.0,
                "headers_p99_ms": 200.0, "max_chunk_gap_p99_ms": 480.0, "server_cpu_util": 0.3,
                "server_rss_mb": {"before": 60.0, "peak": 120.0},
                "ledger": {"stream_rows": 1000, "completed": 998, "by_status": {"200": 1000},
                           "client_gone": 2, "unfinished": 0}},
    "memory": {"wrk": "-t1 -c64", "ledger_capacity": 10_000,
               "points": [{"requests": 0, "rss_mb": 60.0}, {"requests": 1000, "rss_mb": 70.0},
                          {"requests": 25000, "rss_mb": 72.0}],
               "first": {"requests": 1000, "rss_mb": 70.0}, "last": {"requests": 25000, "rss_mb": 72.0},
               "rss_ratio": 72 / 70, "rss_growth_mb": 2.0, "rss_ratio_after_ring_full": None},
}


def test_targets_judge_each_part_against_its_goal():
    rows = {row["key"]: row for row in targets(RESULTS)}
    assert rows["throughput_ratio"]["status"] == "MET"  # 0.63 >= 0.5
    assert rows["p99_delay_error_ms"]["status"] == "MET"  # 9.5 <= 30
    assert rows["stream_errors"]["status"] == "MISSED" and rows["stream_errors"]["value"] == 2
    assert rows["rss_ratio"]["status"] == "MET"


def test_report_has_a_section_per_part_and_the_targets():
    text = report({**RESULTS, "targets": targets(RESULTS)})
    for heading in ("(a) Throughput", "(b) Delay fidelity", "(c) 1,000 concurrent slow streams",
                    "(d) Server memory", "Targets"):
        assert heading in text
    assert "completed 998 / 1,000; errors 2" in text
    assert "MISSED" in text


def test_a_part_left_out_is_left_out_of_the_report():
    partial = {"meta": RESULTS["meta"], "memory": RESULTS["memory"]}
    text = report({**partial, "targets": targets(partial)})
    assert "(d) Server memory" in text and "(a) Throughput" not in text


def test_percentile_interpolates_like_numpy():
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    assert math.isnan(percentile([], 50))


def test_summarize_collapsed_counts_the_garbage_collector_and_fake_llm(tmp_path):
    collapsed = tmp_path / "stacks.txt"
    collapsed.write_text(
        "main (a.py:1);handle (fake_llm/app.py:9) 6\n"
        "main (a.py:1);handle (fake_llm/app.py:9);gc_collect_main (gcmodule.c:1) 2\n"
        "main (a.py:1);serve (uvicorn/x.py:3) 2\n")
    summary = summarize_collapsed(collapsed, cpu_us_per_request=100.0)
    assert summary["samples"] == 10 and summary["gc_share"] == pytest.approx(0.2)
    assert summary["inclusive_fake_llm"][0] == {"function": "fake_llm/app.py:handle", "share": 0.8,
                                                "us_per_request": pytest.approx(80.0)}


def test_the_command_line_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "bench.fake_llm_bench", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--quick" in done.stdout and "--only" in done.stdout
