"""The simulated model's whole reply to a conversation: tool calls, structured output, or text.

- tool calls when :func:`fake_llm.tooluse.plan_calls` says so;
- a requested output format (``response_format``): JSON that follows the schema, filled from
  ground truth (see :mod:`fake_llm.structured`); ``json_object`` gets the task's JSON;
- after tool results: an answer over the papers fetched (or, with no fetch tool, the top papers
  a search listed), each sentence citing its paper as ``[P0042]``; when the prompt itself is a
  recognised task (numbered sources, a summary, an extraction), that task's usual answer;
- otherwise the answer :func:`fake_llm.model.respond` gives.
"""

from __future__ import annotations

import json
import random

from fake_llm.conversation import OutputFormat, Reply, Turn
from fake_llm.corpus import get_paper
from fake_llm.model import Prompt, extraction_json, read_prompt, respond
from fake_llm.structured import Hints, fill
from fake_llm.tooluse import TOP_PAPERS, fetched_ids, listed_ids, plan_calls


def will_call_tools(turn: Turn) -> bool:
    """Whether the reply to this turn is tool calls (known before any fate is drawn)."""
    return bool(turn.tools) and bool(plan_calls(turn))


def answer_from_papers(paper_ids: list[str]) -> str:
    """One sentence per known paper, each citing it by id."""
    sentences = []
    for paper_id in paper_ids:
        paper = get_paper(paper_id)
        if paper is not None:
            sentences.append(f"{paper.intervention.capitalize()} {paper.effect_phrase()} in "
                             f"{paper.population} [{paper.paper_id}].")
    if not sentences:
        return "None of the papers I found address this question."
    return "Based on the papers: " + " ".join(sentences)


def _structured(output: OutputFormat, prompt: Prompt, text: str) -> str:
    paper = get_paper(prompt.paper_ids[0]) if prompt.paper_ids else None
    if output.schema is not None:
        hints = Hints(paper, prompt.paper_ids[:1], prompt.text, text)
        return json.dumps(fill(output.schema, hints))
    if prompt.task == "extract" and paper is not None:
        return extraction_json(paper)
    if prompt.task == "summary" and paper is not None:
        return json.dumps({"paper_id": paper.paper_id, "summary": paper.summary()})
    return json.dumps({"answer": text})


def reply(turn: Turn, prompt: Prompt, rng: random.Random) -> Reply:
    """The model's complete, fault-free reply."""
    calls = plan_calls(turn)
    if calls:
        return Reply("", calls)
    asked = read_prompt(turn.instructions) if turn.tools or turn.results else prompt
    papers = (fetched_ids(turn) or listed_ids(turn)[:TOP_PAPERS]) if turn.results else []
    text = answer_from_papers(papers) if papers and asked.task == "chat" else respond(asked, rng)
    if turn.output is not None:
        return Reply(_structured(turn.output, asked, text))
    return Reply(text)
