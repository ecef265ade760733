"""Reading citation markers such as ``[2]`` out of a model's answer."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel

_MARKER = re.compile(r"\[(\d+)\]")


class Citation(BaseModel):
    """A marker used in an answer and the paper it stands for."""

    marker: int
    paper_id: str


def extract_citations(answer: str, paper_ids: Sequence[str]) -> list[Citation]:
    """The papers an answer cites, once each, in order of first use.

    ``paper_ids`` are the sources in the order they were numbered in the prompt.
    """
    citations: list[Citation] = []
    seen: set[int] = set()
    for match in _MARKER.finditer(answer):
        marker = int(match.group(1))
        if marker in seen or marker >= len(paper_ids):
            continue
        seen.add(marker)
        citations.append(Citation(marker=marker, paper_id=paper_ids[marker]))
    return citations
