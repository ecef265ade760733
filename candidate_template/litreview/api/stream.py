"""A paper's summary streamed to the user as server-sent events.

The events the UI understands: ``delta`` ``{"text"}`` as the model writes, ``done``
``{"provider", "model", "usage"}`` at the end of the summary, and ``error`` ``{"code",
"message"}``, which the UI shows with a *Try again* button.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from litreview import prompts
from litreview.api.deps import LLM, Papers
from litreview.api.sse import SSE_HEADERS, sse_event
from litreview.llm import OpenAIClient, Usage
from litreview.papers import Paper
from litreview.schemas import PaperRequest

logger = logging.getLogger(__name__)
router = APIRouter()


@router.post("/summaries/stream")
async def stream_summary(body: PaperRequest, papers: Papers, llm: LLM) -> StreamingResponse:
    """The summary of one paper as SSE; 404 ``not_found`` (plain JSON) for an unknown id."""
    paper = papers.get(body.paper_id)
    return StreamingResponse(
        _summary_events(paper, llm), media_type="text/event-stream", headers=SSE_HEADERS
    )


async def _summary_events(paper: Paper, llm: OpenAIClient) -> AsyncIterator[str]:
    try:
        async for text in llm.stream(prompts.summary_messages(paper)):
            yield sse_event("delta", {"text": text})
    except Exception:
        # The 200 and the first deltas are already on their way; finish the stream politely.
        logger.exception("stream of %s failed", paper.paper_id)
    usage = Usage().model_dump()
    yield sse_event("done", {"provider": llm.provider, "model": llm.model, "usage": usage})
