"""Reading a request body safely: a size cap enforced while it streams in, and a strict JSON parse.

A hostile body must cost the server a bounded amount of memory and end in a 4xx, never a 500. So
the body is refused from its ``Content-Length`` before any of it is read, and counted while it is
read (a chunked body has no length); and its JSON is parsed as strict UTF-8, without ``NaN`` or
``Infinity``, with finite numbers, and at most :data:`MAX_JSON_DEPTH` levels deep (the nesting
check runs only when the body holds that many brackets at all, so an ordinary request pays two
``bytes.count`` calls for it).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import MutableMapping
from typing import Any

from starlette.requests import ClientDisconnect, Request

MAX_BODY_BYTES = 1 << 20
"""The largest request body accepted (1 MiB); a larger one gets a 413."""

MAX_JSON_DEPTH = 64
"""The deepest nesting of arrays and objects accepted in a JSON body."""


class BodyError(Exception):
    """A body the server refuses: ``status`` (400 or 413) and a message naming the problem."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ClientGone(Exception):
    """The client went away (or was cut off) before its body arrived in full."""


def _declared_length(scope: MutableMapping[str, Any]) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":  # 19 digits and up: past any limit, and past int's comfort
            return (int(value) if len(value) < 19 else 1 << 63) if value.isdigit() else None
    return None


def too_large_message(limit: int) -> str:
    return f"the request body is larger than the server's limit of {limit} bytes"


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, at most ``limit`` bytes of it ever held; BodyError(413) past the limit."""
    declared = _declared_length(request.scope)
    if declared is not None and declared > limit:
        raise BodyError(413, too_large_message(limit))
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyError(413, too_large_message(limit))
            chunks.append(chunk)
    except ClientDisconnect:
        raise ClientGone from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:20]}... is out of range")
    return value


_DECODER = json.JSONDecoder(parse_float=_finite, parse_constant=_no_constant)


_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _nests_deeper(raw: bytes, limit: int) -> bool:
    """Whether valid JSON ``raw`` nests deeper than ``limit``: its brackets outside strings, with
    the innermost pairs dropped ``limit`` times. All in C, so a hostile megabyte of ``[],`` costs
    milliseconds, where walking the parsed value would cost most of a second."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if not brackets:
            return False
    return True


def parse_json(raw: bytes) -> Any:
    """The body's JSON value; BodyError(400) naming the problem when it is not acceptable JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BodyError(400, f"the body is not valid UTF-8 (byte {error.start})") from None
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise BodyError(400, f"the body nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as error:  # JSONDecodeError, an integer over 4,300 digits, NaN, 1e999
        if "integer string conversion" in str(error):
            raise BodyError(400, "the body holds an integer of more than 4300 digits") from None
        raise BodyError(400, f"the body is not valid JSON: {error}") from None
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _nests_deeper(raw, MAX_JSON_DEPTH):
        raise BodyError(400, f"the body nests deeper than {MAX_JSON_DEPTH} levels")
    return value
