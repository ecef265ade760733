"""wrk, the load generator: installed if missing, run pinned on the load core."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from typing import Any

from bench.fake_llm_bench.common import LOAD_CORE, LUA, log


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    log("wrk is missing: installing the Debian package")
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, timeout=300,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("wrk is not installed and could not be installed (apt-get install wrk)")
    return path


def run_wrk(url: str, connections: int, duration_s: float, latency: bool = False,
            max_requests: int | None = None) -> dict[str, Any]:
    """One pinned wrk run; returns wrk's own summary (see bench/post_chat.lua) plus req/s."""
    cmd = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}",
           f"-d{max(1, math.ceil(duration_s))}s", "--timeout", "10s", "-s", str(LUA)]
    if latency:
        cmd.append("--latency")
    cmd.append(url)
    env = dict(os.environ)
    env.pop("WRK_MAX_REQUESTS", None)
    if max_requests:
        env["WRK_MAX_REQUESTS"] = str(max_requests)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env,
                          timeout=math.ceil(duration_s) + 30)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(line.removeprefix("WRKJSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors_total"] = sum(result["errors"].values())
    result["cmd"] = " ".join(cmd[3:])
    return result
