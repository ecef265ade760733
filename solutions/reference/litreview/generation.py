"""Asking until the answer is usable: validation, then bounded re-asks.

A model's answer may be well-formed HTTP and still useless: refused, empty, cut at the token
limit, not the JSON that was asked for. :func:`generate` validates each answer with a parser and
re-asks with the problem spelled out, at most ``policy.max_generations`` generations in all,
then gives up with :class:`LLMInvalidOutput`. It never guesses a value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from litreview.errors import LLMInvalidOutput
from litreview.llm.context import RequestContext
from litreview.llm.gateway import Gateway
from litreview.llm.types import ChatMessage, Completion

T = TypeVar("T")
Parser = Callable[[Completion], T]


def whole_text(completion: Completion) -> str:
    """The answer's text if it is complete and not empty; raises :class:`LLMInvalidOutput`."""
    if completion.finish_reason == "refusal":
        raise LLMInvalidOutput("the model refused to answer")
    if completion.finish_reason != "stop":
        raise LLMInvalidOutput(f"the answer was cut off (finish reason {completion.finish_reason})")
    text = completion.text.strip()
    if not text:
        raise LLMInvalidOutput("the answer was empty")
    return text


def reask_messages(
    messages: list[ChatMessage], rejected: Completion, problem: LLMInvalidOutput
) -> list[ChatMessage]:
    """The original conversation, the rejected answer, and what was wrong with it."""
    followup = list(messages)
    if rejected.text.strip():
        followup.append({"role": "assistant", "content": rejected.text})
    followup.append({
        "role": "user",
        "content": f"Your previous reply could not be used: {problem}. "
                   "Reply again to the request above, following its instructions exactly.",
    })
    return followup


async def generate(
    gateway: Gateway, messages: list[ChatMessage], ctx: RequestContext, parse: Parser[T], *,
    fallback: bool,
) -> tuple[T, Completion]:
    """The first answer that ``parse`` accepts, with the completion it came from.

    ``parse`` raises :class:`LLMInvalidOutput` to reject an answer. Transport failures,
    timeouts and the token budget are the gateway's (its errors pass through unchanged).
    """
    conversation = messages
    problem: LLMInvalidOutput | None = None
    for _ in range(gateway.policy.max_generations):
        if problem is not None and not gateway.can_attempt(ctx, fallback=fallback):
            break
        completion = await gateway.complete(conversation, ctx, fallback=fallback)
        try:
            return parse(completion), completion
        except LLMInvalidOutput as exc:
            problem = exc
            conversation = reask_messages(messages, completion, exc)
    raise LLMInvalidOutput(f"no usable answer from the model: {problem}") from problem
