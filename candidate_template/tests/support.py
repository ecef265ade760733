"""Test helpers: the app served on a real loopback port, and reading server-sent events.

The app runs under uvicorn in a background thread, exactly as in production (and as the fake
LLM does in ``fake_llm.runner``), and tests talk to it with a plain ``httpx.Client``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import httpx
import uvicorn
from fastapi import FastAPI

_STARTUP_LIMIT_S = 10.0
_SHUTDOWN_LIMIT_S = 10.0
# uvicorn takes a fixed ~0.2 s to shut down; servers finish stopping in the background, and
# join_stopping_servers() waits for them all once, at the end of the run.
_stopping: list[threading.Thread] = []


@contextmanager
def serve(app: FastAPI) -> Iterator[httpx.Client]:
    """Run ``app`` (lifespan included) on an ephemeral port; yield a client bound to it.

    On exit the server stops accepting requests; it finishes shutting down in the background.
    """
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="litreview-test", daemon=True)
    thread.start()
    give_up_at = time.monotonic() + _STARTUP_LIMIT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > give_up_at:
            raise RuntimeError("the app did not start")
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0) as client:
            yield client
    finally:
        server.should_exit = True
        _stopping.append(thread)


def join_stopping_servers() -> None:
    """Wait until every server started by :func:`serve` has shut down."""
    while _stopping:
        _stopping.pop().join(timeout=_SHUTDOWN_LIMIT_S)


class HasText(Protocol):
    """A response body, as any HTTP client exposes it."""

    @property
    def text(self) -> str: ...


def read_events(response: HasText) -> list[tuple[str, dict[str, Any]]]:
    """The ``(event, data)`` pairs of a server-sent-events response, in order."""
    events = []
    for block in response.text.split("\n\n"):
        lines = block.strip().splitlines()
        if not lines:
            continue
        fields = dict(line.split(": ", 1) for line in lines)
        events.append((fields["event"], json.loads(fields["data"])))
    return events
