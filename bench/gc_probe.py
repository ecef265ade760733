"""Run the fake LLM server with garbage-collector accounting (used by bench/fake_llm_bench --profile).

    python bench/gc_probe.py OUT.json serve --port 8900 --profile calm ...

Takes the same arguments as ``python -m fake_llm``. Each SIGUSR1 writes the collector's totals
since the previous SIGUSR1 to OUT.json (per generation: collections, CPU time spent in them, the
longest pause in wall-clock ms, objects collected) and starts counting again. CPU time (the
thread's own clock) is what the collector cost; wall time also counts any other process that
had the core meanwhile. Measurement only: fake_llm is not changed.
"""

from __future__ import annotations

import gc
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_out = Path(sys.argv[1])
_totals: dict[int, dict[str, float]] = {}
_started = [0.0, 0.0]


def _reset() -> None:
    for generation in (0, 1, 2):
        _totals[generation] = {"collections": 0, "cpu_ms": 0.0, "wall_ms": 0.0, "max_wall_ms": 0.0,
                               "collected": 0}


def _callback(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0], _started[1] = time.perf_counter(), time.thread_time()
        return
    wall_ms = (time.perf_counter() - _started[0]) * 1000
    row = _totals[info["generation"]]
    row["collections"] += 1
    row["cpu_ms"] += (time.thread_time() - _started[1]) * 1000
    row["wall_ms"] += wall_ms
    row["max_wall_ms"] = max(row["max_wall_ms"], wall_ms)
    row["collected"] += info["collected"]


def _dump(signum: int, frame: Any) -> None:
    _out.write_text(json.dumps({"gen": _totals, "tracked_objects": len(gc.get_objects())}))
    _reset()


_reset()
gc.callbacks.append(_callback)
signal.signal(signal.SIGUSR1, _dump)

from fake_llm.cli import main  # noqa: E402

sys.exit(main(sys.argv[2:]))
