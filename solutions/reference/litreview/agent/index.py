"""The corpus index behind ``search_papers``: one embedding per paper, nearest by cosine.

The papers' vectors (title and abstract) come from one embeddings call, made once when the app
starts and kept; a search embeds only its query. Building is shared: concurrent searches wait for
the one build, and a build that failed is started again by the next search.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence

from litreview.llm.types import Embeddings
from litreview.papers import Paper

Embed = Callable[[list[str]], Awaitable[Embeddings]]
Vector = tuple[float, ...]


def paper_text(paper: Paper) -> str:
    """What a paper's vector stands for."""
    return f"{paper.title}\n{paper.abstract}"


def cosine(a: Vector, b: Vector) -> float:
    """The cosine similarity of two vectors (0 when either is all zeros)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _failed(task: asyncio.Task[list[Vector]]) -> bool:
    """Whether a finished build failed (or was cancelled)."""
    return task.done() and (task.cancelled() or task.exception() is not None)


class CorpusIndex:
    """The papers' vectors, built once by ``embed`` (the app's own call, not a review's)."""

    def __init__(self, papers: Sequence[Paper], embed: Embed) -> None:
        self._papers = list(papers)
        self._embed = embed
        self._vectors: list[Vector] | None = None
        self._building: asyncio.Task[list[Vector]] | None = None

    def start(self) -> None:
        """Begin building in the background; a failure waits for the first search to retry."""
        if self._vectors is None and (self._building is None or self._building.done()):
            self._building = asyncio.create_task(self._build())
            self._building.add_done_callback(_failed)  # retrieved here: no "never retrieved" noise

    async def _build(self) -> list[Vector]:
        embeddings = await self._embed([paper_text(p) for p in self._papers])
        self._vectors = list(embeddings.vectors)
        return self._vectors

    async def vectors(self) -> list[Vector]:
        """The papers' vectors, waiting for (or starting again) the build; its errors propagate."""
        if self._vectors is not None:
            return self._vectors
        if self._building is None or _failed(self._building):
            self._building = asyncio.create_task(self._build())
        return await asyncio.shield(self._building)

    async def nearest(self, query: Vector, count: int) -> list[Paper]:
        """The ``count`` papers nearest to ``query``, nearest first (ties: corpus order)."""
        vectors = await self.vectors()
        ranked = sorted(range(len(vectors)), key=lambda i: -cosine(query, vectors[i]))
        return [self._papers[i] for i in ranked[:count]]

    async def close(self) -> None:
        """Stop a build still running (the app is shutting down)."""
        if self._building is not None and not self._building.done():
            self._building.cancel()
            await asyncio.gather(self._building, return_exceptions=True)
