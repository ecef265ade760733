"""Liveness and the local corpus: no LLM involved."""

from __future__ import annotations

from fastapi import APIRouter

from litreview.api.deps import Papers
from litreview.papers import Paper

router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    """200 while the app is up."""
    return {"status": "ok"}


@router.get("/papers/{paper_id}")
async def get_paper(paper_id: str, papers: Papers) -> Paper:
    """One paper's public record; 404 ``not_found`` for an unknown id."""
    return papers.get(paper_id)
