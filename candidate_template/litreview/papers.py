"""The local corpus: what the app itself knows about each paper (no LLM involved).

The papers ship with the app in ``data/papers.json``; they hold public fields only. What a paper
*found* (its population, intervention, outcome, ...) is what the LLM is asked to extract.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from litreview.errors import PaperNotFound

PAPERS_PATH = Path(__file__).parent / "data" / "papers.json"


class Paper(BaseModel):
    """One paper's public record."""

    model_config = ConfigDict(frozen=True)

    paper_id: str
    title: str
    authors: list[str]
    year: int
    abstract: str


class PaperStore:
    """Papers by id. Read-only once built, so one store is shared by every request."""

    def __init__(self, papers: Iterable[Paper]) -> None:
        self._papers = {paper.paper_id: paper for paper in papers}

    @classmethod
    def load(cls, path: Path = PAPERS_PATH) -> PaperStore:
        """The store holding every paper in a JSON list file (default: the bundled corpus)."""
        rows = json.loads(path.read_text(encoding="utf-8"))
        return cls(Paper.model_validate(row) for row in rows)

    def get(self, paper_id: str) -> Paper:
        """The paper with this id; raises :class:`PaperNotFound` if there is none."""
        try:
            return self._papers[paper_id]
        except KeyError:
            raise PaperNotFound(paper_id) from None

    def __len__(self) -> int:
        return len(self._papers)

    def __iter__(self) -> Iterator[Paper]:
        """Every paper, in corpus order."""
        return iter(self._papers.values())
