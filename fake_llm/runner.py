"""Running the server: in the foreground (the CLI) or in-process on an ephemeral port (tests).

Both run uvicorn with :func:`fake_llm.connection.abortable` protocols, so ``reset`` and
``disconnect`` can cut real connections.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from fake_llm.admin import ADMIN_TOKEN_HEADER
from fake_llm.app import create_app
from fake_llm.connection import ConnectionLimits, abortable
from fake_llm.ledger import DEFAULT_CAPACITY
from fake_llm.profiles import load_profile
from fake_llm.state import ChaosState
from fake_llm.weather import ClockMode

_STARTUP_LIMIT_S = 30.0


class _QuietAborts(logging.Filter):
    """Drops uvicorn's complaint about responses that a reset or disconnect fault cut on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("ASGI callable returned without")


logging.getLogger("uvicorn.error").addFilter(_QuietAborts())


def _protocol_class(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return abortable(HttpToolsProtocol, limits)
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return abortable(H11Protocol, limits)


def uvicorn_config(state: ChaosState, host: str, port: int, log_level: str = "warning",
                   limits: ConnectionLimits | None = None) -> uvicorn.Config:
    """A uvicorn config serving the fake LLM with abortable, time-limited connections."""
    limits = limits or ConnectionLimits()
    return uvicorn.Config(
        create_app(state), host=host, port=port, http=_protocol_class(limits), lifespan="off",
        log_level=log_level, access_log=False, timeout_keep_alive=max(1, round(limits.idle_s)),
        backlog=4096, timeout_graceful_shutdown=1, h11_max_incomplete_event_size=limits.head_bytes,
    )


def make_state(profile: str = "calm", seed: int = 0, settings: dict[str, Any] | None = None,
               ledger_capacity: int = DEFAULT_CAPACITY, admin_open: bool = False,
               admin_token: str | None = None, grading: bool = False,
               clock: ClockMode | None = None) -> ChaosState:
    """Server state from a level name or profile path; raises ProfileError on a bad profile."""
    return ChaosState(load_profile(profile, settings), seed, ledger_capacity, admin_open, admin_token,
                      grading, clock)


class Admin:
    """A small client for the admin API."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        headers = {ADMIN_TOKEN_HEADER: token} if token is not None else {}
        self._http = httpx.Client(base_url=f"{base_url}/_chaos", timeout=10, headers=headers)

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise ValueError(f"admin API refused: {response.status_code} {response.text}")
        return response.json()

    def script(self, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Queue scripted rules (applied before the profile); returns the rules in force."""
        result: list[dict[str, Any]] = self._ok(self._http.post("/script", json={"rules": rules}))["rules"]
        return result

    def clear_script(self) -> None:
        self._ok(self._http.delete("/script"))

    def ledger(self, since_id: int = 0) -> list[dict[str, Any]]:
        """Ledger rows, in arrival order."""
        rows: list[dict[str, Any]] = self.ledger_snapshot(since_id)["rows"]
        return rows

    def ledger_snapshot(self, since_id: int = 0) -> dict[str, Any]:
        """The ledger with its clock (``now_s``), dropped-row count and in-flight count."""
        snapshot: dict[str, Any] = self._ok(self._http.get("/ledger", params={"since_id": since_id}))
        return snapshot

    def reset(self) -> None:
        """Clear the ledger, attempt counters and scripts."""
        self._ok(self._http.post("/reset"))

    def profile(self) -> dict[str, Any]:
        result: dict[str, Any] = self._ok(self._http.get("/profile"))
        return result

    def set_profile(self, profile: str | None = None, settings: dict[str, Any] | None = None,
                    seed: int | None = None) -> dict[str, Any]:
        """Switch level and/or override knobs at run time."""
        body: dict[str, Any] = {}
        if profile is not None:
            body["profile"] = profile
        if settings:
            body["set"] = settings
        if seed is not None:
            body["seed"] = seed
        result: dict[str, Any] = self._ok(self._http.put("/profile", json=body))
        return result

    def weather(self, from_tick: int | None = None, to_tick: int | None = None) -> dict[str, Any]:
        """The weather clock (``mode``, ``tick``), the current ``phase`` and the ``schedule``: the
        stretches of unchanging phases over ``[from_tick, to_tick)`` (default: this cycle and the
        next)."""
        params = {k: v for k, v in (("from_tick", from_tick), ("to_tick", to_tick)) if v is not None}
        result: dict[str, Any] = self._ok(self._http.get("/weather", params=params))
        return result

    def set_clock(self, tick: int | None = None, *, advance: int | None = None,
                  mode: str | None = None) -> dict[str, Any]:
        """Move the weather clock to ``tick`` or on by ``advance`` (the clock is then driven by
        this API alone), or set its ``mode`` (``requests`` or ``driven``); returns the weather."""
        body = {k: v for k, v in (("tick", tick), ("advance", advance), ("mode", mode)) if v is not None}
        result: dict[str, Any] = self._ok(self._http.post("/clock", json=body))
        return result

    def close(self) -> None:
        self._http.close()


class FakeLLM:
    """The fake LLM server in a background thread on an ephemeral loopback port.

    >>> with FakeLLM(profile="calm", seed=7) as fake:
    ...     fake.openai_base_url   # for openai.OpenAI(base_url=...)

    With ``admin_token``, the admin API answers only requests that carry it (``fake.admin`` does):
    the graders use one so that the app under test, on the same loopback, cannot change the faults.
    With ``grading=True`` nothing tells the app which fault it met or that it is graded: no
    ``x-fake-llm-*`` response headers, and ``GET /health`` is ``{"status": "ok"}`` alone; the
    ledger still records everything. ``limits`` bounds slow and idle connections
    (:class:`fake_llm.connection.ConnectionLimits`; tests set them small). ``clock`` says who
    moves the weather clock: ``requests`` (each model request moves it one tick) or ``driven``
    (only ``admin.set_clock``); default ``driven`` in grading mode, else ``requests``.
    """

    def __init__(self, profile: str = "calm", seed: int = 0, settings: dict[str, Any] | None = None,
                 host: str = "127.0.0.1", ledger_capacity: int = DEFAULT_CAPACITY,
                 admin_token: str | None = None, grading: bool = False,
                 limits: ConnectionLimits | None = None, clock: ClockMode | None = None) -> None:
        self.state = make_state(profile, seed, settings, ledger_capacity, admin_token=admin_token,
                                grading=grading, clock=clock)
        self._server = uvicorn.Server(uvicorn_config(self.state, host, 0, limits=limits))
        self._thread = threading.Thread(target=self._server.run, name="fake-llm", daemon=True)
        self.host = host
        self.port = 0
        self.admin: Admin

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return f"{self.base_url}/anthropic"

    def start(self) -> FakeLLM:
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_LIMIT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake LLM server did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        self.admin = Admin(self.base_url, self.state.admin_token)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        if hasattr(self, "admin"):
            self.admin.close()

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
