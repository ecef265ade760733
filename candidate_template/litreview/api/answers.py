"""Answers to a question over a set of papers, with citations."""

from __future__ import annotations

from fastapi import APIRouter

from litreview import prompts
from litreview.api.deps import LLM, Papers
from litreview.citations import extract_citations
from litreview.schemas import AnswerRequest, AnswerResponse

router = APIRouter()


@router.post("/answers")
async def create_answer(body: AnswerRequest, papers: Papers, llm: LLM) -> AnswerResponse:
    """An answer citing the given papers as sources ``[1]..[k]``, in the order given."""
    sources = [papers.get(paper_id) for paper_id in body.paper_ids]
    completion = await llm.complete(prompts.answer_messages(body.question, sources))
    return AnswerResponse(
        answer=completion.text,
        citations=extract_citations(completion.text, body.paper_ids),
        provider=completion.provider,
        model=completion.model,
        usage=completion.usage,
    )
