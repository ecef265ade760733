"""(c) 1,000 concurrent slow streams held open by a raw asyncio socket client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from bench.fake_llm_bench.common import (
    CHAT_PATH,
    CHAT_REQUEST,
    HOST,
    Settings,
    cpu_seconds,
    http,
    http_json,
    log,
    percentile,
)
from bench.fake_llm_bench.servers import fake_server


@dataclass
class StreamStats:
    opened: int = 0
    open_now: int = 0
    peak_open: int = 0
    completed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    durations: list[float] = field(default_factory=list)
    headers_s: list[float] = field(default_factory=list)
    chunk_counts: Counter[int] = field(default_factory=Counter)
    max_gap_s: list[float] = field(default_factory=list)


class StreamError(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


async def _read_body_chunks(reader: asyncio.StreamReader, headers: dict[str, str],
                            timeout: float) -> AsyncIterator[bytes]:
    """Yield the HTTP body as it arrives (chunked transfer-encoding or until EOF)."""
    if "chunked" in headers.get("transfer-encoding", ""):
        while True:
            size_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout)
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout)
                return
            data = await asyncio.wait_for(reader.readexactly(size + 2), timeout)
            yield data[:-2]
    else:
        while True:
            data = await asyncio.wait_for(reader.read(65536), timeout)
            if not data:
                return
            yield data


async def _request(port: int, request: bytes, stats: StreamStats,
                   ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, dict[str, str]]:
    """Connect, send the request, read the head; raises StreamError unless the status is 200."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 30)
    except TimeoutError as error:
        raise StreamError("connect_timeout") from error
    except OSError as error:
        raise StreamError(f"connect_{type(error).__name__}") from error
    stats.opened += 1
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    except BaseException:
        writer.close()
        raise
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    status = int(status_line.split()[1])
    if status != 200:
        writer.close()
        raise StreamError(f"http_{status}")
    return reader, writer, headers


def _frame_events(frame: bytes) -> tuple[list[dict[str, Any]], bool]:
    """The JSON events of one SSE frame, and whether it was the [DONE] marker."""
    events, done = [], False
    for line in frame.split(b"\n"):
        if not line.startswith(b"data: "):
            continue
        payload = line[6:]
        if payload == b"[DONE]":
            done = True
            continue
        try:
            events.append(json.loads(payload))
        except ValueError as error:
            raise StreamError("bad_json_frame") from error
    return events, done


async def _read_stream(reader: asyncio.StreamReader, headers: dict[str, str],
                       gap_timeout_s: float) -> tuple[int, str | None, float]:
    """Read a whole stream: its content chunks, finish reason and longest gap between reads."""
    loop = asyncio.get_running_loop()
    buffer, chunks, finish, done = b"", 0, None, False
    last = loop.time()
    max_gap = 0.0
    async for data in _read_body_chunks(reader, headers, gap_timeout_s):
        now = loop.time()
        max_gap, last = max(max_gap, now - last), now
        buffer += data
        while b"\n\n" in buffer:
            frame, buffer = buffer.split(b"\n\n", 1)
            events, marker = _frame_events(frame)
            done = done or marker
            for event in events:
                if "error" in event:
                    raise StreamError("error_event")
                for choice in event.get("choices", []):
                    if choice.get("delta", {}).get("content"):
                        chunks += 1
                    finish = choice.get("finish_reason") or finish
    if not done:
        raise StreamError("incomplete_no_done")
    return chunks, finish, max_gap


async def one_stream(port: int, request: bytes, stats: StreamStats, gap_timeout_s: float) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    writer: asyncio.StreamWriter | None = None
    counted_open = False
    try:
        reader, writer, headers = await _request(port, request, stats)
        stats.headers_s.append(loop.time() - started)
        stats.open_now += 1
        counted_open = True
        stats.peak_open = max(stats.peak_open, stats.open_now)
        chunks, finish, max_gap = await _read_stream(reader, headers, gap_timeout_s)
        if finish != "stop":
            raise StreamError(f"finish_reason_{finish}")
        stats.completed += 1
        stats.durations.append(loop.time() - started)
        stats.chunk_counts[chunks] += 1
        stats.max_gap_s.append(max_gap)
    except StreamError as error:
        stats.errors[error.kind] += 1
    except TimeoutError:
        stats.errors["read_timeout"] += 1
    except asyncio.IncompleteReadError:
        stats.errors["incomplete_read"] += 1
    except (ConnectionError, OSError) as error:
        stats.errors[type(error).__name__] += 1
    except Exception as error:
        stats.errors[f"other_{type(error).__name__}"] += 1
    finally:
        if counted_open:
            stats.open_now -= 1
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)


