"""Structured extraction of a paper's trial details."""

from __future__ import annotations

import json

from fastapi import APIRouter

from litreview import prompts
from litreview.api.deps import LLM, Papers
from litreview.schemas import ExtractionResponse, PaperRequest

router = APIRouter()


@router.post("/extractions")
async def create_extraction(body: PaperRequest, papers: Papers, llm: LLM) -> ExtractionResponse:
    """The population, intervention, outcome, sample size and effect direction of one paper."""
    paper = papers.get(body.paper_id)
    completion = await llm.complete(prompts.extraction_messages(paper))
    fields = json.loads(completion.text)
    return ExtractionResponse(
        **fields, provider=completion.provider, model=completion.model, usage=completion.usage
    )
