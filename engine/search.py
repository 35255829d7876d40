"""Nearest texts by cosine similarity over unit vectors (exact, brute force)."""

from __future__ import annotations

import numpy as np


class SimilarityIndex:
    """Exact top-k cosine search over the rows of a unit-vector matrix."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.vectors)

    def search(self, query: np.ndarray, k: int = 20, exclude: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the ``k`` rows most similar to ``query`` and their cosines, best first."""
        n = len(self.vectors)
        if n == 0 or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        sims = self.vectors @ np.asarray(query, dtype=np.float32)
        if exclude is not None:
            sims[exclude] = -np.inf
        k = min(k, n - (exclude is not None))
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        top = np.argpartition(-sims, k - 1)[:k] if k < n else np.arange(n)
        top = top[np.lexsort((top, -sims[top]))]
        return top.astype(np.int64), sims[top].astype(np.float32)

    def neighbours(self, position: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` rows nearest to row ``position`` (itself excluded)."""
        return self.search(self.vectors[position], k, exclude=position)
