"""graders.harness.inner.client: whatever the app sends is read within caps and a total deadline, decoded
safely, and a wrong shape in it is the app's failure (against a small loopback HTTP server)."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from graders.harness.errors import AppDataError, AppFailure, AppStartError, AppUnreadable
from graders.harness.inner import client as client_module
from graders.harness.inner.app_process import AppProcess, LaunchSpec
from graders.harness.inner.client import AppClient, AppObject, decode_json, split_lines

MIB = 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sent: ClassVar[dict[str, int]] = {}

    def do_GET(self) -> None:
        getattr(self, "route_" + self.path.strip("/").replace("-", "_"))()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.do_GET()

    def _head(self, content_type: str = "application/json", length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("content-type", content_type)
        if length is None:
            self.send_header("connection", "close")
        else:
            self.send_header("content-length", str(length))
        self.end_headers()

    def _body(self, data: bytes) -> None:
        self._head(length=len(data))
        self.wfile.write(data)

    def _pour(self, key: str, piece: bytes, total: int, pause_s: float = 0.0) -> None:
        """Write ``piece`` until ``total`` bytes are out or the client hangs up; count what went."""
        Handler.sent[key] = 0
        try:
            while Handler.sent[key] < total:
                self.wfile.write(piece)
                self.wfile.flush()
                Handler.sent[key] += len(piece)
                time.sleep(pause_s)
        except OSError:
            pass

    def route_ok(self) -> None:
        self._body(b'{"items": [{"paper_id": "P0001"}], "n": 3}')

    def route_deep(self) -> None:
        self._body(b"[" * 200_000)

    def route_huge_number(self) -> None:
        self._body(b'{"sample_size": 1' + b"0" * 5000 + b"}")

    def route_huge(self) -> None:  # no content-length: the body ends when the connection does
        self._head()
        self._pour("huge", b"x" * 65536, 64 * MIB)

    def route_huge_declared(self) -> None:
        self._head(length=1024 * MIB)
        self._pour("huge_declared", b"x" * 65536, 2 * MIB)

    def route_dribble(self) -> None:
        self._head(length=100)
        self._pour("dribble", b"x", 100, pause_s=0.05)

    def route_dribble_headers(self) -> None:
        self._pour("dribble_headers", b"H", 200, pause_s=0.05)

    def route_long_line(self) -> None:
        self._head("text/event-stream")
        self.wfile.write(b"event: delta\ndata: ")
        self._pour("long_line", b"y" * 65536, 4 * MIB)

    def route_many_events(self) -> None:
        self._head("text/event-stream")
        self._pour("many_events", b"data: {}\n\n" * 1000, 200_000 * 10)

    def route_not_utf8(self) -> None:
        self._head("text/event-stream")
        self.wfile.write(b"data: \xff\xfe\n\n")

    def route_stream(self) -> None:
        self._head("text/event-stream")
        self.wfile.write(b"event: delta\r\ndata: {\"text\": \"hi\"}\r\n\r\nevent: done\rdata: {}\r\r")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


# --- decoding ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "reason"), [
    (b"[" * 200_000, "nested more than 64 levels"),
    (b"[" * 65 + b"]" * 65, "nested more than 64 levels"),
    (b'{"n": 1' + b"0" * 5000 + b"}", "a number of 5001 digits"),
    (b"1" * 5000, "a number of 5000 digits"),
    (b'{"x": 1e999}', "too large for a float"),
    (b'{"x": NaN}', "NaN is not JSON"),
    (b'{"summary": "caf\xe9"}', "not UTF-8 (byte 16)"),
    (b"<html>502</html>", "not JSON"),
    (b"", "empty"),
])
def test_an_unreadable_body_is_none_with_the_reason(data: bytes, reason: str) -> None:
    value, why = decode_json(data)
    assert value is None
    assert why is not None and reason in why


def test_readable_json_comes_as_views_equal_to_plain_json() -> None:
    value, why = decode_json(b'{"items": [{"paper_id": "P0001", "n": 2.5}], "deep": ' + b"[" * 63
                             + b"]" * 63 + b"}")
    assert why is None and isinstance(value, AppObject)
    assert value["items"] == [{"paper_id": "P0001", "n": 2.5}]


@pytest.mark.parametrize(("read", "fragment"), [
    (lambda v: v["missing"], "no field 'missing'"),
    (lambda v: v["items"][5], "has 1 items; item 5 was read"),
    (lambda v: v["items"]["paper_id"], "a list where an object was expected"),
    (lambda v: v["items"].get("paper_id"), "a list where an object was expected"),
    (lambda v: v[0], "an object where a list was expected"),
])
def test_a_failed_lookup_in_the_apps_json_is_the_apps_failure(read: Any, fragment: str) -> None:
    value, _ = decode_json(b'{"items": [{"paper_id": "P0001"}]}')
    with pytest.raises(AppDataError) as caught:
        read(value)
    assert fragment in str(caught.value)
    assert caught.value.verdict == "fail"


def test_lines_split_on_every_terminator_and_stop_at_the_cap() -> None:
    chunks = [b"a\r", b"\nb\rc\n", b"\n", b"d"]
    assert list(split_lines(iter(chunks))) == [b"a", b"b", b"c", b"", b"d"]
    with pytest.raises(AppUnreadable, match="a line over 100 bytes"):
        list(split_lines(iter([b"z" * 60, b"z" * 60, b"\n"]), max_line_bytes=100))


# --- bounded reads against a live server ---------------------------------------------------------

def test_a_readable_answer_and_a_stream_come_back(server: str) -> None:
    app = AppClient(server)
    response = app.get("/ok", timeout_s=5)
    assert response.status == 200 and response.json["n"] == 3 and response.unreadable is None
    events = app.stream("/stream", {}, timeout_s=5)
    assert [(event, data) for event, data in events] == [("delta", {"text": "hi"}), ("done", {})]


def test_deep_json_and_a_huge_number_are_unreadable_not_an_error(server: str) -> None:
    app = AppClient(server)
    for path, reason in (("/deep", "nested"), ("/huge-number", "5001 digits")):
        response = app.get(path, timeout_s=5)
        assert response.status == 200 and response.json is None
        assert response.unreadable is not None and reason in response.unreadable


def test_a_huge_fast_body_fails_at_the_cap_without_reading_it_all(server: str) -> None:
    with pytest.raises(AppUnreadable, match=f"over {client_module.MAX_BODY_BYTES} bytes"):
        AppClient(server).get("/huge", timeout_s=30)
    with pytest.raises(AppUnreadable, match="declares 1073741824 bytes"):
        AppClient(server).get("/huge-declared", timeout_s=30)


def test_a_dribbling_body_fails_at_the_total_deadline(server: str) -> None:
    with pytest.raises(AppFailure) as caught:
        AppClient(server).get("/dribble", timeout_s=0.5)
    message = str(caught.value)
    assert not isinstance(caught.value, AppUnreadable)
    assert "did not finish answering GET /dribble within 0.5 s" in message
    assert "after status 200" in message
    assert 0 < Handler.sent["dribble"] < 100  # the client hung up before the body was whole


def test_dribbled_headers_fail_at_the_total_deadline(server: str) -> None:
    with pytest.raises(AppFailure, match=r"within 0\.5 s \(before any answer\)"):
        AppClient(server).get("/dribble-headers", timeout_s=0.5)


@pytest.mark.parametrize(("path", "fragment"), [
    ("/long-line", "a line over 1048576 bytes"),
    ("/many-events", "over 10000 events"),
    ("/not-utf8", "line 1 of the stream from POST /not-utf8 is not UTF-8"),
])
def test_a_stream_over_a_cap_is_unreadable(server: str, path: str, fragment: str) -> None:
    with pytest.raises(AppUnreadable) as caught:
        AppClient(server).stream(path, {}, timeout_s=30)
    assert fragment in str(caught.value)


def test_a_stream_can_be_left_after_its_first_event(server: str) -> None:
    events = AppClient(server).stream("/stream", {}, timeout_s=5, until=lambda event: True)
    assert [event for event, _ in events] == ["delta"]


# --- the health wait -----------------------------------------------------------------------------

DRIBBLING_HEALTH = '''
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("content-length", "1000")
        self.end_headers()
        try:
            for _ in range(1000):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
server.daemon_threads = True
server.serve_forever()
'''


def test_a_health_endpoint_that_dribbles_is_an_app_that_did_not_start(tmp_path: Path) -> None:
    script = tmp_path / "dribbler.py"
    script.write_text(DRIBBLING_HEALTH)
    spec = LaunchSpec(argv_template=("python", str(script), "{port}"), health="/health", cwd=tmp_path,
                      env={"PATH": "/usr/bin:/bin"}, python=sys.executable, startup_limit_s=1.5)
    app = AppProcess(spec)
    try:
        with pytest.raises(AppStartError) as caught:
            app.wait_healthy()
    finally:
        app.stop()
    assert caught.value.status == "did-not-start" and caught.value.exit_code == 3
    assert "within 1.5 s of starting" in str(caught.value)
    assert "did not finish answering GET /health" in str(caught.value)
    assert not app.alive


def test_the_deadline_transport_refuses_once_the_deadline_passed() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        app = AppClient(f"http://127.0.0.1:{listener.getsockname()[1]}")
        with pytest.raises(AppFailure, match="before any answer"):
            app.post("/x", json.loads("{}"), timeout_s=0.2)  # accepted, never answered
