"""Structured extraction of a paper's trial details: validated, repaired, never guessed."""

from __future__ import annotations

from fastapi import APIRouter

from litreview import prompts
from litreview.api.deps import LLM, Papers
from litreview.generation import generate
from litreview.llm.types import Completion
from litreview.schemas import ExtractionResponse, PaperRequest
from litreview.structured import ExtractedFields, parse_extraction

router = APIRouter()


@router.post("/extractions")
async def create_extraction(body: PaperRequest, papers: Papers, gateway: LLM) -> ExtractionResponse:
    """The population, intervention, outcome, sample size and effect direction of one paper.

    Only the primary provider is used: 503 ``llm_unavailable`` rather than another model's
    reading of the paper. 502 ``llm_invalid_output`` when no valid JSON came after the re-asks.
    """
    paper = papers.get(body.paper_id)
    ctx = gateway.new_context(gateway.policy.request_deadline_s, body.token_budget)

    def parse(completion: Completion) -> ExtractedFields:
        return parse_extraction(completion, paper.paper_id)

    fields, completion = await generate(
        gateway, prompts.extraction_messages(paper), ctx, parse, fallback=False
    )
    return ExtractionResponse(
        **fields.model_dump(), provider=completion.provider, model=completion.model,
        usage=ctx.meter.usage,
    )
