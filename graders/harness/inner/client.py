"""The checks' HTTP client for the candidate app: plain JSON calls and SSE streams, read safely.

The app is untrusted, and so is everything it sends. A check never sees an httpx exception: a
transport failure (connection refused, reset, the app not finishing within ``timeout_s``) raises
:class:`~graders.harness.errors.AppFailure`, which the plugin scores as the candidate's failure.
Anything the app *answered* comes back as an :class:`AppResponse`, whatever its status or body.

Every read is bounded, in size and in total time:

- ``timeout_s`` is a *total* deadline for the whole exchange (connect, send, headers, body), not
  a per-read timeout: every socket operation waits at most what is left of it (see
  :class:`_DeadlineBackend`), so a body that dribbles a byte at a time fails at the deadline;
- a body is read up to :data:`MAX_BODY_BYTES`, an SSE line up to :data:`MAX_LINE_BYTES`, a stream
  up to :data:`MAX_EVENTS` events: over a cap is :class:`~graders.harness.errors.AppUnreadable`,
  with what was over which cap as the evidence, before the grader has spent the memory.

Decoding is safe too (:func:`decode_json`): a body that is not UTF-8, not JSON, nested deeper
than :data:`MAX_DEPTH`, or holding a number longer than :data:`MAX_NUMBER_CHARS` characters
comes back as ``json=None`` with the reason in ``AppResponse.unreadable``, the same as any other
answer that is not JSON: the check fails on it as on a wrong answer, and shows the reason.

The JSON a check gets is made of :class:`AppObject` and :class:`AppArray` (``dict`` and ``list``
subclasses, equal to plain ones): a lookup that fails on them (a missing field, an index past the
end, an object where a list should be) raises :class:`~graders.harness.errors.AppDataError`, a
candidate fault, instead of KeyError or IndexError. So a wrong shape in the app's answer is the
app's failure wherever a check reads it, while a KeyError on the kit's own data (a contract
table, a ledger row) stays a grader-error. Turning every TypeError or KeyError a check raises
into a fail would be simpler and wrong: it would also turn the kit's own bugs into fails, which
a flawed solution's expected failures could hide from the validity suite. A check that reads a
field the contract does not promise fails for every app, the reference too, which the validity
suite does catch.
"""

from __future__ import annotations

import json as jsonlib
import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from graders.harness.errors import AppDataError, AppFailure, AppUnreadable

DEFAULT_TIMEOUT_S = 15.0
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
MAX_EVENTS = 10_000
MAX_DEPTH = 64
MAX_NUMBER_CHARS = 40

__all__ = ["AppClient", "AppFailure", "AppResponse", "SseEvent", "SseParser", "SseStream",
           "decode_json"]


# --- the app's JSON ------------------------------------------------------------------------------

class AppObject(dict[str, Any]):
    """A JSON object the app sent: a dict whose missing keys raise AppDataError (the app's fault)."""

    def __missing__(self, key: Any) -> Any:
        if isinstance(key, int):
            raise AppDataError(f"the app sent an object where a list was expected (item {key} read)")
        fields = ", ".join(repr(name) for name in list(self)[:10]) or "none"
        raise AppDataError(f"the app's JSON object has no field {key!r} (its fields: {fields})")


class AppArray(list[Any]):
    """A JSON array the app sent: a list whose failed lookups raise AppDataError."""

    def __getitem__(self, index: Any) -> Any:
        try:
            return super().__getitem__(index)
        except IndexError:
            raise AppDataError(f"the app's JSON list has {len(self)} items; item {index} was read") \
                from None
        except TypeError:
            raise AppDataError(f"the app sent a list where an object was expected (field {index!r} "
                               "read)") from None

    def __getattr__(self, name: str) -> Any:
        if name in ("get", "keys", "items", "values"):
            raise AppDataError(f"the app sent a list where an object was expected (.{name}() used)")
        raise AttributeError(name)


class _TooDeep(Exception):
    pass


def _views(value: Any, depth: int = 1) -> Any:
    """``value`` with its objects and arrays as AppObject and AppArray; _TooDeep past MAX_DEPTH."""
    if depth > MAX_DEPTH and isinstance(value, dict | list):
        raise _TooDeep
    if isinstance(value, dict):
        return AppObject((key, _views(item, depth + 1)) for key, item in value.items())
    if isinstance(value, list):
        return AppArray(_views(item, depth + 1) for item in value)
    return value


