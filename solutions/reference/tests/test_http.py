"""litreview.llm.http: retry headers, failure classification, and SSE framing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from litreview.llm.http import SSEMessage, error_from_response, iter_sse, retry_after_s

NOW = 1_700_000_000.0  # a fixed "now" for HTTP-date headers


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "2"}, 2.0),
        ({"retry-after-ms": "250", "retry-after": "1"}, 0.25),
        ({"retry-after": "Tue, 14 Nov 2023 22:13:30 GMT"}, 10.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after-ms": "-5"}, 0.0),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_s(httpx.Headers(headers), now_epoch_s=NOW) == expected


TRANSIENT = [408, 409, 429, 500, 502, 503, 504, 529]


@pytest.mark.parametrize("status", [*TRANSIENT, 400, 401, 403, 404, 422])
def test_only_the_contracts_statuses_are_transient(status: int) -> None:
    error = error_from_response("openai", httpx.Response(status, text="no"))
    assert error.transient is (status in TRANSIENT)
    assert error.rejected is (status not in TRANSIENT)
    assert error.upstream_status == status


@pytest.mark.parametrize(("header", "retryable"), [("true", True), ("false", False)])
def test_x_should_retry_is_read(header: str, retryable: bool) -> None:
    response = httpx.Response(503 if not retryable else 400, headers={"x-should-retry": header})
    assert error_from_response("openai", response).retryable is retryable


async def lines(*items: str) -> AsyncIterator[str]:
    for item in items:
        yield item


def collect(*items: str) -> list[SSEMessage]:
    async def run() -> list[SSEMessage]:
        return [message async for message in iter_sse(lines(*items))]

    return asyncio.run(run())


def test_events_are_split_on_blank_lines_and_keep_their_names() -> None:
    assert collect("event: ping", "data: {}", "", "data: a", "data: b", "", ": comment", "") == [
        SSEMessage("ping", "{}"), SSEMessage(None, "a\nb"),
    ]


def test_a_last_event_without_its_blank_line_is_still_seen() -> None:
    assert collect("data: [DONE]") == [SSEMessage(None, "[DONE]")]
