"""What the app asks the model. Each function returns the whole conversation for one task."""

from __future__ import annotations

from collections.abc import Sequence

from litreview.llm.types import ChatMessage
from litreview.papers import Paper

SYSTEM_PROMPT = (
    "You are a careful research assistant helping with systematic literature reviews. "
    "Use only the papers you are given."
)

EXTRACTION_KEYS = (
    "paper_id", "population", "intervention", "outcome", "sample_size", "effect_direction",
)


def _conversation(user_text: str) -> list[ChatMessage]:
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user_text},
    ]


def _paper_block(paper: Paper) -> str:
    return f"Title: {paper.title}\nYear: {paper.year}\nAbstract: {paper.abstract}"


def summary_messages(paper: Paper) -> list[ChatMessage]:
    """Ask for a short plain-text summary of one paper."""
    return _conversation(
        f"Summarise paper {paper.paper_id} in a few sentences for a reviewer.\n\n"
        f"{_paper_block(paper)}"
    )


def extraction_messages(paper: Paper) -> list[ChatMessage]:
    """Ask for the paper's trial fields as one JSON object with :data:`EXTRACTION_KEYS`."""
    return _conversation(
        f"Extract the trial details of paper {paper.paper_id}. Reply with one JSON object with "
        f"the keys {', '.join(EXTRACTION_KEYS)}; sample_size is an integer and "
        "effect_direction is one of increase, decrease, no_effect. Reply with the JSON only.\n\n"
        f"{_paper_block(paper)}"
    )


def answer_messages(question: str, papers: Sequence[Paper]) -> list[ChatMessage]:
    """Ask a question over numbered sources ``[1]..[k]``, in the order of ``papers``."""
    sources = "\n".join(
        f"[{number}] {paper.paper_id}: {paper.title}" for number, paper in enumerate(papers, 1)
    )
    return _conversation(
        "Answer the question using only the numbered sources below. Support every claim with "
        "the marker of its source, like [1].\n\n"
        f"Sources:\n{sources}\n\nQuestion: {question}"
    )
