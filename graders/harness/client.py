"""The checks' HTTP client for the candidate app: plain JSON calls and SSE streams.

A check never sees an httpx exception: a transport failure (connection refused, reset, the app
not answering within ``timeout_s``) raises :class:`AppFailure`, which the plugin scores as the
candidate's failure. Anything the app *answered* comes back as an :class:`AppResponse`, whatever
its status or body.
"""

from __future__ import annotations

import json as jsonlib
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

DEFAULT_TIMEOUT_S = 15.0


class AppFailure(Exception):
    """The app did not answer an HTTP request (connection error or client-side timeout).

    Scored as a failed check: the message says what happened and is shown as the "why".
    """


@dataclass(frozen=True, slots=True)
class AppResponse:
    """What the app answered.

    ``json`` is the decoded body, or None when the body is not JSON; ``code`` is
    ``json["error"]["code"]`` when the body has that shape, else None; ``elapsed_s`` is measured
    on the grader's clock from sending the request to reading the whole body.
    """

    status: int
    json: Any
    text: str
    elapsed_s: float
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> str | None:
        error = self.json.get("error") if isinstance(self.json, dict) else None
        value = error.get("code") if isinstance(error, dict) else None
        return value if isinstance(value, str) else None


class SseEvent(tuple[str, Any]):
    """One server-sent event: unpacks as ``(event, data)``; ``at_s`` is when it arrived.

    ``event`` defaults to ``"message"``; ``data`` is the decoded JSON (or the raw text when the
    data is not JSON); ``at_s`` is seconds since the request was sent, on the grader's clock.
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
        self.elapsed_s = 0.0

    @property
    def code(self) -> str | None:
        return AppResponse(self.status, self.json, "", 0.0).code


def _decode(text: str) -> Any:
    try:
        return jsonlib.loads(text)
    except ValueError:
        return None


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
            decoded = _decode(text)
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


class AppClient:
    """HTTP access to the running app at ``base_url``; one instance per check."""

    def __init__(self, base_url: str, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._transport = transport

    def _client(self, timeout_s: float) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=self._transport)

    def request(self, method: str, path: str, json: Any = None,
                timeout_s: float = DEFAULT_TIMEOUT_S) -> AppResponse:
        """Send one request; AppFailure if the app did not answer within ``timeout_s``."""
        started = time.monotonic()
        try:
            with self._client(timeout_s) as client:
                response = client.request(method, path, json=json)
        except httpx.TimeoutException:
            raise AppFailure(f"the app did not answer {method} {path} within {timeout_s:g} s") from None
        except httpx.HTTPError as error:
            raise AppFailure(f"{method} {path} failed: {type(error).__name__}: {error}") from None
        elapsed_s = time.monotonic() - started
        return AppResponse(response.status_code, _decode(response.text), response.text, elapsed_s,
                           dict(response.headers))

    def get(self, path: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> AppResponse:
        return self.request("GET", path, timeout_s=timeout_s)

    def post(self, path: str, json: Any = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> AppResponse:
        return self.request("POST", path, json=json, timeout_s=timeout_s)

    def post_many(self, path: str, bodies: Sequence[Any], timeout_s: float = DEFAULT_TIMEOUT_S,
                  ) -> list[AppResponse | AppFailure]:
        """POST every body at once (one thread each); results in the order of ``bodies``.

        A request the app did not answer yields its AppFailure in place of a response, so one
        lost request does not hide the others.
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

    def stream(self, path: str, json: Any = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> SseStream:
        """POST and read the SSE response to its end, stamping each event's arrival.

        ``timeout_s`` bounds the whole stream; AppFailure if it is exceeded or the connection
        fails before the stream ends cleanly.
        """
        events = SseStream()
        started = time.monotonic()
        try:
            with self._client(timeout_s) as client, client.stream("POST", path, json=json) as response:
                self._read_stream(response, events, started, timeout_s)
        except httpx.TimeoutException:
            raise AppFailure(f"the app's stream from {path} did not end within {timeout_s:g} s "
                             f"({len(events)} events received)") from None
        except httpx.HTTPError as error:
            raise AppFailure(f"the stream from {path} failed after {len(events)} events: "
                             f"{type(error).__name__}: {error}") from None
        events.elapsed_s = time.monotonic() - started
        return events

    @staticmethod
    def _read_stream(response: httpx.Response, events: SseStream, started: float,
                     timeout_s: float) -> None:
        events.status = response.status_code
        events.headers = dict(response.headers)
        if "text/event-stream" not in response.headers.get("content-type", ""):
            events.json = _decode(response.read().decode("utf-8", "replace"))
            return
        parser = SseParser()
        for line in response.iter_lines():
            if time.monotonic() - started > timeout_s:
                raise httpx.ReadTimeout("stream exceeded its time limit")
            event = parser.feed(line, time.monotonic() - started)
            if event is not None:
                events.append(event)
        last = parser.feed("", time.monotonic() - started)
        if last is not None:
            events.append(last)
