"""Splitting one cluster into parts: KMeans with a chosen k, or ``auto``; no row is ever dropped."""

from __future__ import annotations

import numpy as np

from engine.review import ReviewError


def split_parts(vectors: np.ndarray, k: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Parts and confidence for splitting one cluster: KMeans with ``k`` parts, or ``auto`` when k is None.

    ``vectors`` are the unit vectors of the cluster's members.  Rows an auto
    split leaves as noise join their nearest part, so a split never drops rows.
    A ``k`` of at least the number of members is refused (each part would be one row).
    """
    from engine.clustering import ClusterSettings

    vectors = np.asarray(vectors, dtype=np.float32)
    if len(vectors) < 2:
        raise ReviewError("a cluster needs at least two rows to be split")
    if k is not None:
        n = len(vectors)
        if k < 2:
            raise ReviewError("split into at least two parts")
        if k >= n:
            raise ReviewError(f"a cluster of {n:,} texts splits into at most {n - 1:,} parts, not {k:,}" if n > 2
                              else f"a cluster of {n} texts is too small to split into parts")
        settings = ClusterSettings("kmeans", k=k, seed=seed)
    else:
        settings = ClusterSettings("auto", seed=seed)
    return cluster_parts(vectors, settings)


def cluster_parts(vectors: np.ndarray, settings) -> tuple[np.ndarray, np.ndarray]:
    """Parts and confidence of ``vectors`` (unit vectors) clustered with ``settings``; rows the clustering
    leaves as noise join their nearest part, so no row is dropped."""
    from engine.clustering import cluster
    from engine.metrics import centroids

    vectors = np.asarray(vectors, dtype=np.float32)
    result = cluster(vectors, settings)
    parts, conf = result.labels.copy(), result.confidence.copy()
    noise = parts < 0
    if noise.any() and (~noise).any():
        centres = centroids(vectors, parts, int(parts.max()) + 1)
        parts[noise] = np.argmax(vectors[noise] @ centres.T, axis=1)
        conf[noise] = 0.0
    return parts, conf