async def run_streams(port: int, count: int, hold_s: float, interval_s: float,
                      admin_base: str) -> tuple[StreamStats, list[dict[str, Any]]]:
    body = json.dumps({**CHAT_REQUEST, "stream": True}).encode()
    request = (f"POST {CHAT_PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
               "Content-Type: application/json\r\nAuthorization: Bearer sk-bench\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    stats = StreamStats()
    samples: list[dict[str, Any]] = []
    tasks = [asyncio.ensure_future(one_stream(port, request, stats, interval_s * 4 + 10))
             for _ in range(count)]
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def sample_server() -> None:
        # the server's in-flight count (rows-free ledger query) every second while streams run
        while True:
            await asyncio.sleep(1.0)
            try:
                snap = await loop.run_in_executor(None, lambda: http_json(
                    "GET", f"{admin_base}/_chaos/ledger?since_id=1000000000", timeout=5))
                samples.append({"t_s": round(loop.time() - started, 2),
                                "server_in_flight": snap["in_flight"],
                                "client_open": stats.open_now})
            except Exception as error:
                samples.append({"t_s": round(loop.time() - started, 2), "error": repr(error)})

    sampler = asyncio.ensure_future(sample_server())
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), hold_s * 3 + 60)
    except TimeoutError:
        unfinished = sum(not t.done() for t in tasks)
        stats.errors["client_deadline"] += unfinished
        for task in tasks:
            task.cancel()
    finally:
        sampler.cancel()
        with contextlib.suppress(BaseException):
            await sampler
    return stats, samples


def probe_chunks(base: str) -> int:
    """Content chunks in one streamed answer to the benchmark prompt (calm: no drip)."""
    status, _, payload = http("POST", f"{base}{CHAT_PATH}", {**CHAT_REQUEST, "stream": True})
    if status != 200:
        raise RuntimeError(f"stream probe got {status}")
    chunks = 0
    for line in payload.split(b"\n"):
        if line.startswith(b"data: {"):
            event = json.loads(line[6:])
            if any(c.get("delta", {}).get("content") for c in event.get("choices", [])):
                chunks += 1
    return chunks


def _script_drip(base: str, cfg: Settings) -> tuple[int, int]:
    """Script a drip on every stream so that each lasts about ``stream_hold_s``; returns the
    content chunks of a stream and the interval between them."""
    chunks = probe_chunks(base)
    interval_ms = round(cfg.stream_hold_s * 1000 / max(1, chunks - 1))
    http_json("POST", f"{base}/_chaos/reset")
    http_json("POST", f"{base}/_chaos/script", {"rules": [
        {"match": {"stream": True}, "fault": {"kind": "drip", "chunk_interval_ms": interval_ms},
         "times": None}]})
    log(f"(c) {cfg.streams} streams, {chunks} chunks each at {interval_ms} ms "
        f"(about {(chunks - 1) * interval_ms / 1000:.1f} s per stream)")
    return chunks, interval_ms


def _ledger_summary(base: str) -> dict[str, Any]:
    """What the server's ledger says of the streams."""
    snapshot = http_json("GET", f"{base}/_chaos/ledger", timeout=60)
    rows = [r for r in snapshot["rows"] if r["stream"]]
    completed_rows = [r for r in rows if r["status"] == 200 and r["finish_s"] is not None
                      and not r["client_gone"]]
    return {"stream_rows": len(rows), "completed": len(completed_rows),
            "by_status": dict(Counter(str(r["status"]) for r in rows)),
            "client_gone": sum(r["client_gone"] for r in rows),
            "unfinished": sum(r["finish_s"] is None for r in rows)}


def bench_streams(cfg: Settings) -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    fake = fake_server("fake_streams", "--ledger-size", "20000").start()
    try:
        chunks, interval_ms = _script_drip(fake.base, cfg)
        rss_before = fake.rss_mb()
        cpu0 = cpu_seconds(fake.pid)
        wall0 = time.monotonic()
        stats, samples = asyncio.run(run_streams(fake.port, cfg.streams, cfg.stream_hold_s,
                                                 interval_ms / 1000, fake.base))
        wall = time.monotonic() - wall0
        cpu = cpu_seconds(fake.pid) - cpu0
        rss_peak = fake.hwm_mb()
        time.sleep(0.5)
        ledger = _ledger_summary(fake.base)
        expected_s = (chunks - 1) * interval_ms / 1000
        return {
            "streams": cfg.streams, "chunks_per_stream": chunks, "chunk_interval_ms": interval_ms,
            "expected_stream_s": expected_s,
            "fd_limit": [soft, hard],
            "client": "raw asyncio sockets (one connection per stream, HTTP/1.1 chunked SSE)",
            "opened": stats.opened, "peak_open_client": stats.peak_open,
            "peak_in_flight_server": max((s.get("server_in_flight", 0) for s in samples), default=0),
            "completed": stats.completed,
            "errors": dict(stats.errors), "errors_total": sum(stats.errors.values()),
            "chunk_counts": {str(k): v for k, v in sorted(stats.chunk_counts.items())},
            "headers_p50_ms": percentile(stats.headers_s, 50) * 1000,
            "headers_p99_ms": percentile(stats.headers_s, 99) * 1000,
            "duration_p50_s": percentile(stats.durations, 50),
            "duration_p99_s": percentile(stats.durations, 99),
            "duration_max_s": max(stats.durations, default=float("nan")),
            "max_chunk_gap_p99_ms": percentile(stats.max_gap_s, 99) * 1000,
            "wall_s": wall,
            "server_cpu_util": cpu / wall if wall else float("nan"),
            "server_rss_mb": {"before": rss_before, "peak": rss_peak},
            "ledger": ledger,
            "in_flight_samples": samples,
        }
    finally:
        fake.stop()
