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
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import socket
import struct
import time
from collections.abc import MutableMapping
from typing import Any

RECEIVED_AT = "fake_llm.received_at"

_TRANSPORT: contextvars.ContextVar[asyncio.Transport | None] = contextvars.ContextVar(
    "fake_llm_transport", default=None
)


def abortable(protocol_class: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """A subclass of a uvicorn HTTP protocol that lets requests abort their connection."""

    class Abortable(protocol_class):  # type: ignore[valid-type,misc]
        def data_received(self, data: bytes) -> None:
            received_at = time.monotonic()
            token = _TRANSPORT.set(self.transport)
            try:
                super().data_received(data)
            finally:
                _TRANSPORT.reset(token)
            # uvicorn has just built the scope of the request these bytes began, if any.
            scope = getattr(self, "scope", None)
            if scope is not None and RECEIVED_AT not in scope:
                scope[RECEIVED_AT] = received_at

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
