"""Summaries of one paper, or of many at once.

Summaries may come from the secondary provider when the primary is unavailable (``fallback``
true). A batch summarises at most ``policy.batch_concurrency`` papers at a time (so at most that
many LLM calls are in flight), and answers within ``policy.batch_deadline_s`` with whatever
finished; each item has its own status.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from litreview import prompts
from litreview.api.deps import LLM, Papers
from litreview.clock import Deadline
from litreview.errors import LitReviewError, LLMTimeout, describe
from litreview.generation import generate, whole_text
from litreview.llm.context import RequestContext, UsageMeter
from litreview.llm.gateway import Gateway
from litreview.llm.types import Usage
from litreview.papers import Paper
from litreview.schemas import BatchItem, BatchRequest, BatchResponse, PaperRequest, SummaryResponse

router = APIRouter()


async def summarize(paper: Paper, gateway: Gateway, ctx: RequestContext) -> SummaryResponse:
    """A whole, non-empty summary of ``paper``; raises an LLMError or BudgetExceeded instead.

    ``usage`` is everything ``ctx.meter`` has counted so far.
    """
    text, completion = await generate(
        gateway, prompts.summary_messages(paper), ctx, whole_text, fallback=True
    )
    return SummaryResponse(
        paper_id=paper.paper_id, summary=text, provider=completion.provider,
        model=completion.model, fallback=completion.fallback, usage=ctx.meter.usage,
    )


@router.post("/summaries")
async def create_summary(body: PaperRequest, papers: Papers, gateway: LLM) -> SummaryResponse:
    """A summary of one paper, within the request deadline."""
    paper = papers.get(body.paper_id)
    ctx = gateway.new_context(gateway.policy.request_deadline_s, body.token_budget)
    return await summarize(paper, gateway, ctx)


@router.post("/summaries/batch", response_model_exclude_none=True)
async def create_summaries(body: BatchRequest, papers: Papers, gateway: LLM) -> BatchResponse:
    """A summary of each paper, one item per requested id, in request order.

    Each item is one user request for the policy (its own attempts and its own token budget of
    the batch's size); the batch's ``usage`` sums every item, failed or unfinished ones included.
    """
    policy = gateway.policy
    batch = gateway.new_context(policy.batch_deadline_s, body.token_budget)
    meters = [UsageMeter(batch.meter.budget_tokens) for _ in body.paper_ids]
    slots = asyncio.Semaphore(policy.batch_concurrency)

    async def one(paper_id: str, meter: UsageMeter) -> BatchItem:
        try:
            paper = papers.get(paper_id)
            async with slots:
                # A single summary's deadline from when the item starts, within the batch's: a
                # hanging paper gives its slot back in time for the papers queued behind it.
                ctx = gateway.new_context(
                    policy.request_deadline_s, meter=meter, not_after=batch.deadline
                )
                return BatchItem.ok(await summarize(paper, gateway, ctx))
        except LitReviewError as exc:
            return BatchItem.failed(paper_id, describe(exc))

    tasks = [
        asyncio.create_task(one(paper_id, meter))
        for paper_id, meter in zip(body.paper_ids, meters, strict=True)
    ]
    items = await _gather_until(tasks, body.paper_ids, batch.deadline)
    usage = sum((meter.usage for meter in meters), start=Usage())
    return BatchResponse(items=items, usage=usage)


async def _gather_until(
    tasks: list[asyncio.Task[BatchItem]], paper_ids: list[str], deadline: Deadline
) -> list[BatchItem]:
    """Each task's item, or an ``llm_timeout`` item for those unfinished at ``deadline``."""
    _, pending = await asyncio.wait(tasks, timeout=deadline.remaining())
    for task in pending:
        task.cancel()
    # Let the cancelled items unwind (closing connections, freeing breaker probes) before replying.
    await asyncio.gather(*pending, return_exceptions=True)
    timeout = describe(LLMTimeout("the batch deadline passed before this item finished"))
    return [
        BatchItem.failed(paper_id, timeout) if task.cancelled() else task.result()
        for task, paper_id in zip(tasks, paper_ids, strict=True)
    ]
