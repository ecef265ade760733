"""Row 9: GET /health answers 200 at once, then sends its 80-byte body one byte every 0.5 s.

A grader that waits for the whole body waits 40 s per poll, however short its start limit.
"""

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b'{"ok": true}' + b" " * 68


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(BODY)))
        self.end_headers()
        try:
            for byte in BODY:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass

    def log_message(self, *args):
        pass


port = int(sys.argv[sys.argv.index("--port") + 1])
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
