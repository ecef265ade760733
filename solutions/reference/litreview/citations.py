"""Reading citation markers such as ``[2]`` out of a model's answer.

Sources are numbered from 1 in the order the prompt listed them, so marker ``[n]`` stands for
``paper_ids[n - 1]``. A marker outside ``1..len(paper_ids)`` cites nothing the user gave: it is
removed from the text, with one space before it if there is one, and never reported as a
citation. Nothing else in the text changes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel

# One space before a marker goes with it, so a dropped marker leaves no gap.
_MARKER = re.compile(r" ?\[(\d+)\]")


class Citation(BaseModel):
    """A marker used in an answer and the paper it stands for."""

    marker: int
    paper_id: str


def resolve_citations(answer: str, paper_ids: Sequence[str]) -> tuple[str, list[Citation]]:
    """The answer without invalid markers, and its citations once each in order of first use."""
    citations: dict[int, Citation] = {}

    def keep_or_drop(match: re.Match[str]) -> str:
        marker = int(match.group(1))
        if not 1 <= marker <= len(paper_ids):
            return ""
        citations.setdefault(marker, Citation(marker=marker, paper_id=paper_ids[marker - 1]))
        return match.group(0)

    return _MARKER.sub(keep_or_drop, answer), list(citations.values())
