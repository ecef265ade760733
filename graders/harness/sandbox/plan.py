"""How the candidate's app is confined: an allow-list root, its own identity, limits, environment.

Submitted code is hostile until proven otherwise. The harness plans one :class:`Sandbox` per
grading (:func:`plan_sandbox`), proves it on this machine (:func:`probe`, which falls back to a
weaker mode and says exactly what was given up in ``notes``), and wraps every app start with
:meth:`Sandbox.wrap`, which runs ``jail.py`` (root steps), which execs the sandbox tool.

Modes, strongest first:

``bwrap``
    bubblewrap builds the app an otherwise empty root: read-only system folders (``/usr`` and
    its links), the interpreter and its libraries, the submission's installed dependencies, a few
    generated ``/etc`` files; its own copy of the submission at ``/srv/app`` (writable); private,
    size-capped tmpfs for ``/tmp``, ``/var/tmp``, ``/dev/shm`` and its home; its own ``/proc``
    (own PID namespace), IPC and UTS namespaces. Nothing else of the host exists in there: no
    other checkout, no host unix socket, no kit data (a kit package inside a bound library folder
    is covered by an empty tmpfs). It runs as a user ID of its own grading (:class:`UidLease`),
    never as root, inside a user namespace.
``mounts``
    no bubblewrap: the host's files minus a deny-list (the kit's private folders), as the
    grading's own user ID.
``none``
    the grader is not root: the app runs as the grader's own user.

The network is isolated one level up, for the whole inner session (:mod:`graders.harness.sandbox.netns`);
limits on the whole grading come from a control group (:mod:`graders.harness.sandbox.cgroups`) that the
jail joins before anything of the submission runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from graders.harness.sandbox.jail import JAIL_FAILED

JAIL = Path(__file__).with_name("jail.py")
GIB, MIB = 1 << 30, 1 << 20
DEFAULT_RLIMITS: dict[str, int] = {
    "AS": 4 * GIB,       # address space; Python's thread arenas need headroom above resident use
    "CPU": 600,          # CPU seconds over one app process's life (it restarts per module)
    "NPROC": 512,        # processes and threads of the grading's own user ID
    "FSIZE": GIB // 4,   # largest file it may write
    "NOFILE": 4096,
    "CORE": 0,
}
# Where things are inside a bwrap sandbox: neutral names that say nothing about grading.
APP_DIR, DEPS_DIR, BIN_DIR, HOME_DIR = "/srv/app", "/srv/deps", "/srv/bin", "/home/app"
APP_USER, APP_ID = "app", 1000
TMPFS_BYTES = {"/tmp": 64 * MIB, "/var/tmp": 16 * MIB, "/dev/shm": 16 * MIB, HOME_DIR: 64 * MIB}
_SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib32", "/lib64", "/libx32", "/sbin")
_ETC_FROM_HOST = ("ld.so.cache", "localtime", "mime.types")
UID_FIRST, UID_COUNT = 3_000_000, 1_000_000  # far above any account a system hands out


@dataclass(frozen=True, slots=True)
class Bind:
    """A host path the app sees at ``inside``; read-only unless ``writable``."""

    host: str
    inside: str
    writable: bool = False


@dataclass(frozen=True, slots=True)
class Sandbox:
    """A confinement plan. ``notes`` says, in plain words, what could not be confined here."""

    mode: str = "none"
    uid: int | None = None
    gid: int | None = None
    binds: tuple[Bind, ...] = ()
    hide: tuple[str, ...] = ()
    cgroup_join: tuple[str, ...] = ()
    rlimits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_RLIMITS))
    notes: tuple[str, ...] = ()

    def inside(self, host: Path | str) -> str:
        """Where the host path ``host`` is seen by the app (itself outside ``bwrap`` mode)."""
        text = str(host)
        if self.mode != "bwrap":
            return text
        for bind in sorted(self.binds, key=lambda b: len(b.host), reverse=True):
            if text == bind.host or text.startswith(bind.host.rstrip("/") + "/"):
                return bind.inside + text[len(bind.host):]
        return text

    def wrap(self, argv: list[str], cwd: Path, env: Mapping[str, str]) -> list[str]:
        """The argv that starts ``argv`` (with ``cwd`` a host folder) inside this sandbox."""
        spec: dict[str, Any] = {"rlimits": self.rlimits, "cgroups": list(self.cgroup_join),
                                "uid": self.uid, "gid": self.gid, "env": dict(env)}
        if self.mode == "bwrap":
            spec |= {"reveal": sorted({b.host for b in self.binds}), "hide": [], "cwd": "/",
                     "argv": [*self.bwrap_argv(self.inside(cwd)), "--", *argv]}
        else:
            reveal = [b.host for b in self.binds] if self.mode == "mounts" else []
            spec |= {"reveal": reveal, "hide": list(self.hide), "cwd": str(cwd), "argv": argv}
        return [sys.executable, "-I", str(JAIL), json.dumps(spec)]

    def bwrap_argv(self, cwd_inside: str) -> list[str]:
        """bubblewrap's own arguments: namespaces, then the root, in mount order."""
        args = [shutil.which("bwrap") or "bwrap", "--unshare-user", "--uid", str(APP_ID),
                "--gid", str(APP_ID), "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--hostname", "app", "--die-with-parent", "--new-session"]
        for path in _SYSTEM_DIRS:
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        args += ["--proc", "/proc", "--dev", "/dev"]
        for target, size in TMPFS_BYTES.items():
            args += ["--size", str(size), "--tmpfs", target]
        for bind in self.binds:
            args += ["--bind" if bind.writable else "--ro-bind", bind.host, bind.inside]
        for path in self.hide:
            args += ["--size", str(4096), "--tmpfs", path, "--remount-ro", path]
        return [*args, "--chdir", cwd_inside]

    def summary(self) -> list[str]:
        """What this sandbox confines, in plain words (for the report)."""
        if self.mode == "bwrap":
            lines = [
                "files: an otherwise empty root (bubblewrap): system folders, the interpreter and "
                "its libraries read-only, the submission's own copy; no other file of the host",
                "processes: its own PID namespace (its /proc shows only its own processes), IPC "
                "and UTS namespaces; private size-capped /tmp, /var/tmp, /dev/shm and home",
            ]
        elif self.mode == "mounts":
            lines = ["files: the host's files, minus the kit's private folders (a deny-list)"]
        else:
            lines = ["files: NOT isolated"]
        if self.uid is not None:
            lines.append(f"user: an unprivileged user ID of this grading alone ({self.uid})")
        lines.append("per-process limits: " + ", ".join(f"{k}={v}" for k, v in sorted(self.rlimits.items())))
        return lines

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "uid": self.uid, "gid": self.gid,
                "binds": [[b.host, b.inside, b.writable] for b in self.binds], "hide": list(self.hide),
                "cgroup_join": list(self.cgroup_join), "rlimits": dict(self.rlimits),
                "notes": list(self.notes)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sandbox:
        return cls(mode=data["mode"], uid=data["uid"], gid=data["gid"],
                   binds=tuple(Bind(h, i, bool(w)) for h, i, w in data["binds"]),
                   hide=tuple(data["hide"]), cgroup_join=tuple(data["cgroup_join"]),
                   rlimits=dict(data["rlimits"]), notes=tuple(data["notes"]))


