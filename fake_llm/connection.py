"""Reaching below ASGI to the TCP connection, so faults can reset or cut it.

ASGI gives an app no way to drop a connection without a response, yet a ``reset`` must reach the
client as a transport error, not an HTTP status. The server therefore runs uvicorn with a protocol
subclass that publishes each connection's transport in a context variable; the request task
inherits it.

The same subclass stamps each request's scope with the moment its bytes reached the server
(``RECEIVED_AT``, on the monotonic clock), before any parsing or queueing in the event loop. A
scripted latency is then the time from that moment to the answer, so the server's own work and
the queue behind a burst of requests are inside the injected delay instead of added to it, as
they would be at a real provider.

It also closes connections that hold the server without sending a request: a request whose
headers and body do not arrive in full within :attr:`ConnectionLimits.request_s` of its first
byte (slowloris), a connection idle for :attr:`ConnectionLimits.idle_s`, and a request head over
:attr:`ConnectionLimits.head_bytes` (uvicorn has no such limits of its own with httptools: its
keep-alive timer stops at the first byte of the next request).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import socket
import struct
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

RECEIVED_AT = "fake_llm.received_at"

_TRANSPORT: contextvars.ContextVar[asyncio.Transport | None] = contextvars.ContextVar(
    "fake_llm_transport", default=None
)


@dataclass(frozen=True)
class ConnectionLimits:
    """How long and how large a client may be before the server closes its connection.

    ``request_s``: a request's headers and body must arrive in full within this many seconds of
    its first byte (a slowloris sending a byte at a time, or a body that trickles in, is cut).
    ``idle_s``: a connection with no request in progress, fresh or kept alive after a response,
    is closed after this many seconds; longer than the 5 s for which httpx keeps an idle
    connection, so a pooled client closes first and never reuses a connection the server is
    closing. ``head_bytes``: a request line and headers larger than this get a 431 (with h11,
    uvicorn's own limit, set to the same size, answers 400).
    """

    request_s: float = 10.0
    idle_s: float = 30.0
    head_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        if not (self.request_s > 0 and self.idle_s > 0 and self.head_bytes > 0):
            raise ValueError(f"connection limits must be positive, got {self}")


_HEAD_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\n"
                   b"content-length: 35\r\nconnection: close\r\n\r\nrequest line and headers too large\n")


def abortable(protocol_class: type[asyncio.Protocol],
              limits: ConnectionLimits | None = None) -> type[asyncio.Protocol]:
    """A subclass of a uvicorn HTTP protocol that lets requests abort their connection, and
    closes connections that break ``limits``.

    A connection is in one of three states: idle (no request in progress), reading a request (its
    first byte came, its last has not), or waiting for the app's answer (no limit: a ``hang`` is
    the app's to end). One timer a connection checks the first two; it ticks at most every
    ``min(request_s, idle_s)`` and at each state's deadline, so a request costs a few attribute
    writes, not a timer of its own.
    """
    chosen = limits or ConnectionLimits()
    tick_s = min(chosen.request_s, chosen.idle_s)
    exact_messages = hasattr(protocol_class, "on_message_complete")  # httptools; h11 has events

    class Abortable(protocol_class):  # type: ignore[valid-type,misc]
        _reading_since: float | None = None
        _idle_since: float | None = None
        _head_done = True
        _head_bytes = 0
        _check: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            self._idle_since = time.monotonic()
            self._check = self.loop.call_later(tick_s, self._check_limits)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._check is not None:
                self._check.cancel()
                self._check = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            received_at = time.monotonic()
            if self._idle_since is not None:  # the first bytes of a request
                self._idle_since = None
                self._reading_since = received_at
            token = _TRANSPORT.set(self.transport)
            try:
                super().data_received(data)
            finally:
                _TRANSPORT.reset(token)
            # uvicorn has just built the scope of the request these bytes began, if any.
            scope = getattr(self, "scope", None)
            if scope is not None and RECEIVED_AT not in scope:
                scope[RECEIVED_AT] = received_at
            if not self._head_done:
                self._head_bytes += len(data)
                if self._head_bytes > chosen.head_bytes and not self.transport.is_closing():
                    self.transport.write(_HEAD_TOO_LARGE)
                    self.transport.close()
            if not exact_messages and self._reading_since is not None and self._h11_request_in():
                self._request_in()

        def _h11_request_in(self) -> bool:
            import h11

            return self.conn.their_state not in (h11.IDLE, h11.SEND_BODY)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_done = False
            self._head_bytes = 0

        def on_headers_complete(self) -> None:
            self._head_done = True
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._request_in()

        def _request_in(self) -> None:
            """The request's last byte came: the app's turn, or idle if it answered already."""
            self._reading_since = None
            cycle = self.cycle
            if cycle is not None and cycle.response_complete:
                self._idle_since = time.monotonic()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            cycle = self.cycle
            if self._reading_since is None and (cycle is None or cycle.response_complete):
                self._idle_since = time.monotonic()

        def _check_limits(self) -> None:
            self._check = None
            if self.transport.is_closing():
                return
            now = time.monotonic()
            if self._reading_since is not None:
                due = self._reading_since + chosen.request_s
            elif self._idle_since is not None:
                due = self._idle_since + chosen.idle_s
            else:
                due = math.inf
            if now >= due:
                self.transport.close()
                return
            self._check = self.loop.call_later(min(due - now, tick_s), self._check_limits)

    if not exact_messages:
        for name in ("on_message_begin", "on_headers_complete", "on_message_complete"):
            delattr(Abortable, name)
    Abortable.__name__ = f"Abortable{protocol_class.__name__}"
    return Abortable


def received_at(scope: MutableMapping[str, Any]) -> float:
    """When the request's bytes reached the server (``time.monotonic()``); now, when unknown."""
    value = scope.get(RECEIVED_AT)
    return value if isinstance(value, float) else time.monotonic()


def can_abort() -> bool:
    """Whether the current request's connection can be aborted."""
    return _TRANSPORT.get() is not None


async def abort_connection(flush_timeout_s: float = 0.2) -> None:
    """Reset the current connection (TCP RST), after letting already-written bytes go out.

    Raises ``RuntimeError`` when the server was not started by :mod:`fake_llm.runner`.
    """
    transport = _TRANSPORT.get()
    if transport is None:
        raise RuntimeError("this server cannot reset connections; run it with fake_llm.runner")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + flush_timeout_s
    while transport.get_write_buffer_size() and loop.time() < deadline:
        await asyncio.sleep(0.005)
    sock: Any = transport.get_extra_info("socket")
    if sock is not None:
        # OSError: the peer closed first, and aborting is all that is left.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
