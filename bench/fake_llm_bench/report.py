"""The printed table and the targets, from a run's results."""

from __future__ import annotations

import json
import math
from typing import Any

from bench.fake_llm_bench.common import LOAD_CORE, SERVER_CORE, TARGETS


def judge(name: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    op, goal = TARGETS[name]
    ok = value >= goal if op == ">=" else value <= goal
    return "MET" if ok else "MISSED"


def _profile_row(row: dict[str, Any]) -> str:
    return f"        {row['share']:>6.1%} {row['us_per_request']:>5.0f} us  {row['function']}"


def _meta_lines(meta: dict[str, Any]) -> list[str]:
    out: list[str] = []
    out.append(f"fake_llm benchmark ({meta['mode']}), {meta['started']}; python {meta['python']}, "
               f"uvicorn {meta['uvicorn']} ({meta['http_protocol']}, asyncio loop: {meta['loop']}), "
               f"wrk {meta['wrk']}; server on core {SERVER_CORE}, load on core {LOAD_CORE}; "
               f"load average at start {meta['loadavg_start']}, CPU pressure at start "
               f"{meta['cpu_pressure_start']}, at end {meta.get('cpu_pressure_end', 'n/a')}")
    return out


def _throughput_lines(tp: dict[str, Any]) -> list[str]:
    """(a) throughput."""
    out: list[str] = []
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
    return out


def _delay_lines(dl: dict[str, Any]) -> list[str]:
    """(b) delay fidelity."""
    out: list[str] = []
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
    return out


def _streams_lines(st: dict[str, Any]) -> list[str]:
    """(c) slow streams."""
    out: list[str] = []
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
    return out


def _memory_lines(mem: dict[str, Any]) -> list[str]:
    """(d) memory."""
    out: list[str] = []
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
    return out


def _target_lines(rows: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    out.append("")
    out.append("Targets")
    out.append(f"    {'target':<42}{'measured':>11}{'goal':>12}  {'status':<8}note")
    for row in rows:
        out.append(f"    {row['name']:<42}{row['display']:>11}{row['goal']:>12}  {row['status']:<8}"
                   f"{row.get('note', '')}")
    return out


def _profile_lines(prof: dict[str, Any]) -> list[str]:
    """--profile: garbage collector and py-spy."""
    out: list[str] = []
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
    return out


_PARTS = (("throughput", _throughput_lines), ("delay", _delay_lines), ("streams", _streams_lines),
          ("memory", _memory_lines))


def report(results: dict[str, Any]) -> str:
    """The table printed at the end of a run."""
    out = _meta_lines(results["meta"])
    for key, lines in _PARTS:
        if part := results.get(key):
            out += lines(part)
    out += _target_lines(results["targets"])
    if prof := results.get("profile"):
        out += _profile_lines(prof)
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
