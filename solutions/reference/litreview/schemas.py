"""Request and response bodies of the API.

Every response that used the LLM says which ``provider`` and ``model`` served it and the
``usage`` spent.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt

from litreview.citations import Citation
from litreview.errors import ErrorInfo
from litreview.llm.types import Usage
from litreview.policy import BATCH_MAX_ITEMS

EffectDirection = Literal["increase", "decrease", "no_effect"]


# Strict: "500", 500.0 and true are refused (400), not quietly read as a number.
TokenBudget = Annotated[StrictInt | None, Field(default=None, ge=1)]


class LLMRequest(BaseModel):
    """Any request that uses the LLM. ``token_budget`` overrides ``LLM_TOKEN_BUDGET``."""

    token_budget: TokenBudget = None


class PaperRequest(LLMRequest):
    """A request about one paper."""

    paper_id: str


class AnswerRequest(LLMRequest):
    """A question to answer from the given papers, which become sources ``[1]..[k]`` in order."""

    question: str = Field(min_length=1)
    paper_ids: list[str] = Field(min_length=1)


class BatchRequest(LLMRequest):
    """Papers to summarise in one call (at most ``BATCH_MAX_ITEMS``)."""

    paper_ids: list[str] = Field(min_length=1, max_length=BATCH_MAX_ITEMS)


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


class ReviewRequest(LLMRequest):
    """A question for the review agent; ``token_budget`` overrides the review default."""

    question: Annotated[str, Field(strict=True, min_length=1)]


class PaperCitation(BaseModel):
    """A paper a review's answer cites as ``[P0042]``."""

    paper_id: str


class ReviewResponse(LLMResult):
    """A review's answer, the fetched papers it cites (in order of first use), its steps."""

    answer: str
    citations: list[PaperCitation]
    steps: int


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
    fallback: bool | None = None
    error: ErrorDetail | None = None

    @classmethod
    def ok(cls, result: SummaryResponse) -> BatchItem:
        """The item for a summary that was written."""
        return cls(
            paper_id=result.paper_id, status="ok", summary=result.summary,
            provider=result.provider, model=result.model, fallback=result.fallback,
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
