"""Reviews: the model answers a question over the whole corpus, looking papers up with tools."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Request

from litreview.agent.loop import ReviewAgent
from litreview.api.deps import LLM
from litreview.schemas import PaperCitation, ReviewRequest, ReviewResponse

router = APIRouter()


def get_agent(request: Request) -> ReviewAgent:
    """The app's review agent (it exists while the app runs)."""
    return cast(ReviewAgent, request.app.state.agent)


Agent = Annotated[ReviewAgent, Depends(get_agent)]


@router.post("/reviews")
async def create_review(body: ReviewRequest, agent: Agent, gateway: LLM) -> ReviewResponse:
    """An answer citing only papers fetched in this review; see :mod:`litreview.agent.loop`."""
    policy = gateway.policy
    ctx = gateway.new_context(policy.review_deadline_s,
                              body.token_budget or policy.review_token_budget)
    review = await agent.review(body.question, ctx)
    return ReviewResponse(
        answer=review.answer,
        citations=[PaperCitation(paper_id=paper_id) for paper_id in review.citations],
        steps=review.steps, provider=review.completion.provider, model=review.completion.model,
        usage=ctx.meter.usage,
    )
