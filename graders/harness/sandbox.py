"""How the candidate's app is confined: resource limits, user, mounts, environment.

The harness plans a :class:`Sandbox` once per grading run (:func:`plan_sandbox`), proves it works
on this machine (:func:`probe`, which degrades it and says so in ``notes`` when a step is not
allowed here), and wraps every app start with :meth:`Sandbox.wrap`, which runs ``jail.py``. The
network is isolated one level up, for the whole inner session (see :mod:`graders.harness.netns`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from graders.harness.jail import JAIL_FAILED

JAIL = Path(__file__).with_name("jail.py")
UNPRIVILEGED_ID = 65534  # "nobody" on Linux
GIB = 1 << 30
DEFAULT_LIMITS: dict[str, int] = {
    "AS": 4 * GIB,       # address space; Python's thread arenas need headroom above resident use
    "CPU": 600,          # CPU seconds over one app process's life (it restarts per module)
    "NPROC": 512,        # processes and threads of the app's user (not enforced for root)
    "FSIZE": GIB // 4,   # largest file it may write
    "NOFILE": 4096,
    "CORE": 0,
}
_SECRET_NAMES = ("graders", "solutions", "exercises", ".git", ".plan")


@dataclass(frozen=True, slots=True)
class Sandbox:
    """A confinement plan. ``notes`` says, in plain words, what could not be confined here."""

    rlimits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    mount_ns: bool = False
    uid: int | None = None
    gid: int | None = None
    reveal: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def wrap(self, argv: list[str], cwd: Path, env: Mapping[str, str]) -> list[str]:
        """The argv that starts ``argv`` inside this sandbox."""
        spec = {**asdict(self), "argv": argv, "cwd": str(cwd), "env": dict(env)}
        del spec["notes"]
        return [sys.executable, "-I", str(JAIL), json.dumps(spec)]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sandbox:
        return cls(rlimits=dict(data["rlimits"]), mount_ns=bool(data["mount_ns"]), uid=data["uid"],
                   gid=data["gid"], reveal=tuple(data["reveal"]), hide=tuple(data["hide"]),
                   notes=tuple(data["notes"]))


def secret_paths(kit_root: Path, needed: Iterable[Path]) -> tuple[str, ...]:
    """What the app must not see: the kit checkout, or its secret folders if the app needs the rest."""
    needed = [path.resolve() for path in needed]
    kit_root = kit_root.resolve()
    if not any(path.is_relative_to(kit_root) for path in needed):
        return (str(kit_root),)
    return tuple(str(kit_root / name) for name in _SECRET_NAMES if (kit_root / name).exists())


def plan_sandbox(kit_root: Path, needed: Iterable[Path]) -> Sandbox:
    """The strongest confinement this process may set up; probe it before relying on it."""
    needed = [Path(p).resolve() for p in needed]
    if os.geteuid() != 0:
        return Sandbox(notes=(
            "the app ran as the grader's own user (the grader is not root): it could read files "
            "that user can read, including the hidden graders by absolute path",))
    return Sandbox(mount_ns=True, uid=UNPRIVILEGED_ID, gid=UNPRIVILEGED_ID,
                   reveal=tuple(str(p) for p in needed), hide=secret_paths(kit_root, needed))


def probe(sandbox: Sandbox, cwd: Path, env: Mapping[str, str]) -> Sandbox:
    """Run the interpreter inside ``sandbox``; if the sandbox cannot be set up here, weaken it.

    Returns the sandbox that works, with a note for everything given up.
    """
    if not sandbox.mount_ns and sandbox.uid is None:
        return sandbox
    argv = sandbox.wrap([sys.executable, "-c", "import sys; sys.exit(0)"], cwd, env)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode == 0:
        return sandbox
    reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    weaker = replace(sandbox, mount_ns=False, uid=None, gid=None, reveal=(), hide=())
    note = ("the app ran as root without a private mount namespace "
            f"({reason if done.returncode == JAIL_FAILED else 'the interpreter did not start'}): "
            "it could read the hidden graders by absolute path")
    return replace(weaker, notes=(*sandbox.notes, note))


def scrubbed_env(home: Path, path_dirs: Iterable[Path], python_path: Iterable[Path],
                 extra: Mapping[str, str]) -> dict[str, str]:
    """The app's whole environment: nothing of the grader's own environment is passed through."""
    path = [str(p) for p in path_dirs] + ["/usr/local/bin", "/usr/bin", "/bin"]
    return {
        "PATH": os.pathsep.join(dict.fromkeys(path)),
        "HOME": str(home),
        "TMPDIR": str(home / "tmp"),
        "USER": "candidate",
        "LOGNAME": "candidate",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join(str(p) for p in python_path),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MALLOC_ARENA_MAX": "2",
        **extra,
    }


def interpreter_paths() -> list[Path]:
    """The kit interpreter's own folders the app needs to reach (prefix and site-packages)."""
    import site
    import sysconfig

    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).parent}
    paths.update(Path(p) for p in site.getsitepackages())
    paths.update(Path(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib", "purelib"))
    return sorted(p for p in paths if p.exists())
