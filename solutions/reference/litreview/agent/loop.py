"""The review loop: the app, not the model, decides when a review is over.

Each step asks the model (with the tools) for its next move and runs the valid calls of its
reply. Every exit is an answer or a typed error:

==============================================  =========================  ====================
what happened                                   raised                     answered
==============================================  =========================  ====================
a reply with no tool calls and text left        (the review's answer)      200
that answer has no text left                    LLMInvalidOutput           502 llm_invalid_output
a malformed call once the re-asks are used up   LLMInvalidOutput           502 llm_invalid_output
the last step's reply still asks for a tool     AgentStuck                 502 agent_stuck
the budget spent before a further call          BudgetExceeded             402 budget_exceeded
the deadline, or a call's attempts used up      the gateway's LLMError     504 / 503 / ...
==============================================  =========================  ====================

A repeated call is not run again; the step limit ends a loop. Every provider call of a step (the
model's, a search's embedding) is one user request for the retry rules: a fresh attempt count,
the review's deadline and the review's meter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from litreview.agent.index import CorpusIndex
from litreview.agent.tools import (
    FETCH,
    TOOLS,
    FetchArgs,
    Malformed,
    SearchArgs,
    ValidCall,
    read_call,
)
from litreview.errors import AgentStuck, LLMInvalidOutput, LLMTimeout, PaperNotFound
from litreview.llm.context import RequestContext
from litreview.llm.gateway import Gateway
from litreview.llm.openai import OpenAIProvider
from litreview.llm.types import Completion, Embeddings, ToolReply
from litreview.papers import Paper, PaperStore

# No paper id in here: the model would take it for a paper the user asked about.
SYSTEM_PROMPT = (
    "You are a careful research assistant answering questions from a corpus of papers. "
    "Use search_papers to find candidate papers and fetch_paper to read them. Answer only from "
    "papers you fetched, and cite each claim with the paper's id in square brackets."
)
_MARKER = re.compile(r"\s?\[(P\d+)\]")


@dataclass(frozen=True, slots=True)
class Review:
    """A finished review: the answer, the papers it cites (in order of first use), the steps."""

    answer: str
    citations: list[str]
    steps: int
    completion: Completion


@dataclass
class _State:
    """What one review has done so far."""

    messages: list[dict[str, Any]]
    made: set[tuple[str, str]] = field(default_factory=set)
    fetched: dict[str, Paper] = field(default_factory=dict)
    reasks: int = 0


class ReviewAgent:
    """Runs reviews over ``papers`` with the primary provider of ``gateway``."""

    def __init__(self, gateway: Gateway, model: OpenAIProvider, papers: PaperStore,
                 index: CorpusIndex, embedding_model: str) -> None:
        self.gateway = gateway
        self.model = model
        self.papers = papers
        self.index = index
        self.embedding_model = embedding_model
        self.policy = gateway.policy

    async def review(self, question: str, ctx: RequestContext) -> Review:
        """The answer to ``question``, or the typed error of the table above."""
        state = _State([{"role": "system", "content": SYSTEM_PROMPT},
                        {"role": "user", "content": question}])
        for step in range(1, self.policy.review_max_steps + 1):
            reply = await self._ask(state.messages, ctx)
            if not reply.tool_calls:
                return self._answer(reply.completion, state, step)
            judged = [read_call(call) for call in reply.tool_calls]
            if any(isinstance(call, Malformed) for call in judged):
                if state.reasks >= self.policy.review_max_tool_reasks:
                    raise LLMInvalidOutput(f"a malformed tool call after {state.reasks} re-asks")
                state.reasks += 1
            if step == self.policy.review_max_steps:
                raise AgentStuck(f"the model still asked for tools after {step} steps")
            state.messages.append(_assistant_turn(reply))
            for call in judged:
                content = await self._run(call, state, ctx)
                state.messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
        raise AgentStuck("no steps allowed")  # only with review_max_steps < 1

    async def _ask(self, messages: list[dict[str, Any]], ctx: RequestContext) -> ToolReply:
        step_ctx = RequestContext(ctx.deadline, ctx.meter)

        async def attempt(provider: Any, deadline: Any) -> ToolReply:
            timeout_s = min(self.policy.attempt_timeout_s, deadline.remaining())
            return await self.model.complete_with_tools(messages, TOOLS, timeout_s)

        reply = await self.gateway.with_retries(self.model, step_ctx, ctx.deadline, attempt)
        ctx.meter.add(reply.completion.usage)
        return reply

    async def _embed_query(self, query: str, ctx: RequestContext) -> Embeddings:
        step_ctx = RequestContext(ctx.deadline, ctx.meter)

        async def attempt(provider: Any, deadline: Any) -> Embeddings:
            timeout_s = min(self.policy.attempt_timeout_s, deadline.remaining())
            return await self.model.embed([query], self.embedding_model, timeout_s)

        embeddings = await self.gateway.with_retries(self.model, step_ctx, ctx.deadline, attempt)
        ctx.meter.add(embeddings.usage)
        return embeddings

    async def _run(self, call: ValidCall | Malformed, state: _State, ctx: RequestContext) -> str:
        """The content of the ``tool`` message answering ``call``."""
        if isinstance(call, Malformed):
            return f"Error: {call.problem}. Nothing was run; call the tool again correctly."
        if call.key in state.made:
            return "You already made this exact call in this review; its result is above."
        state.made.add(call.key)
        if isinstance(call.args, SearchArgs):
            return await self._search(call.args.query, ctx)
        assert isinstance(call.args, FetchArgs) and call.name == FETCH
        return self._fetch(call.args.paper_id, state)

    async def _search(self, query: str, ctx: RequestContext) -> str:
        # The gateway checks the budget and the deadline before the embedding call, as before any.
        vectors = (await self._embed_query(query, ctx)).vectors
        try:
            found = await self.index.nearest(vectors[0], self.policy.review_search_results,
                                             ctx.deadline.remaining())
        except TimeoutError:
            raise LLMTimeout("the corpus index was not ready before the deadline") from None
        lines = [f"{paper.paper_id}: {paper.title}" for paper in found]
        return "Papers found (fetch one by its id to read it):\n" + "\n".join(lines)

    def _fetch(self, paper_id: str, state: _State) -> str:
        try:
            paper = self.papers.get(paper_id)
        except PaperNotFound:
            return f"There is no paper with id {paper_id} in the corpus."
        state.fetched.setdefault(paper.paper_id, paper)
        return f"{paper.paper_id} ({paper.year}): {paper.title}\nAbstract: {paper.abstract}"

    def _answer(self, completion: Completion, state: _State, step: int) -> Review:
        """The final reply, with markers only to fetched papers."""
        if completion.finish_reason == "refusal":
            raise LLMInvalidOutput("the model refused to answer")
        if completion.finish_reason != "stop":
            raise LLMInvalidOutput(f"the answer was cut off ({completion.finish_reason})")
        cited: list[str] = []

        def keep(match: re.Match[str]) -> str:
            paper_id = match.group(1)
            if paper_id not in state.fetched:
                return ""
            if paper_id not in cited:
                cited.append(paper_id)
            return match.group(0)

        text = _MARKER.sub(keep, completion.text).strip()
        if not re.search(r"\w", text):
            raise LLMInvalidOutput("the answer has no text once its unfounded markers are removed")
        return Review(text, cited, step, completion)


def _assistant_turn(reply: ToolReply) -> dict[str, Any]:
    """The model's reply as the conversation's next message, its calls as it wrote them."""
    return {
        "role": "assistant",
        "content": reply.completion.text or None,
        "tool_calls": [
            {"id": call.id, "type": "function",
             "function": {"name": call.name, "arguments": call.arguments}}
            for call in reply.tool_calls
        ],
    }
