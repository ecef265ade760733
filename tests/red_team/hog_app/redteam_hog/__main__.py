"""Row 10: four processes of 1.2 GB each held at once, and a fork bomb.

Both bound themselves (the hogs release after a few seconds, the bomb stops at FORK_CAP children
that exit after a few seconds), so that a grader without limits still survives a test run; the
answers say how far each got, and the red team's checks judge that.
"""

import json
import multiprocessing
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOGS = 4
HOG_BYTES = 1_200_000_000
HOLD_S = 5.0
FORK_CAP = 3000
CHILD_LIFE_S = 3.0


def hog(ready):
    try:
        data = b"\x01" * HOG_BYTES  # every page written: resident, not just reserved
        ready.put(len(data))
        time.sleep(HOLD_S)
    except MemoryError:
        ready.put(0)


def hogs():
    ready = multiprocessing.get_context("fork").Queue()
    children = [multiprocessing.get_context("fork").Process(target=hog, args=(ready,))
                for _ in range(HOGS)]
    for child in children:
        child.start()
    held = []
    deadline = time.monotonic() + 30
    while len(held) < HOGS and time.monotonic() < deadline:
        try:
            held.append(ready.get(timeout=1))
        except Exception:
            if not any(child.is_alive() for child in children):
                break
    for child in children:
        child.join(10)
    return {"held_at_once": sum(1 for size in held if size >= HOG_BYTES),
            "exit_codes": [child.exitcode for child in children]}


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
