"""Building the app: settings, the shared HTTP client, the corpus, routes and error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from litreview import __version__
from litreview.api import router
from litreview.config import Settings
from litreview.errors import install_error_handlers
from litreview.llm import OpenAIClient
from litreview.papers import PaperStore


def create_app(settings: Settings | None = None) -> FastAPI:
    """The litreview app, configured from ``settings`` (default: the environment).

    The LLM client exists while the app runs (inside its lifespan), so start the app with uvicorn
    or ``with TestClient(create_app(...))``.
    """
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The model can be slow on long papers; never cut it off.
        async with httpx.AsyncClient(timeout=None) as http:
            app.state.llm = OpenAIClient(
                http, settings.llm_base_url, settings.llm_api_key, settings.llm_model
            )
            yield

    app = FastAPI(title="litreview", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.papers = PaperStore.load()
    install_error_handlers(app)
    app.include_router(router)
    return app
