"""litreview.citations: marker [n] is paper_ids[n-1]; invalid markers are removed."""

from __future__ import annotations

import pytest

from litreview.citations import Citation, resolve_citations

IDS = ["P0042", "P0007", "P0113"]


def cites(*pairs: tuple[int, str]) -> list[Citation]:
    return [Citation(marker=m, paper_id=p) for m, p in pairs]


@pytest.mark.parametrize(
    ("answer", "clean", "citations"),
    [
        ("A [1].", "A [1].", cites((1, "P0042"))),
        ("Last source [3].", "Last source [3].", cites((3, "P0113"))),
        ("B [2]. A [1]. B again [2].", "B [2]. A [1]. B again [2].",
         cites((2, "P0007"), (1, "P0042"))),
        ("Tutoring helped [2]. Effects were small [1] [4]. Older trials agree [2].",
         "Tutoring helped [2]. Effects were small [1]. Older trials agree [2].",
         cites((2, "P0007"), (1, "P0042"))),
        ("Zero [0] is nothing.", "Zero is nothing.", []),
        ("Made up [4][5].", "Made up.", []),
        ("No markers at all.", "No markers at all.", []),
        ("[9] Leading marker.", " Leading marker.", []),
        ("Grouped [1, 2] is not a marker.", "Grouped [1, 2] is not a marker.", []),
    ],
)
def test_markers_resolve_and_invalid_ones_go(
    answer: str, clean: str, citations: list[Citation]
) -> None:
    assert resolve_citations(answer, IDS) == (clean, citations)


def test_only_one_space_goes_with_an_invalid_marker() -> None:
    assert resolve_citations("Gap  [7].", IDS) == ("Gap .", [])
