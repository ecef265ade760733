"""Embeddings of the simulated embedding models: deterministic vectors for any text.

A text becomes a bag of features, its content words (lower-cased, a plural ``s`` dropped, common
words left out) and each pair of adjacent content words; every feature is hashed to a few signed
positions of the vector (a count sketch), and the vector is scaled to length 1. So texts that share
words point the same way: a question naming a paper's intervention and outcome lies closest to that
paper's title and abstract, and nearest-neighbour search over the corpus finds it. The same text
always gets the same vector, on every machine and in every run; there is no randomness to seed.

A shorter ``dimensions`` hashes into fewer positions: the vector is a vector of that length, not a
prefix of the full one.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections import Counter

_WORD = re.compile(r"[a-z0-9]+")
_POSITIONS_PER_FEATURE = 2
_STOPWORDS = frozenset(
    "a an and are as at be been by did do does for from had has have how i in into is it its of on "
    "or than that the their them these this those to was we were what when which who why with "
    "about after any can could effect effects if me more most not our should so such there they "
    "tell will would you your".split()
)


def features(text: str) -> Counter[str]:
    """The features of a text: content words and pairs of adjacent content words, with counts."""
    words = []
    for word in _WORD.findall(text.lower()):
        if word in _STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.append(word)
    bag: Counter[str] = Counter(words)
    bag.update(f"{first} {second}" for first, second in itertools.pairwise(words))
    return bag


def embed(text: str, dimensions: int) -> list[float]:
    """The unit vector of ``dimensions`` floats for a text (all zeros for a text without words)."""
    vector = [0.0] * dimensions
    for feature, count in features(text).items():
        digest = hashlib.blake2b(feature.encode(), digest_size=8 * _POSITIONS_PER_FEATURE).digest()
        for part in range(_POSITIONS_PER_FEATURE):
            value = int.from_bytes(digest[8 * part : 8 * part + 8], "little")
            sign = 1.0 if value & 1 else -1.0
            vector[(value >> 1) % dimensions] += sign * count
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else vector


def cosine(a: list[float], b: list[float]) -> float:
    """The cosine similarity of two unit vectors (their dot product)."""
    return sum(x * y for x, y in zip(a, b, strict=True))
