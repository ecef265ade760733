"""Limits on a whole grading: one control group for every process the app starts, restarts included.

Per-process resource limits let four processes of 1 GiB each add up to 4 GiB, and a fork bomb
spread over many processes; a control group caps the sum. :class:`GradingCgroup` makes one group
per grading under each controller it can write (memory, pids, cpu), in cgroup v2 (the unified
hierarchy) or v1 (separate controller mounts, what many container hosts still mount). The jail
joins the group before it runs anything of the submission (:data:`JOIN_FILE` of each folder), so
every descendant is inside it. At the end the grader reads what the group saw (peak memory, how
often a limit was hit), kills whatever is left and removes the group.

Where no controller is writable (not root, no cgroup mount), the group is empty and ``notes``
says what is not limited as a whole.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
JOIN_FILE = "cgroup.procs"
MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class GradingLimits:
    """What the whole grading's app side may use (every process of it, at once)."""

    memory_bytes: int = 1536 * MIB
    pids: int = 256
    cpu_cores: float = 1.0


def _own_path(controller: str, proc_cgroup: str) -> str | None:
    """This process's group in ``controller`` ('' for the v2 unified hierarchy), from /proc/self/cgroup."""
    for line in proc_cgroup.splitlines():
        _, names, path = line.split(":", 2)
        if (controller == "" and names == "") or controller in names.split(","):
            return path
    return None


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK)


class GradingCgroup:
    """One grading's control groups; :meth:`create` makes them, :meth:`remove` ends them."""

    def __init__(self, name: str, limits: GradingLimits, root: Path = CGROUP_ROOT) -> None:
        self.name = name
        self.limits = limits
        self.root = root
        self.folders: dict[str, Path] = {}  # controller -> this grading's folder
        self.version = 0
        self.notes: list[str] = []

    def create(self) -> GradingCgroup:
        """Make the groups this machine allows and set their limits; says in ``notes`` what it could not."""
        try:
            proc_cgroup = Path("/proc/self/cgroup").read_text(encoding="utf-8")
        except OSError:
            proc_cgroup = ""
        unified = self.root / "cgroup.controllers"
        if unified.is_file():
            self._create_v2(proc_cgroup, unified.read_text(encoding="utf-8").split())
        else:
            self._create_v1(proc_cgroup)
        missing = [c for c in ("memory", "pids", "cpu") if c not in self.folders]
        if missing:
            self.notes.append("not limited as a whole grading (no writable cgroup controller): "
                              + ", ".join(missing) + "; per-process limits only")
        return self

    def _create_v1(self, proc_cgroup: str) -> None:
        for controller in ("memory", "pids", "cpu"):
            mount = self.root / controller
            own = _own_path(controller, proc_cgroup)
            if own is None or not _writable(mount / own.lstrip("/")):
                continue
            folder = mount / own.lstrip("/") / self.name
            try:
                folder.mkdir(exist_ok=True)
                self._set_v1(controller, folder)
            except OSError as error:
                self.notes.append(f"cgroup {controller}: {error}")
                with contextlib.suppress(OSError):
                    folder.rmdir()
                continue
            self.folders[controller] = folder
        self.version = 1 if self.folders else 0

    def _set_v1(self, controller: str, folder: Path) -> None:
        if controller == "memory":
            (folder / "memory.limit_in_bytes").write_text(str(self.limits.memory_bytes))
            swap = folder / "memory.memsw.limit_in_bytes"
            if swap.exists():  # no swapping past the cap either
                swap.write_text(str(self.limits.memory_bytes))
        elif controller == "pids":
            (folder / "pids.max").write_text(str(self.limits.pids))
        else:
            period_us = 100_000
            (folder / "cpu.cfs_period_us").write_text(str(period_us))
            (folder / "cpu.cfs_quota_us").write_text(str(int(period_us * self.limits.cpu_cores)))

    def _create_v2(self, proc_cgroup: str, available: list[str]) -> None:
        own = _own_path("", proc_cgroup)
        if own is None:
            return
        parent = self.root / own.lstrip("/")
        wanted = [c for c in ("memory", "pids", "cpu") if c in available]
        folder = parent / self.name
        try:
            control = parent / "cgroup.subtree_control"
            enabled = set(control.read_text(encoding="utf-8").split())
            for controller in wanted:
                if controller not in enabled:
                    control.write_text(f"+{controller}")
            folder.mkdir(exist_ok=True)
            if "memory" in wanted:
                (folder / "memory.max").write_text(str(self.limits.memory_bytes))
                (folder / "memory.swap.max").write_text("0")
            if "pids" in wanted:
                (folder / "pids.max").write_text(str(self.limits.pids))
            if "cpu" in wanted:
                (folder / "cpu.max").write_text(f"{int(100_000 * self.limits.cpu_cores)} 100000")
        except OSError as error:
            self.notes.append(f"cgroup v2: {error}")
            with contextlib.suppress(OSError):
                folder.rmdir()
            return
        self.folders = {controller: folder for controller in wanted}
        self.version = 2

    def join_files(self) -> list[str]:
        """The files a process writes ``0`` to, to join every group (deduplicated for v2)."""
        return sorted({str(folder / JOIN_FILE) for folder in self.folders.values()})

    def held(self) -> list[str]:
        """What the limits were and what the group saw, in plain words (for the report)."""
        lines = []
        memory, pids, cpu = (self.folders.get(c) for c in ("memory", "pids", "cpu"))
        if memory is not None:
            peak = _read_int(memory / ("memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"))
            hits = (_read_int(memory / "memory.failcnt") if self.version == 1
                    else _read_key(memory / "memory.events", "max"))
            lines.append(f"memory: the whole app side capped at {self.limits.memory_bytes // MIB} MiB "
                         f"(cgroup v{self.version}); peak {_mib(peak)}, limit reached {_count(hits)} times")
        if pids is not None:
            hits = _read_key(pids / "pids.events", "max")
            lines.append(f"processes: at most {self.limits.pids} at once for the whole app side "
                         f"(cgroup v{self.version}); refused forks {_count(hits)}")
        if cpu is not None:
            throttled = _read_key(cpu / "cpu.stat", "nr_throttled")
            used = (_read_key(cpu / "cpu.stat", "usage_usec") if self.version == 2
                    else _scaled(_read_int(cpu / "cpuacct.usage"), 1000))
            lines.append(f"cpu: at most {self.limits.cpu_cores:g} core(s) for the whole app side "
                         f"(cgroup v{self.version}); used {_seconds(used)}, throttled "
                         f"{_count(throttled)} periods")
        return lines

    def remove(self) -> None:
        """Kill every process still in the groups, then remove them."""
        for folder in set(self.folders.values()):
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                pids = _read_pids(folder / JOIN_FILE)
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.05)
            with contextlib.suppress(OSError):
                folder.rmdir()
        self.folders = {}


def _read_pids(path: Path) -> list[int]:
    try:
        return [int(line) for line in path.read_text(encoding="utf-8").split()]
    except (OSError, ValueError):
        return []


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def _read_key(path: Path, key: str) -> int | None:
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        return None
    return None


def _mib(value: int | None) -> str:
    return "unknown" if value is None else f"{value / MIB:.0f} MiB"


def _count(value: int | None) -> str:
    return "unknown" if value is None else str(value)


def _scaled(value: int | None, divisor: int) -> int | None:
    return None if value is None else value // divisor


def _seconds(usec: int | None) -> str:
    return "unknown" if usec is None else f"{usec / 1e6:.1f} CPU s"
