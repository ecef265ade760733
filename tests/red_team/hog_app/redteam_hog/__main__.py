"""Row 10: four processes of 1.2 GB each held at once, and a fork bomb.

Both bound themselves (the hogs release after a few seconds, the bomb stops at FORK_CAP children
that exit after a few seconds), so that a grader without limits still survives a test run; the
answers say how far each got, and the red team's checks judge that.
"""

import json
import os
import select
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOGS = 4
HOG_BYTES = 1_200_000_000
HOLD_S = 5.0
FORK_CAP = 3000
CHILD_LIFE_S = 3.0


def hog(report):
    """In a child: hold HOG_BYTES, every page written (resident, not just reserved), then exit."""
    try:
        data = b"\x01" * HOG_BYTES
        os.write(report, b"1" if len(data) == HOG_BYTES else b"0")
        time.sleep(HOLD_S)
    except MemoryError:
        os.write(report, b"0")
    os._exit(0)


def hogs():
    """Fork the hogs (plain fork and pipes: nothing that needs /dev/shm); count those that held."""
    children, pipes = [], []
    for _ in range(HOGS):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            hog(write_end)
        os.close(write_end)
        children.append(pid)
        pipes.append(read_end)
    held, pending = 0, list(pipes)
    deadline = time.monotonic() + 30
    while pending and time.monotonic() < deadline:
        ready, _, _ = select.select(pending, [], [], 1.0)
        for fd in ready:
            held += os.read(fd, 1) == b"1"  # b"" when the child died before it could say
            pending.remove(fd)
    for fd in pipes:
        os.close(fd)
    statuses = [os.waitpid(pid, 0)[1] for pid in children]
    return {"held_at_once": held, "wait_statuses": statuses}


def bomb():
    children, error = [], None
    started = time.monotonic()
    while len(children) < FORK_CAP and time.monotonic() - started < 20:
        try:
            pid = os.fork()
        except OSError as error_:
            error = str(error_)
            break
        if pid == 0:
            time.sleep(CHILD_LIFE_S)
            os._exit(0)
        children.append(pid)
    for pid in children:  # reaped here: nothing lingers to count against anyone's limits
        os.waitpid(pid, 0)
    return {"forked": len(children), "error": error, "cap": FORK_CAP}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            return self.send_json(200, {"ok": True})
        return self.send_json(404, {"error": {"code": "not_found", "message": "no such page"}})

    def do_POST(self):
        if self.path == "/hogs":
            return self.send_json(200, hogs())
        if self.path == "/bomb":
            return self.send_json(200, bomb())
        return self.send_json(404, {"error": {"code": "not_found", "message": "no such page"}})

    def send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


port = int(sys.argv[sys.argv.index("--port") + 1])
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
