"""The extraction the compatibility tests ask each client library for: a pydantic model of one
paper's fields, and what the fake's ground truth says it holds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from fake_llm.corpus import get_paper


class Extraction(BaseModel):
    """The fields of one paper."""

    paper_id: str
    population: str
    intervention: str
    outcome: str
    sample_size: int
    effect_direction: Literal["increase", "decrease", "no_effect"]


def truth(paper_id: str = "P0042") -> Extraction:
    """The extraction of ``paper_id`` as the corpus's ground truth has it."""
    return Extraction(paper_id=paper_id, **get_paper(paper_id).truth())
