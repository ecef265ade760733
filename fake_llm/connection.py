"""Reaching below ASGI to the TCP connection, so faults can reset or cut it.

ASGI gives an app no way to drop a connection without a response, yet a ``reset`` must reach the
client as a transport error, not an HTTP status. The server therefore runs uvicorn with a protocol
subclass that publishes each connection's transport in a context variable; the request task
inherits it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import socket
import struct
from typing import Any

_TRANSPORT: contextvars.ContextVar[asyncio.Transport | None] = contextvars.ContextVar(
    "fake_llm_transport", default=None
)


def abortable(protocol_class: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """A subclass of a uvicorn HTTP protocol that lets requests abort their connection."""

    class Abortable(protocol_class):  # type: ignore[valid-type,misc]
        def data_received(self, data: bytes) -> None:
            token = _TRANSPORT.set(self.transport)
            try:
                super().data_received(data)
            finally:
                _TRANSPORT.reset(token)

    Abortable.__name__ = f"Abortable{protocol_class.__name__}"
    return Abortable


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
