#!/usr/bin/env python
"""Soak: many mixed user requests to the app under a level's own weather, judged against the truth.

    python bench/soak.py                                   # 300 requests, stormy, seed 1
    python bench/soak.py --apps starter,reference,flawed/no-jitter --level hurricane -n 120

For each app (a solution name: ``starter``, ``reference``, ``flawed/<flaw>``), the script
materializes it, starts a fresh fake LLM (``FakeLLM(profile=level, seed=seed)``, in-process, on
loopback) and the app as a subprocess on a free loopback port, sends the same mix of requests
(``graders.soak.soak_requests``, 8 at a time) and classifies each response with the soak grader's
own rules (``graders.soak``): correct, honest typed error, silently wrong, or server error (a 500,
a crash, no answer in time). Every app meets the same storm: the fake's decisions are a function
of the seed and the requests, not of the app that sends them.

It prints, per app, the count and share of each verdict, then the silently wrong and server error
outcomes broken down by endpoint and by the fault the request met (read from the fake's ledger:
the rows of the request's papers, task and kind within its time window; ``slow`` is a call delayed
by at least 1 s, ``none`` a request that met no fault at all), with a few examples (the JSON
holds every request that was not answered correctly). Results go to
bench/results/soak.json.

Target (the soak issue): the reference has no silently wrong answer, no server error and at least
95% correct. Exit status 1 when a graded ``reference`` misses it, else 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fake_llm.runner import FakeLLM  # noqa: E402
from faultfirst.solutions import materialize  # noqa: E402
from graders.soak import (  # noqa: E402
    CONCURRENCY,
    CORRECT,
    HONEST,
    KINDS,
    PATHS,
    SERVER,
    VERDICTS,
    WRONG,
    SoakReport,
    SoakRequest,
    run_soak,
    soak_requests,
)

RESULTS = ROOT / "bench" / "results" / "soak.json"
STARTUP_LIMIT_S = 30.0
SLOW_CALL_MS = 1000.0
WINDOW_MARGIN_S = 0.05
TARGET_CORRECT = 0.95
TASKS = {"summary": "summary", "batch": "summary", "stream": "summary", "extraction": "extract",
         "answer": "answer"}
LABELS = {CORRECT: "correct", HONEST: "honest error", WRONG: "silently wrong", SERVER: "server error"}


# --- the app -------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_app(folder: Path, fake: FakeLLM, log_path: Path) -> Iterator[str]:
    """The app in ``folder`` as a subprocess talking to ``fake``; yields its base URL."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("LLM_")}
    env.update({"LLM_BASE_URL": fake.openai_base_url, "LLM_FALLBACK_BASE_URL": fake.anthropic_base_url,
                "LLM_API_KEY": "soak-key", "LLM_FALLBACK_API_KEY": "soak-key",
                "LLM_MODEL": "sim-gpt-large", "LLM_FALLBACK_MODEL": "sim-claude-large",
                "PYTHONPATH": str(folder)})
    argv = [sys.executable, "-m", "litreview", "--port", str(port), "--log-level", "warning"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_healthy(base_url, process)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_healthy(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with status {process.returncode} before it was healthy")
        try:
            if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the app was not healthy within {STARTUP_LIMIT_S:g} s")


# --- which faults a request met ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Window:
    """When a request was in flight, on the fake's ledger clock."""

    start_s: float
    end_s: float


def timed_soak(base_url: str, requests: Sequence[SoakRequest], fake: FakeLLM,
               concurrency: int) -> tuple[SoakReport, list[Window]]:
    """run_soak, plus each request's time window on the ledger clock (for fault attribution).

    run_soak hands the requests of each weather leg, in order, to ``concurrency`` worker threads,
    each taking the next one as soon as it is free, and starts a leg when the last one is done;
    replaying that schedule with each response's elapsed time gives each request's window, up to
    the threads' own overhead (a few ms, covered by a margin).
    """
    origin = fake.admin.ledger_snapshot(since_id=2**62)["now_s"] - time.monotonic()
    started_s = time.monotonic() + origin
    report = run_soak(base_url, requests, concurrency, weather=fake.admin)
    windows = []
    for leg in report.legs:  # a leg starts when the last one has every answer
        free_at = [started_s] * concurrency
        for outcome in report.outcomes[leg.first:leg.stop]:
            start_s = heapq.heappop(free_at)
            end_s = start_s + outcome.response.elapsed_s
            heapq.heappush(free_at, end_s)
            windows.append(Window(start_s - WINDOW_MARGIN_S, end_s + WINDOW_MARGIN_S))
        started_s = max(free_at)
    return report, windows


def faults_met(request: SoakRequest, rows: Sequence[dict[str, Any]], window: Window) -> set[str]:
    """The fault kinds of the ledger rows that belong to ``request`` ('slow' for a delay of 1 s+)."""
    task = TASKS[request.kind]
    ids = request.body.get("paper_ids") or [request.body.get("paper_id")]
    met: set[str] = set()
    for row in rows:
        if row.get("task") != task or bool(row.get("stream")) != (request.kind == "stream"):
            continue
        if not window.start_s <= float(row["arrival_s"]) <= window.end_s:
            continue
        papers = set(row.get("paper_ids") or [])
        mine = papers <= set(ids) if request.kind == "batch" else papers == set(ids)
        if not mine or not papers:
            continue
        met.update(kind for kind in str(row.get("fault") or "none").split("+") if kind != "none")
        if float(row.get("delay_ms") or 0.0) >= SLOW_CALL_MS:
            met.add("slow")
    return met or {"none"}


# --- one app -------------------------------------------------------------------------------------

def soak_app(name: str, level: str, seed: int, n: int, concurrency: int, work: Path) -> dict[str, Any]:
    """Soak one solution; the JSON-ready summary of its outcomes."""
    folder = materialize(name, work / name.replace("/", "-"))
    requests = soak_requests(n, seed)
    with FakeLLM(profile=level, seed=seed, ledger_capacity=200_000) as fake, \
            running_app(folder, fake, work / f"{name.replace('/', '-')}.log") as base_url:
        started = time.monotonic()
        report, windows = timed_soak(base_url, requests, fake, concurrency)
        elapsed_s = time.monotonic() - started
        rows = fake.admin.ledger()
    by_kind: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    by_fault: dict[str, Counter[str]] = {}
    examples: dict[str, list[dict[str, Any]]] = {HONEST: [], WRONG: [], SERVER: []}
    for outcome, window in zip(report.outcomes, windows, strict=True):
        by_kind[outcome.request.kind][outcome.verdict] += 1
        if outcome.verdict == CORRECT:
            continue
        met = faults_met(outcome.request, rows, window)
        for fault in met:
            by_fault.setdefault(fault, Counter())[outcome.verdict] += 1
        examples[outcome.verdict].append({"kind": outcome.request.kind, "body": outcome.request.body,
                                          "faults": sorted(met), "reason": outcome.reason})
    injected = Counter(kind for row in rows for kind in str(row.get("fault") or "none").split("+"))
    return {
        "app": name, "requests": n, "elapsed_s": round(elapsed_s, 1), "counts": report.counts,
        "shares": {v: round(report.counts[v] / n, 4) for v in VERDICTS},
        "by_endpoint": {kind: {v: counts[v] for v in VERDICTS} for kind, counts in by_kind.items()},
        "not_correct_by_fault": {
            fault: {HONEST: c[HONEST], WRONG: c[WRONG], SERVER: c[SERVER]}
            for fault, c in sorted(by_fault.items(), key=lambda kv: (-kv[1][WRONG] - kv[1][SERVER],
                                                                    -kv[1][HONEST], kv[0]))},
        "model_calls": len(rows), "faults_injected": dict(injected.most_common()),
        "examples": examples,
    }


# --- report --------------------------------------------------------------------------------------

def render(result: dict[str, Any], level: str, seed: int, concurrency: int) -> str:
    n = result["requests"]
    lines = [f"{result['app']}  ({level}, seed {seed}, {n} requests, {concurrency} at a time, "
             f"{result['elapsed_s']:.0f} s, {result['model_calls']} model calls)",
             f"  {'verdict':<16}{'count':>7}{'share':>9}"]
    for verdict in VERDICTS:
        count = result["counts"][verdict]
        lines.append(f"  {LABELS[verdict]:<16}{count:>7}{100 * count / n:>8.1f}%")
    lines.append(f"  {'by endpoint':<20}" + "".join(f"{LABELS[v]:>16}" for v in VERDICTS))
    for kind in KINDS:
        counts = result["by_endpoint"][kind]
        lines.append(f"  {PATHS[kind]:<20}" + "".join(f"{counts[v]:>16}" for v in VERDICTS))
    bad = result["not_correct_by_fault"]
    if bad:
        lines.append(f"  {'by fault met':<20}" + "".join(f"{LABELS[v]:>16}" for v in (HONEST, WRONG, SERVER))
                     + "   (a request may meet several faults)")
        for fault, counts in bad.items():
            lines.append(f"  {fault:<20}" + "".join(f"{counts[v]:>16}" for v in (HONEST, WRONG, SERVER)))
    for verdict in (WRONG, SERVER):
        for example in result["examples"][verdict][:3]:
            lines.append(f"    e.g. {LABELS[verdict]}: {example['kind']} {example['body']} "
                         f"[{', '.join(example['faults'])}]: {example['reason']}")
    return "\n".join(lines)


def meets_target(result: dict[str, Any]) -> bool:
    counts = result["counts"]
    return counts[WRONG] == 0 and counts[SERVER] == 0 and result["shares"][CORRECT] >= TARGET_CORRECT


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", default="starter,reference", help="comma-separated solution names")
    parser.add_argument("--level", default="stormy")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-n", "--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="faultfirst-soak-") as tmp:
        for name in [a.strip() for a in args.apps.split(",") if a.strip()]:
            print(f"soaking {name} ...", file=sys.stderr, flush=True)
            result = soak_app(name, args.level, args.seed, args.requests, args.concurrency, Path(tmp))
            results.append(result)
            print(render(result, args.level, args.seed, args.concurrency) + "\n", flush=True)
    ok = all(meets_target(r) for r in results if r["app"] == "reference")
    for result in results:
        if result["app"] == "reference":
            print(f"reference target (0 silently wrong, 0 server errors, >= {TARGET_CORRECT:.0%} correct): "
                  + ("met" if meets_target(result) else "MISSED"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "level": args.level,
        "seed": args.seed, "requests": args.requests, "concurrency": args.concurrency,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "target": {"silently_wrong": 0, "server_error": 0, "correct_share": TARGET_CORRECT},
        "apps": results,
    }, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
