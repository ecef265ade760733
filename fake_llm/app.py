"""The fake LLM's ASGI app: both providers' routes and the admin API.

Every model route is thin: it hands its wire format and the request to the shared
:class:`~fake_llm.pipeline.Pipeline`, which parses, decides the fate, opens the ledger row,
answers and responds.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from fake_llm import __version__
from fake_llm.admin import admin_router
from fake_llm.errors import ApiError
from fake_llm.pipeline import Pipeline, error_response
from fake_llm.pricing import MODELS, Provider
from fake_llm.state import ChaosState
from fake_llm.wire import AnthropicWire, OpenAIWire

__all__ = ["ChaosState", "create_app"]


def _models_list() -> dict[str, Any]:
    return {"object": "list", "data": [
        {"id": m.name, "object": "model", "created": 1_700_000_000, "owned_by": f"fake-{m.provider}"}
        for m in MODELS.values() if m.provider == "openai"]}


def create_app(state: ChaosState) -> FastAPI:
    """The fake LLM server's app, serving both providers and the admin API."""
    app = FastAPI(title="fake_llm", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.chaos = state
    pipeline = Pipeline(state)
    app.state.pipeline = pipeline
    openai_wire, anthropic_wire = OpenAIWire(), AnthropicWire()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        return await pipeline.handle(openai_wire, request)

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return _models_list()

    @app.post("/anthropic/v1/messages")
    async def messages(request: Request) -> Response:
        return await pipeline.handle(anthropic_wire, request)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        if state.grading:
            return {"status": "ok"}
        return {"status": "ok", "profile": state.profile.name, "seed": state.seed,
                "uptime_s": round(time.monotonic() - state.ledger.started_at, 3)}

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.url.path
        provider: Provider = "anthropic" if path.startswith("/anthropic") else "openai"
        if path.startswith(("/v1", "/anthropic")):
            message = f"Unknown request URL: {request.method} {path}."
            return error_response(provider, ApiError(exc.status_code, message,
                                                     code="unknown_url" if exc.status_code == 404 else None))
        return JSONResponse({"error": {"message": str(exc.detail)}}, status_code=exc.status_code)

    app.include_router(admin_router(state))
    return app
