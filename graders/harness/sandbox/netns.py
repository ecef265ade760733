"""Loopback-only networking for the inner grading session, where the OS allows it.

The whole inner session (fake LLM, checks, app) runs in a fresh network namespace whose only
interface is ``lo``: the app can reach the fake LLM and nothing else. :func:`isolation_prefix`
finds a way to get there on this machine (``unshare`` as root, or in a user namespace) and
proves it with :func:`probe`: loopback works, and there is no other interface.
Standard library only: ``python -I netns.py`` is the probe run inside the candidate namespace.
"""

from __future__ import annotations

import fcntl
import shutil
import socket
import struct
import subprocess
import sys

_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
# --mount-proc: the session's own /proc matches its PID namespace (bubblewrap reads its own
# /proc/<pid>; with the host's /proc that pid is another process, or none).
_PREFIXES = (
    ("unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"),
    ("unshare", "--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"),
)


def bring_loopback_up() -> None:
    """Set ``lo`` up (a new network namespace starts with it down). Needs CAP_NET_ADMIN there."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | _IFF_UP))


def probe() -> str:
    """'' when loopback works and is the only interface; else what is wrong."""
    bring_loopback_up()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
    others = [name for _, name in socket.if_nameindex() if name != "lo"]
    if others:
        return f"other network interfaces are present: {', '.join(others)}"
    return ""


def isolation_prefix() -> tuple[tuple[str, ...], str]:
    """The argv prefix that runs a command in a loopback-only namespace, and a note.

    The note is empty when isolation works; otherwise the prefix is empty and the note says that
    the network was not isolated and why.
    """
    if shutil.which("unshare") is None:
        return (), "network not isolated: the `unshare` command is not available"
    failures = []
    for prefix in _PREFIXES:
        try:
            done = subprocess.run([*prefix, sys.executable, "-I", __file__], capture_output=True,
                                  text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            failures.append(str(error))
            continue
        if done.returncode == 0 and not done.stdout.strip():
            return prefix, ""
        failures.append(((done.stdout + done.stderr).strip().splitlines() or ["failed"])[-1])
    reasons = "; ".join(failures)
    return (), f"network not isolated: no private network namespace could be made here ({reasons})"


if __name__ == "__main__":
    try:
        problem = probe()
    except OSError as error:
        problem = f"loopback unusable: {error}"
    print(problem)
    sys.exit(1 if problem else 0)
