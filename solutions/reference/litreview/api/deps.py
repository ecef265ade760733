"""What endpoints receive from the running app, as FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from litreview.llm.gateway import Gateway
from litreview.papers import PaperStore


def get_papers(request: Request) -> PaperStore:
    """The app's corpus."""
    return cast(PaperStore, request.app.state.papers)


def get_gateway(request: Request) -> Gateway:
    """The app's LLM gateway (it exists while the app runs)."""
    return cast(Gateway, request.app.state.gateway)


Papers = Annotated[PaperStore, Depends(get_papers)]
LLM = Annotated[Gateway, Depends(get_gateway)]