class UidLease:
    """A user ID no other grading on this machine holds until :meth:`release` (root only).

    Each lease is a file made with O_EXCL in a root-only folder, so concurrent gradings (threads
    or processes) never share an identity: one grading's app cannot read another's copy or
    signal its processes.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or Path(tempfile.gettempdir()) / "faultfirst-uids"
        self.folder.mkdir(mode=0o700, exist_ok=True)
        seed = int.from_bytes(os.urandom(4), "big")
        for step in range(UID_COUNT):
            uid = UID_FIRST + (seed + step) % UID_COUNT
            try:
                os.close(os.open(self.folder / str(uid), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:
                continue
            self.uid = uid
            return
        raise RuntimeError("no free grading user ID")  # pragma: no cover - a million leases

    def release(self) -> None:
        with contextlib.suppress(OSError):
            (self.folder / str(self.uid)).unlink()


@dataclass(frozen=True, slots=True)
class Layout:
    """The host folders of one grading that the app sees (see :func:`plan_sandbox`)."""

    submission: Path
    deps: Path
    bin: Path
    etc: Path
    libraries: tuple[Path, ...]


def plan_sandbox(layout: Layout, private: Iterable[Path], uid: int | None,
                 cgroup_join: Iterable[str] = ()) -> Sandbox:
    """The strongest confinement to try here: ``bwrap`` when the grader is root and bubblewrap
    is installed; ``private`` are the kit's folders no app may see. Probe it before relying on it."""
    private = [Path(p).resolve() for p in private]
    if os.geteuid() != 0:
        return Sandbox(notes=(
            "the app ran as the grader's own user (the grader is not root): it could read files "
            "that user can read, including the hidden graders by absolute path",))
    binds = [Bind(str(layout.submission), APP_DIR, True), Bind(str(layout.deps), DEPS_DIR),
             Bind(str(layout.bin), BIN_DIR)]
    binds += [Bind(str(layout.etc / name), f"/etc/{name}") for name in sorted(os.listdir(layout.etc))]
    binds += [Bind(str(path), str(path)) for path in _outermost(layout.libraries)
              if not any(path.is_relative_to(d) for d in map(Path, _SYSTEM_DIRS))]
    sandbox = Sandbox(mode="bwrap", uid=uid, gid=uid, binds=tuple(binds),
                      cgroup_join=tuple(cgroup_join))
    seen = [Path(b.host) for b in binds] + [Path(d) for d in _SYSTEM_DIRS if os.path.isdir(d)]
    hide = sorted({sandbox.inside(p) for p in _outermost(private)
                   if any(p.is_relative_to(root) for root in seen)})
    if shutil.which("bwrap") is None:
        return _mounts(sandbox, private, "bubblewrap (the `bwrap` command) is not installed")
    return replace(sandbox, hide=tuple(hide))


