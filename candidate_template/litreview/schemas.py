"""Request and response bodies of the API.

Every response that used the LLM says which ``provider`` and ``model`` served it and the
``usage`` spent.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from litreview.citations import Citation
from litreview.errors import ErrorInfo
from litreview.llm.types import Usage

EffectDirection = Literal["increase", "decrease", "no_effect"]


class PaperRequest(BaseModel):
    """A request about one paper."""

    paper_id: str


class AnswerRequest(BaseModel):
    """A question to answer from the given papers, which become sources ``[1]..[k]`` in order."""

    question: str = Field(min_length=1)
    paper_ids: list[str] = Field(min_length=1)


class BatchRequest(BaseModel):
    """Papers to summarise in one call."""

    paper_ids: list[str] = Field(min_length=1)


class LLMResult(BaseModel):
    """Who served an LLM-backed response and what it cost."""

    provider: str
    model: str
    usage: Usage


class SummaryResponse(LLMResult):
    """A summary of one paper. ``fallback`` is true when the secondary provider wrote it."""

    paper_id: str
    summary: str
    fallback: bool = False


class ExtractionResponse(LLMResult):
    """The trial details of one paper."""

    paper_id: str
    population: str
    intervention: str
    outcome: str
    sample_size: int
    effect_direction: EffectDirection


class AnswerResponse(LLMResult):
    """An answer and the sources it cites, once each, in order of first use."""

    answer: str
    citations: list[Citation]


class ErrorDetail(BaseModel):
    """The ``error`` member of an error body."""

    code: str
    message: str


class BatchItem(BaseModel):
    """The outcome for one paper of a batch: a summary, or the error that prevented it."""

    paper_id: str
    status: Literal["ok", "error"]
    summary: str | None = None
    provider: str | None = None
    model: str | None = None
    error: ErrorDetail | None = None

    @classmethod
    def ok(cls, result: SummaryResponse) -> BatchItem:
        """The item for a summary that was written."""
        return cls(
            paper_id=result.paper_id, status="ok", summary=result.summary,
            provider=result.provider, model=result.model,
        )

    @classmethod
    def failed(cls, paper_id: str, info: ErrorInfo) -> BatchItem:
        """The item for a paper whose summary failed, with the error the API would report."""
        return cls(
            paper_id=paper_id, status="error",
            error=ErrorDetail(code=info.code, message=info.message),
        )


class BatchResponse(BaseModel):
    """One item per requested paper, in request order, and the usage of the whole batch."""

    items: list[BatchItem]
    usage: Usage
