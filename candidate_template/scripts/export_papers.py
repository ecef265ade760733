"""Write the public fields of the fake LLM's corpus to ``litreview/data/papers.json``.

The app keeps its own copy of the papers, as a real service keeps its own database: it knows each
paper's id, title, authors, year and abstract, never the ground truth the fake model answers from.
Run from the kit's repository root whenever ``fake_llm/data/papers.json`` changes::

    python candidate_template/scripts/export_papers.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
OUTPUT = REPO_ROOT / "candidate_template" / "litreview" / "data" / "papers.json"


def main() -> None:
    """Export every paper's public fields, in id order, and report how many were written."""
    sys.path.insert(0, str(REPO_ROOT))  # so that fake_llm imports when run as a plain script
    from fake_llm.corpus import corpus

    rows = [paper.public() for _, paper in sorted(corpus().items())]
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} papers to {OUTPUT.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
