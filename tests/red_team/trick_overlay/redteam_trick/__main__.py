"""Row 2 on the real checks: the starter app, but every error answer (status >= 400) is replaced.

In turn, the body becomes 200 000 nested brackets or an error whose code is a 5000-digit number:
a grader that cannot read them must score the check failed, as it would the plain error.
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any

import uvicorn
from litreview.app import create_app

DEEP = b"[" * 200_000
HUGE = b'{"error": {"code": ' + b"9" * 5000 + b', "message": "unreadable"}}'
_turns = itertools.count()


def unreadable_errors(app: Any) -> Any:
    """ASGI middleware: an error response keeps its status; its body becomes DEEP or HUGE."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        state: dict[str, Any] = {}

        async def send_unreadable(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                state["body"] = DEEP if next(_turns) % 2 == 0 else HUGE
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in (b"content-length", b"content-type")]
                headers += [(b"content-type", b"application/json"),
                            (b"content-length", str(len(state["body"])).encode())]
                await send({**message, "headers": headers})
            elif message["type"] == "http.response.body" and "body" in state:
                if not state.get("sent"):
                    state["sent"] = True
                    await send({"type": "http.response.body", "body": state["body"], "more_body": False})
            else:
                await send(message)

        await app(scope, receive, send_unreadable)

    return wrapped


def main() -> None:
    parser = argparse.ArgumentParser(prog="redteam_trick")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(unreadable_errors(create_app()), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
