"""What endpoints receive from the running app, as FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from litreview.llm import OpenAIClient
from litreview.papers import PaperStore


def get_papers(request: Request) -> PaperStore:
    """The app's corpus."""
    return cast(PaperStore, request.app.state.papers)


def get_llm(request: Request) -> OpenAIClient:
    """The app's LLM client (it exists while the app runs)."""
    return cast(OpenAIClient, request.app.state.llm)


Papers = Annotated[PaperStore, Depends(get_papers)]
LLM = Annotated[OpenAIClient, Depends(get_llm)]
