"""The fake survives hostile clients (bad bodies, oversize bodies, slow and idle connections), and in
grading mode tells the app nothing about its faults."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from fake_llm.body import MAX_BODY_BYTES, MAX_JSON_DEPTH
from fake_llm.connection import ConnectionLimits
from fake_llm.runner import FakeLLM
from graders.harness.inner.context import grader_fake

FAST = {"latency.median_ms": 0, "stream.chunk_interval_ms": 0}
OPENAI = "/v1/chat/completions"
ANTHROPIC = "/anthropic/v1/messages"
MSG = [{"role": "user", "content": "Summarise P0001."}]
GOOD = {OPENAI: {"model": "sim-gpt-large", "messages": MSG},
        ANTHROPIC: {"model": "sim-claude-large", "max_tokens": 200, "messages": MSG}}
SHAPES = [(OPENAI, "POST", "openai"), (ANTHROPIC, "POST", "anthropic"),
          ("/_chaos/script", "POST", "admin"), ("/_chaos/profile", "PUT", "admin")]
GENEROUS_S = 10.0  # a bound for "was closed", far above the limits the tests set


def error_of(response: httpx.Response, shape: str, status: int) -> str:
    """The error message, after checking the status and the route's error shape."""
    assert response.status_code == status, response.text
    body = response.json()
    if shape == "openai":
        assert set(body["error"]) == {"message", "type", "param", "code"}
        assert body["error"]["type"] == "invalid_request_error"
    elif shape == "anthropic":
        assert body["type"] == "error" and set(body["error"]) == {"type", "message"}
        assert body["error"]["type"] == ("request_too_large" if status == 413 else "invalid_request_error")
    else:
        assert body == {"error": {"message": body["error"]["message"]}}
    message: str = body["error"]["message"]
    return message


def send(fake: FakeLLM, method: str, path: str, content: bytes | Iterator[bytes]) -> httpx.Response:
    return httpx.request(method, fake.base_url + path, content=content, timeout=30,
                         headers={"content-type": "application/json"})


def nested(depth: int) -> bytes:
    return b'{"a": ' * (depth - 1) + b"{}" + b"}" * (depth - 1)


@pytest.mark.parametrize(("path", "method", "shape"), SHAPES)
@pytest.mark.parametrize(("body", "needle"), [
    (b"[" * 100_000, "deeper"),                                   # past the parser's recursion limit
    (nested(MAX_JSON_DEPTH + 1), "deeper"),                         # past the fake's own limit
    (b'{"model": ' + b"7" * 5000 + b"}", "4300 digits"),
    (b'{"model": "sim-gpt-large", "messages": "\xff\xfe"}', "UTF-8"),
    (b'{"temperature": NaN}', "NaN"),
    (b'{"temperature": 1e999}', "out of range"),
    (b'"just a string"', "object"),
    (b'{"a": "[[[[[[[[[[\\"[[[[[[[[[["}' + b" []" * 100, "not valid JSON"),  # trailing data
])
def test_malformed_bodies_get_a_400_in_the_routes_shape(fake, path, method, shape, body, needle):
    assert needle in error_of(send(fake, method, path, body), shape, 400)


@pytest.mark.parametrize(("path", "shape"), [(OPENAI, "openai"), (ANTHROPIC, "anthropic")])
def test_an_empty_body_is_not_json(fake, path, shape):
    assert "JSON" in error_of(send(fake, "POST", path, b""), shape, 400)


def test_brackets_inside_strings_do_not_count_as_nesting(fake):
    body = {**GOOD[OPENAI], "metadata": {"note": "[{" * 100 + "\\\"" + "]}" * 3}}
    assert send(fake, "POST", OPENAI, json.dumps(body).encode()).status_code == 200


def test_nesting_up_to_the_limit_is_accepted(fake):
    body = {**GOOD[OPENAI], "metadata": json.loads(nested(MAX_JSON_DEPTH - 1))}
    assert send(fake, "POST", OPENAI, json.dumps(body).encode()).status_code == 200


def test_a_lone_surrogate_is_echoed_escaped_by_the_admin_api(fake):
    response = send(fake, "PUT", "/_chaos/profile", b'{"profile": "\\ud800"}')
    assert "\\ud800" in error_of(response, "admin", 400)


