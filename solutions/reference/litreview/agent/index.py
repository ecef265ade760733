"""The corpus index behind ``search_papers``: one embedding per paper, nearest by cosine.

The papers' vectors (title and abstract) come from one embeddings call, made by the first search
and kept; later searches embed only their query. Building is shared: concurrent searches wait for
the one build, a search that runs out of time stops waiting but leaves the build running for the
next, and a build that failed is started again by the next search. (Not at start-up: the index's
call would then land in whatever the app's first requests are measured by.)
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

    async def _build(self) -> list[Vector]:
        embeddings = await self._embed([paper_text(p) for p in self._papers])
        self._vectors = list(embeddings.vectors)
        return self._vectors

    async def vectors(self, timeout_s: float) -> list[Vector]:
        """The papers' vectors, waiting at most ``timeout_s`` for the build (started, or started
        again, if need be); the build's errors propagate, and TimeoutError when time runs out."""
        if self._vectors is not None:
            return self._vectors
        if self._building is None or _failed(self._building):
            self._building = asyncio.create_task(self._build())
            self._building.add_done_callback(_failed)  # retrieved: no "never retrieved" noise
        return await asyncio.wait_for(asyncio.shield(self._building), timeout_s)

    async def nearest(self, query: Vector, count: int, timeout_s: float) -> list[Paper]:
        """The ``count`` papers nearest to ``query``, nearest first (ties: corpus order)."""
        vectors = await self.vectors(timeout_s)
        ranked = sorted(range(len(vectors)), key=lambda i: -cosine(query, vectors[i]))
        return [self._papers[i] for i in ranked[:count]]

    async def close(self) -> None:
        """Stop a build still running (the app is shutting down)."""
        if self._building is not None and not self._building.done():
            self._building.cancel()
            await asyncio.gather(self._building, return_exceptions=True)
