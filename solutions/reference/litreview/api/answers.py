"""Answers to a question over a set of papers, with citations that point where they claim to."""

from __future__ import annotations

from fastapi import APIRouter

from litreview import prompts
from litreview.api.deps import LLM, Papers
from litreview.citations import Citation, resolve_citations
from litreview.generation import generate, whole_text
from litreview.llm.types import Completion
from litreview.schemas import AnswerRequest, AnswerResponse

router = APIRouter()


@router.post("/answers")
async def create_answer(body: AnswerRequest, papers: Papers, gateway: LLM) -> AnswerResponse:
    """An answer citing the given papers as sources ``[1]..[k]``, in the order given.

    Markers to sources that were not given are removed. Only the primary provider is used.
    """
    sources = [papers.get(paper_id) for paper_id in body.paper_ids]
    ctx = gateway.new_context(gateway.policy.request_deadline_s, body.token_budget)

    def parse(completion: Completion) -> tuple[str, list[Citation]]:
        return resolve_citations(whole_text(completion), body.paper_ids)

    (answer, citations), completion = await generate(
        gateway, prompts.answer_messages(body.question, sources), ctx, parse, fallback=False
    )
    return AnswerResponse(
        answer=answer, citations=citations, provider=completion.provider,
        model=completion.model, usage=ctx.meter.usage,
    )
