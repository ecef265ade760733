"""The HTTP API: one module per group of endpoints, gathered into one router."""

from fastapi import APIRouter

from litreview.api import answers, extractions, papers, reviews, stream, summaries

router = APIRouter()
for module in (papers, summaries, stream, extractions, answers, reviews):
    router.include_router(module.router)

__all__ = ["router"]
