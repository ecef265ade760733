"""Summaries of one paper, or of many at once."""

from __future__ import annotations

import logging

from fastapi import APIRouter

from litreview import prompts
from litreview.api.deps import LLM, Papers
from litreview.errors import PaperNotFound, describe
from litreview.llm import OpenAIClient, Usage
from litreview.papers import Paper
from litreview.schemas import BatchItem, BatchRequest, BatchResponse, PaperRequest, SummaryResponse

logger = logging.getLogger(__name__)
router = APIRouter()


async def summarize(paper: Paper, llm: OpenAIClient) -> SummaryResponse:
    """A summary of ``paper`` written by the model."""
    try:
        completion = await llm.complete(prompts.summary_messages(paper))
    except Exception:
        # A page without a summary is better than a page that fails to load.
        logger.exception("could not summarise %s", paper.paper_id)
        return SummaryResponse(
            paper_id=paper.paper_id, summary="", provider=llm.provider, model=llm.model,
            usage=Usage(),
        )
    return SummaryResponse(
        paper_id=paper.paper_id,
        summary=completion.text.strip(),
        provider=completion.provider,
        model=completion.model,
        usage=completion.usage,
    )


@router.post("/summaries")
async def create_summary(body: PaperRequest, papers: Papers, llm: LLM) -> SummaryResponse:
    """A summary of one paper."""
    return await summarize(papers.get(body.paper_id), llm)


@router.post("/summaries/batch", response_model_exclude_none=True)
async def create_summaries(body: BatchRequest, papers: Papers, llm: LLM) -> BatchResponse:
    """A summary of each paper, one item per requested id, in request order."""
    items: list[BatchItem] = []
    usage = Usage()
    for paper_id in body.paper_ids:
        try:
            paper = papers.get(paper_id)
        except PaperNotFound as exc:
            items.append(BatchItem.failed(paper_id, describe(exc)))
            continue
        result = await summarize(paper, llm)
        items.append(BatchItem.ok(result))
        usage = result.usage
    return BatchResponse(items=items, usage=usage)
