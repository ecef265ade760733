"""Server-sent events as the API sends them: ``event: <name>`` and one JSON ``data:`` line."""

from __future__ import annotations

import json
from typing import Any

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse_event(event: str, data: dict[str, Any]) -> str:
    """One event, framed and terminated by the blank line SSE requires."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"
