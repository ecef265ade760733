"""Start the candidate's app confined: ``python -I jail.py SPEC_JSON``, then exec the app.

Standalone on purpose (standard library only, run with ``-I``): it runs in a fresh,
single-threaded process between the grader and the untrusted app, so none of the confinement
happens in a forked copy of the multi-threaded grader. In order, it:

1. sets resource limits (``rlimits``: name -> soft=hard value, e.g. ``{"AS": 4294967296}``);
2. joins the grading's control groups (``cgroups``: files to write ``0`` to), so that it and
   every process after it count against the whole grading's limits;
3. when ``reveal`` or ``hide`` is non-empty (needs root): enters a private mount namespace, makes
   each path in ``reveal`` reachable for ``uid`` (an ancestor that others cannot enter, such as
   ``/root``, is covered by an empty tmpfs into which only the needed child is bind-mounted
   back), then covers each path in ``hide`` with an empty read-only tmpfs;
4. when ``uid`` is set: drops to ``uid``/``gid`` with no supplementary groups;
5. changes to ``cwd`` and execs ``argv`` with exactly ``env`` (in the ``bwrap`` mode of
   :mod:`graders.harness.sandbox.plan`, ``argv`` is bubblewrap's, which then runs the app unprivileged
   in its allow-list root: the mount namespace here only lets that unprivileged user reach the
   folders it binds).

Any failure before the exec prints ``faultfirst-jail: <step>: <error>`` on stderr and exits
with status 126, so the harness can tell a broken sandbox from a broken app; a command that
cannot be run exits with 127.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import stat
import sys
from collections.abc import Callable
from pathlib import Path

JAIL_FAILED = 126
EXEC_FAILED = 127  # the command itself could not be run: the submission's problem
_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV = 1, 2, 4
_MS_BIND, _MS_REC, _MS_PRIVATE = 4096, 16384, 1 << 18
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                       ctypes.c_ulong(flags), data.encode() if data else None), f"mount {target}")


def set_limits(limits: dict[str, int]) -> None:
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (value, value))


def _others_may_enter(path: Path) -> bool:
    return bool(os.stat(path).st_mode & stat.S_IXOTH)


def reveal(path: Path, covered: dict[Path, int]) -> None:
    """Make every ancestor of ``path`` enterable by others, keeping the rest of them hidden."""
    parts = path.parts
    for depth in range(1, len(parts)):
        ancestor, child = Path(*parts[:depth]), parts[depth]
        if ancestor not in covered and _others_may_enter(ancestor):
            continue
        if ancestor not in covered:
            covered[ancestor] = os.open(ancestor, os.O_PATH | os.O_DIRECTORY)
            _mount("tmpfs", str(ancestor), "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755,size=64k")
        target = ancestor / child
        if target.exists():
            continue
        original = f"/proc/self/fd/{covered[ancestor]}/{child}"
        if os.path.isdir(original):
            target.mkdir()
        else:
            target.touch()
        _mount(original, str(target), None, _MS_BIND | _MS_REC, None)


def confine_mounts(reveal_paths: list[str], hide_paths: list[str]) -> None:
    """A private mount namespace in which ``reveal_paths`` are reachable and ``hide_paths`` empty."""
    _check(_libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount("none", "/", None, _MS_REC | _MS_PRIVATE, None)
    covered: dict[Path, int] = {}
    for path in reveal_paths:
        reveal(Path(path), covered)
    for path in hide_paths:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", _MS_RDONLY | _MS_NOSUID | _MS_NODEV, "mode=0555,size=4k")
    for fd in covered.values():
        os.close(fd)


def join_cgroups(files: list[str]) -> None:
    for path in files:
        with open(path, "w", encoding="ascii") as control:
            control.write("0")  # 0: the writing process itself


def drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    steps: list[tuple[str, Callable[[], None]]] = [
        ("rlimits", lambda: set_limits(spec.get("rlimits", {}))),
        ("cgroups", lambda: join_cgroups(spec.get("cgroups", []))),
        ("mounts", lambda: confine_mounts(spec.get("reveal", []), spec.get("hide", []))
         if spec.get("reveal") or spec.get("hide") else None),
        ("privileges", lambda: drop_privileges(spec["uid"], spec["gid"])
         if spec.get("uid") is not None else None),
        ("cwd", lambda: os.chdir(spec["cwd"])),
    ]
    for name, step in steps:
        try:
            step()
        except (OSError, ValueError, KeyError) as error:
            print(f"faultfirst-jail: {name}: {error}", file=sys.stderr, flush=True)
            return JAIL_FAILED
    try:
        os.execvpe(spec["argv"][0], spec["argv"], spec["env"])
    except OSError as error:
        print(f"cannot run {spec['argv'][0]!r}: {error}", file=sys.stderr, flush=True)
    return EXEC_FAILED


if __name__ == "__main__":
    sys.exit(main(sys.argv))
