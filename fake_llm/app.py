"""The fake LLM's ASGI app: both providers' routes and the admin API.

Every model route is thin: it hands its wire format and the request to the shared
:class:`~fake_llm.pipeline.Pipeline`, which parses, decides the fate, opens the ledger row,
answers and responds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from fake_llm import __version__
from fake_llm.admin import admin_router
from fake_llm.body import BodyError, ClientGone, read_body
from fake_llm.errors import ApiError
from fake_llm.pipeline import Pipeline, error_response
from fake_llm.pricing import Provider
from fake_llm.state import ChaosState
from fake_llm.wire import AnthropicWire, OpenAIWire, metadata
from fake_llm.wire.embeddings import EmbeddingsWire
from fake_llm.wire.responses import ResponsesWire

__all__ = ["ChaosState", "create_app"]


def _answer_or_error(provider: Provider, answer: Callable[..., dict[str, Any]], *args: Any) -> Response:
    """A metadata endpoint's JSON answer, or its ApiError in the provider's shape."""
    try:
        return JSONResponse(answer(*args))
    except ApiError as error:
        return error_response(provider, error)


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
        return metadata.openai_models()

    @app.post("/anthropic/v1/messages")
    async def messages(request: Request) -> Response:
        return await pipeline.handle(anthropic_wire, request)

    # The Responses API and embeddings keep per-request state in their wire object.
    @app.post("/v1/responses")
    async def responses(request: Request) -> Response:
        return await pipeline.handle(ResponsesWire(), request)

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        return await pipeline.handle(EmbeddingsWire(), request)

    @app.get("/anthropic/v1/models")
    async def anthropic_models(request: Request) -> Response:
        query = request.query_params
        return _answer_or_error("anthropic", metadata.anthropic_models,
                                query.get("limit"), query.get("before_id"), query.get("after_id"))

    @app.get("/anthropic/v1/models/{model_id}")
    async def anthropic_model(model_id: str) -> Response:
        return _answer_or_error("anthropic", metadata.anthropic_model, model_id)

    @app.post("/anthropic/v1/messages/count_tokens")
    async def count_tokens(request: Request) -> Response:
        try:
            raw = await read_body(request)
        except BodyError as error:
            return error_response("anthropic", ApiError(error.status, error.message))
        except ClientGone:
            return Response(status_code=400)
        return _answer_or_error("anthropic", metadata.anthropic_count_tokens, raw)

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
