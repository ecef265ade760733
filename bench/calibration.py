"""Calibration time, and whether its verdicts hold: ``faultfirst calibrate`` run and checked.

    python bench/calibration.py [--exercises retries --levels calm,hurricane] [--jobs N] [--verify]

Runs the calibration once (as ``faultfirst calibrate`` does, in a subprocess) and reports its
wall time, its CPU time (machine-wide, /proc/stat) and the gradings it made. Then it checks the
verdicts against what the kit knows independently of any reuse or load:

- the reference scores 100 % at every level;
- every flawed solution fails, at each level where they count, the checks its ``flaw.toml``
  says it fails (``fails``), as ``calibration.json`` lists them (``failed``).

With ``--verify`` it also runs the calibration with ``--no-reuse`` (everything graded in full)
and compares the two tables, solution by solution: the reuse across levels and across solutions
must give the same scores, and the report gives both times and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (user, nice, system, irq)."""
    fields = Path("/proc/stat").read_text(encoding="utf-8").splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run(args: argparse.Namespace, out: Path, reuse: bool) -> tuple[float, float, dict[str, Any]]:
    command = [sys.executable, "-m", "faultfirst.cli", "calibrate", "--levels", args.levels,
               *(["--jobs", str(args.jobs)] if args.jobs else []), "--seed", str(args.seed),
               "--out", str(out)]
    if args.exercises:
        command += ["--exercises", args.exercises]
    if not reuse:
        command.append("--no-reuse")
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    busy, started = busy_seconds(), time.monotonic()
    subprocess.run(command, cwd=HERE, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=args.limit_s)
    wall, cpu = time.monotonic() - started, busy_seconds() - busy
    return wall, cpu, json.loads((out / "calibration.json").read_text(encoding="utf-8"))


def declared_failures(flaw: str) -> list[str]:
    spec = HERE / "solutions" / "flawed" / flaw / "flaw.toml"
    return list(tomllib.loads(spec.read_text(encoding="utf-8")).get("fails", []))


def problems(data: dict[str, Any]) -> list[str]:
    """What contradicts the kit's own knowledge in one calibration's results."""
    from faultfirst.calibrate import all_checks

    levels_of = {check.nodeid.split("::")[1]: check.levels for check in all_checks()}
    found = []
    for level, percent in data["solutions"].get("reference", {}).get("percent", {}).items():
        if percent != 100.0:
            found.append(f"reference at {level}: {percent} %")
    for name, solution in data["solutions"].items():
        if solution["kind"] != "flawed":
            continue
        for level in data["levels"]:
            for check in declared_failures(name.removeprefix("flawed/")):
                if level in levels_of.get(check, ()) and check not in solution["failed"][level]:
                    found.append(f"{name} at {level}: {check} did not fail (its flaw.toml says it does)")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercises", default="", help="comma-separated slugs (default: all)")
    parser.add_argument("--levels", default="calm,realistic,stormy,hurricane")
    parser.add_argument("--jobs", type=int, default=None, help="as calibrate's (default: 10 per core)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verify", action="store_true", help="also run with --no-reuse and compare")
    parser.add_argument("--limit-s", type=float, default=4 * 3600, help="bound on each run")
    parser.add_argument("--keep", type=Path, help="write the calibration here (kept), not in a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ff-bench-calibration-") as work:
        out = args.keep.resolve() if args.keep else Path(work) / "reuse"
        wall, cpu, data = run(args, out, reuse=True)
        run_info = data["run"]
        print(f"calibration ({args.exercises or 'all exercises'}; {args.levels}; "
              f"--jobs {data['run']['jobs']}): "
              f"{wall:.0f} s wall, {cpu:.0f} CPU s ({cpu / wall:.2f} cores busy on average)")
        print(f"  gradings: {run_info['gradings_full']} full, {run_info['gradings_partial']} partial, "
              f"{run_info.get('soak_gradings', 0)} soaks apart, {run_info.get('gradings_skipped', 0)} "
              f"skipped; verdicts reused across levels {run_info['verdicts_reused']}, from the "
              f"reference {run_info.get('verdicts_from_reference', 0)}")
        found = problems(data)
        print(f"  verdicts against the kit's own knowledge: {'all hold' if not found else ''}")
        for line in found:
            print(f"    {line}")
        if args.verify:
            full_wall, full_cpu, full = run(args, Path(work) / "full", reuse=False)
            differ = [f"{name}: {data['solutions'][name]['percent']} with reuse, "
                      f"{solution['percent']} without"
                      for name, solution in full["solutions"].items()
                      if data["solutions"].get(name, {}).get("percent") != solution["percent"]]
            print(f"without reuse: {full_wall:.0f} s wall, {full_cpu:.0f} CPU s; with reuse "
                  f"{wall / full_wall:.2f} of the time and {cpu / full_cpu:.2f} of the CPU")
            print(f"  tables: {'identical' if not differ else 'DIFFER'}")
            for line in differ:
                print(f"    {line}")
            found += differ
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
