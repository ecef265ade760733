"""The fake LLM's ASGI app: both providers' endpoints, the request pipeline, the admin API."""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from fake_llm import __version__
from fake_llm.admin import admin_router
from fake_llm.body import BodyError, ClientGone, read_body
from fake_llm.connection import received_at
from fake_llm.errors import ApiError, render_error
from fake_llm.exchange import Exchange, PlannedResponse, build_answer
from fake_llm.fate import Fates, fate_rng, fingerprint, weather_draw
from fake_llm.faults import HttpError, RequestContext
from fake_llm.ledger import DEFAULT_CAPACITY, Ledger
from fake_llm.model import read_prompt
from fake_llm.pricing import MODELS, Provider
from fake_llm.profiles import Profile
from fake_llm.ratelimit import RateLimiter
from fake_llm.weather import ClockMode, Weather
from fake_llm.wire import AnthropicWire, OpenAIWire, Wire


@dataclass
class ChaosState:
    """The server's mutable state: profile, seed, scripted rules, attempt counters, ledger.

    ``grading``: the server runs under a grader, so nothing tells the app which fault it met or
    that it is graded: no ``x-fake-llm-*`` response headers, and ``/health`` says only that it is up.
    ``clock``: who moves the weather clock (:mod:`fake_llm.weather.clock`); in a grading, by
    default, only the graders do.
    """

    profile: Profile
    seed: int
    ledger_capacity: int = DEFAULT_CAPACITY
    admin_open: bool = False
    admin_token: str | None = None
    grading: bool = False
    clock: ClockMode | None = None
    fates: Fates = field(init=False)
    ledger: Ledger = field(init=False)
    weather: Weather = field(init=False)
    limiter: RateLimiter = field(default_factory=RateLimiter)

    def __post_init__(self) -> None:
        self.fates = Fates(self.seed)
        self.ledger = Ledger(self.ledger_capacity)
        mode: ClockMode = self.clock or ("driven" if self.grading else "requests")
        self.weather = Weather(self.profile.weather, self.seed, mode)

    def reset(self) -> None:
        """Clear the ledger, attempt counters, scripts and rate-limit buckets; the weather clock
        goes back to tick 0."""
        self.fates.reset()
        self.ledger.clear()
        self.limiter.reset()
        self.weather.reset()


def _error_response(provider: Provider, error: ApiError, extra: dict[str, str] | None = None) -> Response:
    rendered = render_error(provider, error)
    return Response(rendered.body, status_code=rendered.status, media_type=rendered.content_type,
                    headers={**rendered.headers, **(extra or {})})


def _client(scope: MutableMapping[str, Any]) -> tuple[str, int | None]:
    """The caller's API key (or "anonymous") and its ``x-stainless-retry-count``, in one pass over
    the raw headers."""
    bearer = api_key = retries = b""
    for name, value in scope["headers"]:
        if name == b"authorization":
            bearer = value
        elif name == b"x-api-key":
            api_key = value
        elif name == b"x-stainless-retry-count":
            retries = value
    key = bearer.decode("latin-1").removeprefix("Bearer ").strip() or api_key.decode("latin-1")
    return key or "anonymous", int(retries) if retries.isdigit() else None


async def handle(state: ChaosState, wire: Wire, request: Request) -> Response:
    """Validate, decide the fate, record the arrival, and hand back the planned response."""
    arrived = received_at(request.scope)
    try:
        raw = await read_body(request)
        body, parsed = wire.parse(raw)
    except BodyError as error:
        return _error_response(wire.provider, ApiError(error.status, error.message))
    except ApiError as error:
        return _error_response(wire.provider, error)
    except ClientGone:
        return Response(status_code=400)  # nobody is left to read it
    prompt = read_prompt(parsed.text)
    model = parsed.model.name
    ctx = RequestContext(wire.provider, model, prompt, parsed.stream)
    fp = fingerprint(wire.provider, body)
    attempt = state.fates.next_attempt(fp)
    knobs = state.profile.knobs(model)
    rng = fate_rng(state.seed, state.profile.digest, fp, attempt)
    sky = state.weather.sky(fp, weather_draw(state.seed, state.profile.digest, fp, attempt), arrived)
    plan = state.fates.decide(ctx, knobs, rng, sky)
    key, retry_count = _client(request.scope)
    row = state.ledger.open(
        received_at=arrived, provider=wire.provider, model=model, task=prompt.task,
        paper_ids=prompt.paper_ids, fingerprint=fp, attempt=attempt, stream=parsed.stream,
        retry_count=retry_count, api_key=key[:12], tick=sky.tick, phase=sky.label)
    headers = {} if state.grading else {"x-fake-llm-attempt": str(attempt), "x-fake-llm-fingerprint": fp,
                                        "x-fake-llm-phase": sky.label}
    limits = knobs.rate_limit
    on_close = None
    if limits.requests_per_minute or limits.tokens_per_minute or limits.max_in_flight:
        bucket_key = (key, wire.provider)
        verdict = state.limiter.admit(bucket_key, limits, len(parsed.text) // 4)
        headers.update(verdict.headers)
        if not verdict.allowed:
            plan.http_error, plan.delay_s = HttpError(429, verdict.retry_after_ms), 0.0
            plan.faults = ["rate_limit"]
        else:
            state.limiter.enter(bucket_key)

            def on_close() -> None:
                state.limiter.leave(bucket_key)

    row.fault = plan.fault_label
    row.delay_ms = round(plan.delay_s * 1000, 3)
    if not state.grading:
        headers["x-fake-llm-fault"] = row.fault
    headers["x-request-id" if wire.provider == "openai" else "request-id"] = f"req_{row.id}"
    answer = build_answer(ctx, parsed, plan, rng)
    exchange = Exchange(wire, ctx, parsed, plan, row, state.ledger, answer, headers,
                        knobs.stream.chunk_chars, on_close)
    return PlannedResponse(exchange)


def _models_list() -> dict[str, Any]:
    return {"object": "list", "data": [
        {"id": m.name, "object": "model", "created": 1_700_000_000, "owned_by": f"fake-{m.provider}"}
        for m in MODELS.values() if m.provider == "openai"]}


def create_app(state: ChaosState) -> FastAPI:
    """The fake LLM server's app, serving both providers and the admin API."""
    app = FastAPI(title="fake_llm", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.chaos = state
    openai_wire, anthropic_wire = OpenAIWire(), AnthropicWire()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        return await handle(state, openai_wire, request)

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return _models_list()

    @app.post("/anthropic/v1/messages")
    async def messages(request: Request) -> Response:
        return await handle(state, anthropic_wire, request)

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
            return _error_response(provider, ApiError(exc.status_code, message,
                                                      code="unknown_url" if exc.status_code == 404 else None))
        return JSONResponse({"error": {"message": str(exc.detail)}}, status_code=exc.status_code)

    app.include_router(admin_router(state))
    return app