@pytest.mark.parametrize(("path", "method", "shape"), SHAPES)
def test_a_body_over_the_limit_is_refused_while_it_streams_in(fake, path, method, shape):
    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to refuse it by
        for _ in range(MAX_BODY_BYTES // 65536 + 1):
            yield b" " * 65536

    assert "limit" in error_of(send(fake, method, path, chunks()), shape, 413)


@pytest.mark.parametrize(("path", "shape"), [(OPENAI, "openai"), (ANTHROPIC, "anthropic")])
def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(fake, path, shape):
    head = (f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            f"content-length: {MAX_BODY_BYTES + 1}\r\n\r\n").encode()
    with socket.create_connection((fake.host, fake.port), timeout=GENEROUS_S) as sock:
        sock.sendall(head)  # and not one byte of the body
        reply = read_response(sock)
    status, _, body = reply.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 413")
    error_of(httpx.Response(413, content=body), shape, 413)


def read_response(sock: socket.socket) -> bytes:
    """One response with a Content-Length, read to its end."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_body_of_exactly_the_limit_is_read(fake):
    body = json.dumps({**GOOD[OPENAI], "user": ""}).encode()
    padded = body[:-2] + b" " * (MAX_BODY_BYTES - len(body)) + body[-2:]
    assert len(padded) == MAX_BODY_BYTES
    assert send(fake, "POST", OPENAI, padded).status_code == 200


# --- grading mode ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def graded() -> Iterator[FakeLLM]:
    with FakeLLM(profile="calm", seed=3, settings=FAST, grading=True) as server:
        yield server


def fake_headers(response: httpx.Response) -> list[str]:
    return [name for name in response.headers if name.lower().startswith("x-fake-llm-")]


# (fault, stream): each fault where it applies, so the ledger must show it.
FATES = [(None, False), (None, True), ("http_error", False), ("http_error", True), ("rate_limit", False),
         ("json_fences", False), ("json_fences", True), ("empty_body", False), ("truncate", True),
         ("error_event", True)]


def exchange(fake: FakeLLM, path: str, kind: str | None, stream: bool) -> httpx.Response:
    fake.admin.reset()
    if kind is not None:
        fault = {"kind": kind, "status": 503} if kind == "http_error" else {"kind": kind}
        fake.admin.script([{"fault": fault, "times": 1}])
    body = {**GOOD[path], "stream": stream,
            "messages": [{"role": "user", "content": "Extract the fields of P0002."}]}
    with httpx.stream("POST", fake.base_url + path, json=body, timeout=10) as response:
        response.read()
    return response


@pytest.mark.parametrize("path", [OPENAI, ANTHROPIC])
@pytest.mark.parametrize(("kind", "stream"), FATES)
def test_grading_mode_sends_no_fake_llm_headers(graded, path, kind, stream):
    response = exchange(graded, path, kind, stream)
    assert fake_headers(response) == []
    [row] = graded.admin.ledger()  # the ledger still knows
    assert row["fault"] == (kind or "none")


def test_grading_mode_health_is_bare(graded):
    assert httpx.get(graded.base_url + "/health").json() == {"status": "ok"}


@pytest.mark.parametrize("path", [OPENAI, ANTHROPIC])
def test_outside_grading_the_headers_and_health_stay(fake, path):
    response = exchange(fake, path, "http_error", stream=False)
    assert response.headers["x-fake-llm-fault"] == "http_error"
    assert set(fake_headers(response)) == {"x-fake-llm-fault", "x-fake-llm-attempt",
                                           "x-fake-llm-fingerprint", "x-fake-llm-phase"}
    health = httpx.get(fake.base_url + "/health").json()
    assert health["status"] == "ok" and health["profile"] == "calm" and "seed" in health


def test_the_graders_fake_runs_in_grading_mode():
    assert grader_fake("calm", 0).state.grading


# --- slow and idle connections --------------------------------------------------------------------

LIMITS = ConnectionLimits(request_s=0.3, idle_s=0.4, head_bytes=4096)


@pytest.fixture(scope="module")
def strict() -> Iterator[FakeLLM]:
    with FakeLLM(profile="calm", seed=3, settings=FAST, limits=LIMITS) as server:
        yield server


def closed_by_server(sock: socket.socket, trickle: bytes = b"", every_s: float = 0.05) -> bool:
    """Whether the server closes the connection within GENEROUS_S, while ``trickle`` is sent a byte
    at a time (a slowloris) or nothing is (idle)."""
    deadline = time.monotonic() + GENEROUS_S
    sock.settimeout(every_s)
    sent = 0
    while time.monotonic() < deadline:
        try:
            if sent < len(trickle):
                sock.sendall(trickle[sent : sent + 1])
                sent += 1
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:  # reset by the server
            return True
    return False


def connect(fake: FakeLLM) -> socket.socket:
    return socket.create_connection((fake.host, fake.port), timeout=GENEROUS_S)


SLOW_HEAD = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n" + b"x-slow: 1\r\n" * 200


def test_a_slowloris_head_is_cut(strict):
    with connect(strict) as sock:
        assert closed_by_server(sock, trickle=SLOW_HEAD)


def test_a_trickling_body_is_cut(strict):
    with connect(strict) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n")
        assert closed_by_server(sock, trickle=b" " * 5000)


def test_an_idle_connection_is_closed(strict):
    with connect(strict) as sock:
        assert closed_by_server(sock)


def test_a_kept_alive_connection_is_closed_when_idle_even_after_stray_bytes(strict):
    with connect(strict) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(b"\r\n")  # stops uvicorn's own keep-alive timer, but not the fake's
        assert closed_by_server(sock)


def test_a_head_over_the_limit_gets_a_431(strict):
    head = b"GET /health HTTP/1.1\r\nhost: x\r\nx-big: "
    with connect(strict) as sock:
        # One byte over, and no more: the server has read all of it when it answers and closes.
        sock.sendall(head + b"a" * (LIMITS.head_bytes + 1 - len(head)))
        assert sock.recv(100).startswith(b"HTTP/1.1 431")


def test_the_apps_turn_has_no_limit(strict):
    """A request that arrived in full waits for its answer as long as the fault says."""
    strict.admin.script([{"fault": {"kind": "latency", "delay_ms": 1000}, "times": 1}])
    with httpx.Client(base_url=strict.base_url, timeout=GENEROUS_S) as client:
        assert client.post(OPENAI, json=GOOD[OPENAI]).status_code == 200
        assert client.post(OPENAI, json=GOOD[OPENAI]).status_code == 200  # the same connection


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        ConnectionLimits(request_s=0)
