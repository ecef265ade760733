"""What both wire formats share: turning failed calls into AttemptError, and reading SSE.

Classification (the contract): connection errors, timeouts and streams cut short are transient,
and so are HTTP 408, 409, 429, 500, 502, 503, 504 and 529. Any other status is the provider
refusing the request. A 200 whose body is no completion, a garbled stream event and an error
event mid-stream are unusable answers, not transient failures. ``x-should-retry: true|false``
overrides whether to retry.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from litreview.errors import AttemptError, FailureKind
from litreview.llm.types import StreamEnd, StreamEvent, Usage

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


def retry_after_s(headers: httpx.Headers, now_epoch_s: float | None = None) -> float | None:
    """The wait the provider asks for: ``retry-after-ms``, else ``retry-after`` (seconds or an
    HTTP date). None when absent or unreadable; never negative."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    now = time.time() if now_epoch_s is None else now_epoch_s
    return max(0.0, when.timestamp() - now)


def should_retry(headers: httpx.Headers) -> bool | None:
    """The provider's ``x-should-retry`` verdict, or None when it gave none."""
    value = headers.get("x-should-retry", "").strip().lower()
    return {"true": True, "false": False}.get(value)


def error_from_response(provider: str, response: httpx.Response) -> AttemptError:
    """The AttemptError for an HTTP error response (its body must already be read)."""
    status = response.status_code
    return AttemptError(
        f"HTTP {status}: {response.text[:200]}",
        provider=provider,
        kind="http",
        transient=status in RETRYABLE_STATUSES,
        should_retry=should_retry(response.headers),
        upstream_status=status,
        retry_after_s=retry_after_s(response.headers),
    )


def unreadable_error(provider: str, problem: str, usage: Usage | None = None) -> AttemptError:
    """A 200 whose body we cannot read as a completion (empty, HTML, no choices): most often a
    proxy's or gateway's page, gone on the next try, so it is retried like a transient failure."""
    return AttemptError(problem, provider=provider, kind="unreadable", transient=True, usage=usage)


def cut_error(provider: str, problem: str, usage: Usage) -> AttemptError:
    """A stream that dropped or ended before its end marker."""
    return AttemptError(problem, provider=provider, kind="cut", transient=True, usage=usage)


def stream_failure(
    provider: str, exc: httpx.HTTPError, started: bool, usage: Usage
) -> AttemptError:
    """httpx's failure during a stream: a connection error before the 200, a cut stream after."""
    name = type(exc).__name__
    if started:
        return cut_error(provider, f"stream dropped: {name}", usage)
    kind: FailureKind = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection"
    return AttemptError(f"connection failed: {name}", provider=provider, kind=kind, transient=True)


def broken_error(provider: str, problem: str, usage: Usage) -> AttemptError:
    """A stream that carried a garbled event or an error event."""
    return AttemptError(problem, provider=provider, kind="broken", transient=False, usage=usage)


def read_json(provider: str, response: httpx.Response) -> dict[str, Any]:
    """A successful response's JSON object, whatever its content-type says."""
    try:
        data = json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        problem = f"unreadable body ({len(response.content)} bytes)"
        raise unreadable_error(provider, problem) from None
    if not isinstance(data, dict):
        raise unreadable_error(provider, "the body is not a JSON object")
    return data


def httpx_timeout(total_s: float | None, connect_s: float) -> httpx.Timeout:
    """httpx's per-phase timeouts; ``total_s`` bounds each phase (the caller bounds the sum)."""
    return httpx.Timeout(total_s, connect=min(connect_s, total_s) if total_s else connect_s)


@asynccontextmanager
async def call_errors(provider: str, timeout_s: float) -> AsyncIterator[None]:
    """Run one call within ``timeout_s``, turning httpx's failures and the timeout into
    AttemptError."""
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except (TimeoutError, httpx.TimeoutException):
        raise AttemptError(
            f"no answer within {timeout_s} s", provider=provider, kind="timeout", transient=True
        ) from None
    except httpx.TransportError as exc:
        raise AttemptError(
            f"connection failed: {type(exc).__name__}", provider=provider, kind="connection",
            transient=True,
        ) from exc


@dataclass(frozen=True, slots=True)
class SSEMessage:
    """One server-sent event: its ``event`` name (None when unnamed) and its ``data``."""

    event: str | None
    data: str


async def iter_sse(lines: AsyncIterator[str]) -> AsyncIterator[SSEMessage]:
    """Server-sent events from a stream of lines (blank line ends an event; ``:`` is a comment)."""
    event: str | None = None
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield SSEMessage(event, "\n".join(data))
            event, data = None, []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
    if data:  # a last event without its blank line: the stream was cut, let the reader judge
        yield SSEMessage(event, "\n".join(data))


def parse_event_json(provider: str, message: SSEMessage, usage: Usage) -> dict[str, Any]:
    """An event's JSON object; a garbled one is a broken stream."""
    try:
        data = json.loads(message.data)
    except json.JSONDecodeError:
        raise broken_error(provider, "garbled stream event", usage) from None
    if not isinstance(data, dict):
        raise broken_error(provider, "stream event is not a JSON object", usage)
    return data


# A backstop only: the caller's first-token and idle deadlines are far shorter.
STREAM_READ_BACKSTOP_S = 30.0


class StreamReader(Protocol):
    """One wire format's reading of a stream's events."""

    usage: Usage  # what the provider has reported so far
    finished: bool  # the provider's own last event has arrived

    def feed(self, message: SSEMessage) -> list[StreamEvent]:
        """The text deltas in one event; raises AttemptError for error events and garbage."""
        ...

    def end(self) -> StreamEnd:
        """The end marker once the body has ended; raises AttemptError if the stream was cut."""
        ...


async def read_stream(
    http: httpx.AsyncClient, provider: str, url: str, headers: dict[str, str],
    body: dict[str, Any], connect_timeout_s: float, reader: StreamReader,
) -> AsyncGenerator[StreamEvent, None]:
    """POST ``body`` and yield the reader's events as they arrive, then its end marker.

    An error status, or a connection that fails before the 200, is that attempt's AttemptError;
    a connection that fails after it is a cut stream.
    """
    started = False
    try:
        async with http.stream(
            "POST", url, headers=headers, json=body,
            timeout=httpx_timeout(STREAM_READ_BACKSTOP_S, connect_timeout_s),
        ) as response:
            if response.is_error:
                await response.aread()
                raise error_from_response(provider, response)
            started = True
            async for message in iter_sse(response.aiter_lines()):
                for event in reader.feed(message):
                    yield event
                if reader.finished:
                    break
    except httpx.HTTPError as exc:
        raise stream_failure(provider, exc, started, reader.usage) from exc
    yield reader.end()
