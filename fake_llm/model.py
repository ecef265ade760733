"""The simulated model: what it understands in a prompt, and what it answers.

The model reads the whole conversation (system prompt and messages) as plain text and recognises
the literature-review tasks by paper ids (``P0042``) and plain task words:

- ``answer``: numbered source lines (``[1] P0042 ...``) together with the word "question";
- ``extract``: the word "extract" and a paper id;
- ``summary``: a word starting with "summar" and a paper id;
- ``chat``: anything else, answered with plausible filler;
- ``embed``: a request for embeddings (set by the embeddings endpoint, never read from a prompt),
  whose answer is vectors, not text (see :mod:`fake_llm.embeddings`).

Answers come from the corpus's ground truth, so they are verifiable. Token counts are an
approximation (four characters a token), applied the same way everywhere.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass
from typing import Literal

from fake_llm.corpus import Paper, get_paper

Task = Literal["summary", "extract", "answer", "chat", "embed"]
TASKS: tuple[Task, ...] = ("summary", "extract", "answer", "chat", "embed")

_PAPER_ID = re.compile(r"\bP\d{4}\b")
_SOURCE_LINE = re.compile(r"^\s*\[(\d+)\][^\n]*?\b(P\d{4})\b", re.MULTILINE)
_FILLER_WORDS = (
    "model reliability latency evidence context answer careful system request review result "
    "signal method sample design budget retry provider stream summary"
).split()


@dataclass(frozen=True, slots=True)
class Prompt:
    """What the model recognised in a request."""

    task: Task
    paper_ids: tuple[str, ...]
    sources: tuple[tuple[int, str], ...]  # (marker, paper_id) for the answer task
    text: str


def count_tokens(text: str) -> int:
    """Approximate tokens in a text: one per four characters, at least one."""
    return max(1, math.ceil(len(text) / 4))


def read_prompt(text: str) -> Prompt:
    """Recognise the task and the papers a prompt is about."""
    paper_ids = tuple(dict.fromkeys(_PAPER_ID.findall(text)))
    lowered = text.lower()
    sources = tuple((int(marker), pid) for marker, pid in _SOURCE_LINE.findall(text))
    task: Task
    if sources and "question" in lowered:
        task = "answer"
    elif paper_ids and "extract" in lowered:
        task = "extract"
    elif paper_ids and "summar" in lowered:
        task = "summary"
    else:
        task = "chat"
    return Prompt(task=task, paper_ids=paper_ids, sources=sources, text=text)


def extraction_json(paper: Paper) -> str:
    """The extraction the model returns for a paper, as compact JSON."""
    return json.dumps({"paper_id": paper.paper_id, **paper.truth()})


def cited_answer(sources: tuple[tuple[int, str], ...]) -> str:
    """One sentence per known source, each ending in its citation marker."""
    sentences = []
    for marker, paper_id in sources:
        paper = get_paper(paper_id)
        if paper is None:
            continue
        sentences.append(
            f"{paper.intervention.capitalize()} {paper.effect_phrase()} in "
            f"{paper.population} [{marker}]."
        )
    if not sentences:
        return "None of the given sources address this question."
    return "Based on the sources: " + " ".join(sentences)


def filler(rng: random.Random, sentences: int = 3) -> str:
    """Plausible-looking text for prompts the model does not recognise."""
    out = []
    for _ in range(sentences):
        words = [rng.choice(_FILLER_WORDS) for _ in range(rng.randint(6, 12))]
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def respond(prompt: Prompt, rng: random.Random) -> str:
    """The model's complete, fault-free answer to a prompt (no text for embeddings)."""
    if prompt.task == "embed":
        return ""
    if prompt.task == "answer":
        return cited_answer(prompt.sources)
    if prompt.task in ("extract", "summary"):
        paper = get_paper(prompt.paper_ids[0])
        if paper is None:
            return f"I have no record of a paper with id {prompt.paper_ids[0]}."
        return extraction_json(paper) if prompt.task == "extract" else paper.summary()
    return filler(rng)