def _parse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text)} digits (the grader reads at most {MAX_NUMBER_CHARS})")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text)} characters (the grader reads at most "
                         f"{MAX_NUMBER_CHARS})")
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text} is too large for a float")
    return value


def decode_json(data: bytes) -> tuple[Any, str | None]:
    """``(value, None)`` for a readable JSON body (objects and arrays as AppObject and AppArray),
    else ``(None, why it is unreadable)``. Never raises, whatever ``data`` holds.

    The standard decoder is safe to run on anything: it is linear, and its nesting is bounded by
    the interpreter's recursion limit (RecursionError, caught here); the depth the checks may
    meet is then bounded again, far lower, while the result is wrapped.
    """
    if not data.strip():
        return None, "the body is empty"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, f"the body is not UTF-8 (byte {error.start})"
    try:
        value = jsonlib.loads(text, parse_constant=_parse_constant, parse_int=_parse_int,
                              parse_float=_parse_float)
    except RecursionError:
        return None, f"the JSON is nested more than {MAX_DEPTH} levels deep"
    except ValueError as error:
        return None, f"the body is not JSON: {str(error)[:160]}"
    try:
        return _views(value), None
    except _TooDeep:
        return None, f"the JSON is nested more than {MAX_DEPTH} levels deep"


# --- responses -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AppResponse:
    """What the app answered.

    ``json`` is the decoded body, or None when the body is not readable JSON (``unreadable``
    says why); ``code`` is ``json["error"]["code"]`` when the body has that shape, else None;
    ``elapsed_s`` is measured on the grader's clock from sending the request to reading the
    whole body.
    """

    status: int
    json: Any
    text: str
    elapsed_s: float
    headers: dict[str, str] = field(default_factory=dict)
    unreadable: str | None = None

    @property
    def code(self) -> str | None:
        return _error_code(self.json)


