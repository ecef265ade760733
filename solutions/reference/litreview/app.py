"""Building the app: settings, the shared HTTP client, the providers, the gateway, the routes."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from litreview import __version__
from litreview.agent.index import CorpusIndex
from litreview.agent.loop import ReviewAgent
from litreview.api import router
from litreview.clock import Clock, Deadline, SystemClock
from litreview.config import Settings
from litreview.errors import install_error_handlers
from litreview.llm.anthropic import AnthropicProvider
from litreview.llm.context import RequestContext, UsageMeter
from litreview.llm.gateway import Gateway
from litreview.llm.openai import OpenAIProvider
from litreview.llm.types import Embeddings
from litreview.papers import PaperStore
from litreview.policy import Policy


def build_gateway(
    http: httpx.AsyncClient, settings: Settings, policy: Policy, clock: Clock, rng: random.Random
) -> Gateway:
    """The gateway over the configured providers (the secondary only if its URL is set)."""
    primary = OpenAIProvider(
        http, settings.llm_base_url, settings.llm_api_key, settings.llm_model,
        connect_timeout_s=policy.connect_timeout_s,
    )
    secondary = None
    if settings.fallback_base_url:
        secondary = AnthropicProvider(
            http, settings.fallback_base_url, settings.fallback_api_key, settings.fallback_model,
            connect_timeout_s=policy.connect_timeout_s,
        )
    return Gateway(
        primary, secondary, policy=policy, clock=clock, rng=rng,
        token_budget=settings.token_budget,
    )


# The corpus index's own limits: one build may take this long, and spend this much.
INDEX_DEADLINE_S = 30.0
INDEX_TOKEN_BUDGET = 10**9


def build_agent(
    gateway: Gateway, papers: PaperStore, settings: Settings, clock: Clock
) -> ReviewAgent:
    """The review agent over the primary provider, with a corpus index built by the app's own
    embeddings call (retried by the policy; never a review's usage)."""
    primary = gateway.primary
    assert isinstance(primary, OpenAIProvider), "reviews need the OpenAI-format primary"
    policy = gateway.policy

    async def embed_corpus(texts: list[str]) -> Embeddings:
        deadline = Deadline.after(clock, INDEX_DEADLINE_S)
        ctx = RequestContext(deadline, UsageMeter(INDEX_TOKEN_BUDGET))

        async def attempt(provider: object, deadline: Deadline) -> Embeddings:
            timeout_s = min(policy.index_attempt_timeout_s, deadline.remaining())
            return await primary.embed(texts, settings.llm_embedding_model, timeout_s)

        return await gateway.with_retries(primary, ctx, ctx.deadline, attempt)

    index = CorpusIndex(list(papers), embed_corpus)
    return ReviewAgent(gateway, primary, papers, index, settings.llm_embedding_model)


def create_app(
    settings: Settings | None = None,
    *,
    policy: Policy | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
) -> FastAPI:
    """The litreview app, configured from ``settings`` (default: the environment).

    ``policy``, ``clock`` and ``rng`` are seams for tests (defaults: the briefs' numbers, the
    system clock, an unseeded random). The gateway exists while the app runs (inside its
    lifespan), so start the app with uvicorn or ``with TestClient(create_app(...))``.
    """
    settings = settings or Settings.from_env()
    policy = policy or Policy.for_session()
    clock = clock or SystemClock()
    rng = rng or random.Random()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Each call sets its own timeouts from the request's deadline; this is only the default.
        timeout = httpx.Timeout(policy.attempt_timeout_s, connect=policy.connect_timeout_s)
        async with httpx.AsyncClient(timeout=timeout) as http:
            gateway = build_gateway(http, settings, policy, clock, rng)
            app.state.gateway = gateway
            app.state.agent = build_agent(gateway, app.state.papers, settings, clock)
            try:
                yield
            finally:
                await app.state.agent.index.close()

    app = FastAPI(title="litreview", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.policy = policy
    app.state.papers = PaperStore.load()
    install_error_handlers(app)
    app.include_router(router)
    return app