def _mounts(sandbox: Sandbox, private: list[Path], reason: str) -> Sandbox:
    binds = tuple(b for b in sandbox.binds if not b.inside.startswith("/etc/"))
    note = (f"files NOT isolated by an allow-list ({reason}): the app saw the host's files minus "
            "the kit's private folders, the host's /proc and /tmp")
    return replace(sandbox, mode="mounts", binds=binds, hide=tuple(str(p) for p in private if p.exists()),
                   notes=(*sandbox.notes, note))


def _outermost(paths: Iterable[Path]) -> list[Path]:
    """The paths that are not inside another of them."""
    resolved = sorted({p.resolve() for p in paths if p.exists()})
    return [p for p in resolved if not any(p != q and p.is_relative_to(q) for q in resolved)]


def probe(sandbox: Sandbox, cwd: Path, private: Iterable[Path] = ()) -> Sandbox:
    """Start the interpreter inside ``sandbox``; where that fails here, fall back to a weaker mode.

    Returns the sandbox that works, with a note for everything given up.
    """
    if sandbox.mode == "none":
        return sandbox
    reason = _try(sandbox, cwd)
    if reason is None:
        return sandbox
    if sandbox.mode == "bwrap":
        weaker = _mounts(sandbox, [Path(p) for p in private], f"bubblewrap failed here: {reason}")
        if _try(weaker, cwd) is None:
            return weaker
    note = (f"the app ran as root with no file isolation ({reason}): it could read the hidden "
            "graders by absolute path")
    return replace(sandbox, mode="none", uid=None, gid=None, binds=(), hide=(), cgroup_join=(),
                   notes=(*sandbox.notes, note))


def _try(sandbox: Sandbox, cwd: Path) -> str | None:
    """None when ``sandbox`` runs the interpreter here; else why not."""
    argv = sandbox.wrap([sys.executable, "-I", "-c", "import sys; sys.exit(0)"], cwd,
                        {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        return "the probe did not finish within 60 s"
    if done.returncode == 0:
        return None
    last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    if done.returncode == JAIL_FAILED or "bwrap" in last:
        return last
    return f"the interpreter did not start: {last}"


def write_etc(folder: Path) -> Path:
    """The few ``/etc`` files a sandboxed app needs: its user, loopback names, host lookups."""
    folder.mkdir(mode=0o755, exist_ok=True)
    files = {
        "passwd": f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
                  f"{APP_USER}:x:{APP_ID}:{APP_ID}:{APP_USER}:{HOME_DIR}:/bin/sh\n"
                  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        "group": f"root:x:0:\n{APP_USER}:x:{APP_ID}:\nnogroup:x:65534:\n",
        "hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
        "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
        (folder / name).chmod(0o644)
    for name in _ETC_FROM_HOST:
        source = Path("/etc") / name
        if source.is_file():
            shutil.copyfile(source, folder / name)
            (folder / name).chmod(0o644)
    return folder


def scrubbed_env(home: str | Path, path_dirs: Iterable[str | Path], python_path: Iterable[str | Path],
                 extra: Mapping[str, str]) -> dict[str, str]:
    """The app's whole environment: nothing of the grader's own environment is passed through,
    and nothing in it says the app is being graded."""
    path = [str(p) for p in path_dirs] + ["/usr/local/bin", "/usr/bin", "/bin"]
    return {
        "PATH": os.pathsep.join(dict.fromkeys(path)),
        "HOME": str(home),
        "TMPDIR": "/tmp",
        "USER": APP_USER,
        "LOGNAME": APP_USER,
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

    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).parent,
             Path(os.path.realpath(sys.executable)).parent}
    paths.update(Path(p) for p in site.getsitepackages())
    paths.update(Path(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib", "purelib"))
    return sorted(p for p in paths if p.exists())