def _error_code(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    value = error.get("code") if isinstance(error, dict) else None
    return value if isinstance(value, str) else None


class SseEvent(tuple[str, Any]):
    """One server-sent event: unpacks as ``(event, data)``; ``at_s`` is when it arrived.

    ``event`` defaults to ``"message"``; ``data`` is the decoded JSON (or the raw text when the
    data is not readable JSON); ``at_s`` is seconds since the request was sent, on the grader's
    clock.
    """

    at_s: float

    def __new__(cls, event: str, data: Any, at_s: float) -> SseEvent:
        self = super().__new__(cls, (event, data))
        self.at_s = at_s
        return self

    @property
    def event(self) -> str:
        return self[0]

    @property
    def data(self) -> Any:
        return self[1]


class SseStream(list[SseEvent]):
    """The events of one streamed response, in order, plus the response's status and headers.

    A response that is not ``text/event-stream`` (for example a 400 before the stream started)
    holds no events; its decoded body is in ``json`` and ``code`` as for :class:`AppResponse`.
    ``elapsed_s`` is the time until the stream ended.
    """

    def __init__(self) -> None:
        super().__init__()
        self.status = 0
        self.headers: dict[str, str] = {}
        self.json: Any = None
        self.unreadable: str | None = None
        self.elapsed_s = 0.0

    @property
    def code(self) -> str | None:
        return _error_code(self.json)


class SseParser:
    """Incremental SSE parsing (the WHATWG rules that matter here): feed lines, collect events."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str, at_s: float) -> SseEvent | None:
        """One line without its terminator; returns an event when a blank line completes one."""
        if not line:
            if not self._data and not self._event:
                return None
            text = "\n".join(self._data)
            decoded, _ = decode_json(text.encode("utf-8"))
            event = SseEvent(self._event or "message", text if decoded is None else decoded, at_s)
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None


_TERMINATOR = re.compile(rb"\r\n|\r|\n")


def split_lines(chunks: Iterator[bytes], max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The lines of a byte stream (CRLF, CR or LF ended), each at most ``max_line_bytes`` long;
    AppUnreadable for a longer one, before it is all in memory."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        start = 0
        while (match := _TERMINATOR.search(pending, start)) is not None:
            if match.group() == b"\r" and match.end() == len(pending):
                break  # may be the first half of a CRLF split between chunks
            if match.start() - start > max_line_bytes:
                break
            yield pending[start:match.start()]
            start = match.end()
        pending = pending[start:]
        if len(pending) > max_line_bytes + 1:
            raise AppUnreadable(f"the stream sent a line over {max_line_bytes} bytes")
    if pending:
        yield pending.removesuffix(b"\r")


# --- the transport: a total deadline on every socket operation -----------------------------------

class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most until the exchange's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream, self._deadline = stream, deadline

    def _left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise error("the exchange's total deadline passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("the grader speaks plain HTTP to the app")

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, every operation bounded by a total deadline.

    httpx's own timeouts bound each socket operation separately, so a peer that sends one byte
    at a time never trips them; clamping each operation to what is left of one deadline bounds
    the whole exchange, headers included, without a watchdog thread.
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ConnectTimeout("the exchange's total deadline passed")
        stream = self._backend.connect_tcp(host, port, left if timeout is None else min(timeout, left),
                                           local_address, socket_options)
        return _DeadlineStream(stream, self.deadline)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("the grader reaches the app over TCP only")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """An httpx transport for one exchange that ends at ``deadline`` (time.monotonic())."""

    def __init__(self, deadline: float) -> None:
        super().__init__(verify=False, trust_env=False)
        self._pool = httpcore.ConnectionPool(network_backend=_DeadlineBackend(deadline), retries=0)


@dataclass(slots=True)
class _Exchange:
    """What a bounded exchange saw so far (for the evidence when it fails)."""

    what: str
    started: float
    status: int = 0
    received: int = 0


def read_body(response: httpx.Response, exchange: _Exchange, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, at most ``limit`` bytes (AppUnreadable past it)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and len(declared) < 20 and int(declared) > limit:
        raise AppUnreadable(f"the app's answer to {exchange.what} declares {int(declared)} bytes; "
                            f"the grader reads at most {limit}")
    chunks: list[bytes] = []
    for chunk in response.iter_bytes():
        exchange.received += len(chunk)
        if exchange.received > limit:
            raise AppUnreadable(f"the app's answer to {exchange.what} is over {limit} bytes; the "
                                "grader reads no more")
        chunks.append(chunk)
    return b"".join(chunks)


# --- the client ----------------------------------------------------------------------------------

class AppClient:
    """HTTP access to the running app at ``base_url``; one instance per check.

    ``transport`` replaces the real one (tests); the total deadline then holds between reads only.
    """

    def __init__(self, base_url: str, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._transport = transport

    def _client(self, deadline: float, idle_s: float | None = None) -> httpx.Client:
        transport = self._transport or DeadlineTransport(deadline)
        limit_s = max(0.001, deadline - time.monotonic())
        timeout = httpx.Timeout(limit_s, read=min(idle_s, limit_s) if idle_s else limit_s)
        return httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                            trust_env=False, headers={"accept-encoding": "identity"})

    def _failure(self, error: httpx.HTTPError, exchange: _Exchange, timeout_s: float,
                 idle_s: float | None = None) -> AppFailure:
        got = (f"after status {exchange.status} and {exchange.received} bytes of body"
               if exchange.status else "before any answer")
        elapsed_s = time.monotonic() - exchange.started
        if isinstance(error, httpx.ReadTimeout) and idle_s and elapsed_s < timeout_s - 0.01:
            return AppFailure(f"the app went silent for over {idle_s:g} s in {exchange.what} "
                              f"({got}, after {elapsed_s:.1f} s)")
        if isinstance(error, httpx.TimeoutException):
            return AppFailure(f"the app did not finish answering {exchange.what} within "
                              f"{timeout_s:g} s ({got})")
        return AppFailure(f"{exchange.what} failed {got}: {type(error).__name__}: {error}")

    def request(self, method: str, path: str, json: Any = None,
                timeout_s: float = DEFAULT_TIMEOUT_S) -> AppResponse:
        """Send one request and read the whole answer within ``timeout_s`` (total); AppFailure if
        the app did not, AppUnreadable if the body is over :data:`MAX_BODY_BYTES`."""
        exchange = _Exchange(f"{method} {path}", time.monotonic())
        deadline = exchange.started + timeout_s
        try:
            with self._client(deadline) as client, \
                    client.stream(method, path, json=json) as response:
                exchange.status = response.status_code
                body = read_body(response, exchange)
                headers = dict(response.headers)
        except httpx.HTTPError as error:
            raise self._failure(error, exchange, timeout_s) from None
        elapsed_s = time.monotonic() - exchange.started
        if self._transport is not None and elapsed_s > timeout_s:  # a test transport: not bounded
            raise AppFailure(f"the app did not finish answering {exchange.what} within {timeout_s:g} s")
        value, problem = decode_json(body)
        return AppResponse(exchange.status, value, body.decode("utf-8", "replace"), elapsed_s,
                           headers, problem)

    def get(self, path: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> AppResponse:
        return self.request("GET", path, timeout_s=timeout_s)

    def post(self, path: str, json: Any = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> AppResponse:
        return self.request("POST", path, json=json, timeout_s=timeout_s)

    def post_many(self, path: str, bodies: Sequence[Any], timeout_s: float = DEFAULT_TIMEOUT_S,
                  ) -> list[AppResponse | AppFailure]:
        """POST every body at once (one thread each); results in the order of ``bodies``.

        A request the app did not answer (or answered unreadably) yields its AppFailure in place
        of a response, so one lost request does not hide the others. Each request has its own
        total deadline, so no thread outlives ``timeout_s`` by much.
        """

        def one(body: Any) -> AppResponse | AppFailure:
            try:
                return self.post(path, body, timeout_s)
            except AppFailure as failure:
                return failure

        if not bodies:
            return []
        pool = ThreadPoolExecutor(max_workers=min(len(bodies), 64))
        try:
            return list(pool.map(one, bodies))
        finally:  # on a check's time limit, do not wait here for the requests still out
            pool.shutdown(wait=False, cancel_futures=True)

    def stream(self, path: str, json: Any = None, timeout_s: float = DEFAULT_TIMEOUT_S, *,
               idle_s: float | None = None,
               until: Callable[[SseEvent], bool] | None = None) -> SseStream:
        """POST and read the SSE response to its end, stamping each event's arrival.

        ``timeout_s`` bounds the whole stream, ``idle_s`` (if given) each silence in it;
        AppFailure if either is exceeded or the connection fails before the stream ends cleanly,
        AppUnreadable past a cap (a line, the events, the bytes). ``until``: stop reading (and
        close the connection, as a user who leaves) after the first event it is true for.
        """
        events = SseStream()
        exchange = _Exchange(f"the stream from POST {path}", time.monotonic())
        deadline = exchange.started + timeout_s
        try:
            with self._client(deadline, idle_s) as client, \
                    client.stream("POST", path, json=json) as response:
                exchange.status = response.status_code
                self._read_stream(response, events, exchange, deadline, until)
        except httpx.HTTPError as error:
            failure = self._failure(error, exchange, timeout_s, idle_s)
            raise type(failure)(f"{failure} ({len(events)} events received)") from None
        events.elapsed_s = time.monotonic() - exchange.started
        return events

    @staticmethod
    def _read_stream(response: httpx.Response, events: SseStream, exchange: _Exchange,
                     deadline: float, until: Callable[[SseEvent], bool] | None) -> None:
        events.status = response.status_code
        events.headers = dict(response.headers)
        if "text/event-stream" not in response.headers.get("content-type", ""):
            events.json, events.unreadable = decode_json(read_body(response, exchange))
            return
        parser = SseParser()

        def counted() -> Iterator[bytes]:
            for chunk in response.iter_bytes():
                exchange.received += len(chunk)
                if exchange.received > MAX_BODY_BYTES:
                    raise AppUnreadable(f"{exchange.what} sent over {MAX_BODY_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the stream passed its total deadline")
                yield chunk

        for number, raw in enumerate(split_lines(counted()), start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise AppUnreadable(f"line {number} of {exchange.what} is not UTF-8") from None
            event = parser.feed(line, time.monotonic() - exchange.started)
            if event is not None and _add(events, event, exchange) and until is not None \
                    and until(event):
                return
        last = parser.feed("", time.monotonic() - exchange.started)
        if last is not None:
            _add(events, last, exchange)


def _add(events: SseStream, event: SseEvent, exchange: _Exchange) -> bool:
    if len(events) >= MAX_EVENTS:
        raise AppUnreadable(f"{exchange.what} sent over {MAX_EVENTS} events")
    events.append(event)
    return True
