"""A paper's summary streamed to the user as server-sent events.

Events: ``delta`` ``{"text"}`` as the model writes, then ``done`` ``{"provider", "model",
"usage"}`` only for a whole answer; on any failure ``error`` ``{"code", "message"}``
and the stream ends. The first event comes within ``policy.stream_first_event_s`` of the request.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from litreview import prompts
from litreview.api.deps import LLM, Papers
from litreview.api.sse import SSE_HEADERS, sse_event
from litreview.errors import LitReviewError, describe
from litreview.llm.context import RequestContext
from litreview.llm.gateway import Gateway
from litreview.llm.streaming import StreamDone, stream_answer
from litreview.papers import Paper
from litreview.schemas import PaperRequest

logger = logging.getLogger(__name__)
router = APIRouter()


@router.post("/summaries/stream")
async def stream_summary(body: PaperRequest, papers: Papers, gateway: LLM) -> StreamingResponse:
    """The summary of one paper as SSE; 404 ``not_found`` (plain JSON) for an unknown id."""
    paper = papers.get(body.paper_id)
    ctx = gateway.new_context(gateway.policy.stream_first_event_s, body.token_budget)
    return StreamingResponse(
        _summary_events(paper, gateway, ctx), media_type="text/event-stream", headers=SSE_HEADERS
    )


async def _summary_events(
    paper: Paper, gateway: Gateway, ctx: RequestContext
) -> AsyncIterator[str]:
    items = stream_answer(
        gateway, prompts.summary_messages(paper), ctx, idle_s=gateway.policy.stream_idle_s
    )
    try:
        async for item in items:
            if isinstance(item, StreamDone):
                usage = ctx.meter.usage.model_dump()
                done = {"provider": item.provider, "model": item.model, "usage": usage}
                yield sse_event("done", done)
            else:
                yield sse_event("delta", {"text": item.text})
    except LitReviewError as exc:
        yield sse_event("error", describe(exc).event())
    except Exception as exc:  # the 200 is sent: an error event is the only honest ending left
        logger.exception("stream of %s failed", paper.paper_id)
        yield sse_event("error", describe(exc).event())
    finally:
        await items.aclose()
