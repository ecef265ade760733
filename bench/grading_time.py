"""Grading time, side by side: the reference graded by this checkout and by other checkouts of the kit.

    python bench/grading_time.py --other ../faultfirst-old [--exercises retries,batch] [--rounds 3]

Each round grades the reference once with every kit, interleaved, so that the machine's noise
falls on all of them alike; it prints each kit's median wall time, its ratio to this checkout's,
and whether the verdicts agreed across rounds. A grading is a subprocess with the kit on
``PYTHONPATH``, so each kit's own harness (and sandbox) is what is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
GRADE = """
import json, sys
from pathlib import Path
from faultfirst.calibrate import prepare_solution
from graders.harness import grade
folder = prepare_solution("reference", sys.argv[1].split(","), sys.argv[2], Path(sys.argv[3]) / "sub")
result = grade(folder, level=sys.argv[2], seed=1, out_dir=Path(sys.argv[3]) / "out")
verdicts = {c.record.name: c.record.verdict for c in result.score.checks}
print(json.dumps({"status": result.status, "score": result.score.score,
                  "max": result.score.max_score, "verdicts": verdicts}))
"""


def grade_once(kit: Path, exercises: str, level: str) -> tuple[float, dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="ff-bench-") as work:
        env = {**os.environ, "PYTHONPATH": str(kit)}
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-c", GRADE, exercises, level, work], cwd=kit, env=env,
                              capture_output=True, text=True, timeout=1800, check=True)
        elapsed = time.monotonic() - started
    return elapsed, json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", action="append", default=[], type=Path, help="another checkout")
    parser.add_argument("--exercises", default="batch,citations,cost,deadlines,fallback,retries,"
                                                "streaming,structured-output")
    parser.add_argument("--level", default="realistic")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    kits = [HERE, *(path.resolve() for path in args.other)]
    times: dict[Path, list[float]] = {kit: [] for kit in kits}
    verdicts: dict[Path, list[object]] = {kit: [] for kit in kits}
    for round_no in range(args.rounds):
        for kit in kits if round_no % 2 == 0 else reversed(kits):
            elapsed, result = grade_once(kit, args.exercises, args.level)
            times[kit].append(elapsed)
            verdicts[kit].append(result["verdicts"])
            print(f"round {round_no + 1}: {kit}: {elapsed:.1f} s, {result['status']}, "
                  f"{result['score']}/{result['max']}", flush=True)
    base = statistics.median(times[HERE])
    for kit in kits:
        median = statistics.median(times[kit])
        same = all(v == verdicts[kit][0] for v in verdicts[kit])
        print(f"{kit}: median {median:.1f} s over {args.rounds} rounds, ratio to this checkout "
              f"{median / base:.3f}, verdicts identical across rounds: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
