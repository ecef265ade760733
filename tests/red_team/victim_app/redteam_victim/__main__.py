"""The victim of row 6: an ordinary app that says who it is, so its neighbour can try to read it."""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            return self.send_json(200, {"ok": True})
        if self.path == "/whoami":
            secret = os.path.join(os.path.dirname(os.path.abspath(__file__)), "SECRET.txt")
            return self.send_json(200, {"pid": os.getpid(), "uid": os.getuid(), "cwd": os.getcwd(),
                                        "secret_file": secret})
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
