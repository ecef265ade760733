"""The throughput ceiling for bench/fake_llm_bench: a bare FastAPI endpoint on uvicorn.

It parses the same chat request JSON as the fake LLM and answers with a fixed chat-completion
JSON of the same size, on the same uvicorn HTTP protocol the fake server uses (h11 unless
httptools is installed), with the same uvicorn settings. Nothing else: no fate, no ledger,
no abortable connections.

    python bench/bare_server.py --port 8950 [--body-file captured_response.json] [--delay-ms 250]

``--body-file`` serves that exact body (the benchmark passes a response captured from the fake
server, so both send the same number of bytes); without it a built-in body is used.
``--delay-ms`` sleeps (plain ``asyncio.sleep``) before answering: the floor for the delay-fidelity
test, i.e. what this stack alone does with an injected delay.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

DEFAULT_BODY = {
    "id": "chatcmpl-000000000000000000000000", "object": "chat.completion", "created": 1_700_000_000,
    "model": "sim-gpt-large", "system_fingerprint": "fp_fakellm",
    "choices": [{"index": 0, "message": {
        "role": "assistant", "refusal": None, "annotations": [],
        "content": "P0042 (2005) studied peer tutoring in 279 patients after hip surgery. The authors "
                   "report that peer tutoring decreased reading fluency. Title: Peer tutoring and "
                   "reading fluency in patients after hip surgery: a crossover trial. End of summary."},
        "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 6, "completion_tokens": 61, "total_tokens": 67},
}


def http_protocol() -> str:
    """The protocol fake_llm.runner picks: httptools if importable, else h11."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


def create_app(body: bytes, delay_s: float = 0.0) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        parsed = json.loads(await request.body())
        if not isinstance(parsed, dict) or "messages" not in parsed:
            return Response(b'{"error": {"message": "bad request"}}', status_code=400,
                            media_type="application/json")
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        return Response(body, media_type="application/json")

    @app.get("/health")
    async def health() -> dict[str, object]:
        return {"status": "ok", "time": time.time()}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8950)
    parser.add_argument("--body-file", type=Path, default=None)
    parser.add_argument("--delay-ms", type=float, default=0.0,
                        help="sleep this long before answering (the delay-fidelity floor)")
    args = parser.parse_args()
    body = args.body_file.read_bytes() if args.body_file else json.dumps(DEFAULT_BODY).encode()
    config = uvicorn.Config(create_app(body, args.delay_ms / 1000), host=args.host, port=args.port,
                            http=http_protocol(), lifespan="off", log_level="warning", access_log=False,
                            timeout_keep_alive=30, backlog=4096, timeout_graceful_shutdown=1)
    print(f"bare server on http://{args.host}:{args.port} ({config.http}, {len(body)}-byte body)",
          flush=True)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
