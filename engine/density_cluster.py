"""The ``hdbscan`` mode: density clustering on a spectral embedding of the neighbour graph.

HDBSCAN finds little in raw 384-d sentence vectors (distances concentrate, so
most rows look like noise, and it is slow).  Like BERTopic, which runs it after UMAP, qtui first lays the rows out
in a few dimensions that keep the neighbourhoods: a 15-nearest-neighbour
cosine graph, its 10 leading Laplacian eigenvectors (the spectral embedding
UMAP itself starts from), rows scaled to unit length; HDBSCAN then runs there
with the person's ``min_cluster_size`` / ``min_samples``.  Rows HDBSCAN leaves
out stay noise ("unclustered"), and so do rows that are isolated in the original
space (their ``min_samples``-th neighbour far less similar than everyone else's).  Above ``FIT_SAMPLE`` rows a sample is
clustered and every other row takes the similarity-weighted vote of its 10
nearest sampled rows (noise included as a vote).

Cost: O(m²·d) for the exact neighbour graph (m = min(n, FIT_SAMPLE)), an
eigen-solve on a sparse m×m graph, HDBSCAN on m×10, O((n−m)·m·d) to place the rest.
"""

from __future__ import annotations

import numpy as np

from engine.graph_cluster import knn, knn_graph
from engine.progress import CancelToken, check

FIT_SAMPLE = 20_000
GRAPH_K = 15
DIMS = 10
VOTE_K = 10


def density_cluster(X: np.ndarray, min_cluster_size: int, min_samples: int | None = None, *, seed: int = 0,
                    cancel: CancelToken | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """(labels with -1 for noise, confidence in [0, 1], info) for unit vectors ``X``."""
    import hdbscan

    n = len(X)
    ms = max(1, min(min_samples or min_cluster_size, n - 1))
    rng = np.random.default_rng(seed)
    fit = np.sort(rng.choice(n, FIT_SAMPLE, replace=False)) if n > FIT_SAMPLE else np.arange(n)
    Xf = np.ascontiguousarray(X[fit], dtype=np.float32)
    labels = np.full(n, -1, dtype=np.int64)
    confidence = np.zeros(n, dtype=np.float32)
    part = np.full(len(fit), -1, dtype=np.int64)
    isolated = np.zeros(len(fit), dtype=bool)
    if len(fit) > GRAPH_K + 3:
        check(cancel)
        idx, sim = knn(Xf, max(GRAPH_K, ms), cancel=cancel)
        isolated = _isolated(sim[:, ms - 1])
        keep = np.flatnonzero(~isolated)
        Z = spectral_layout(idx[:, :GRAPH_K], sim[:, :GRAPH_K], keep, seed)
        check(cancel)
        model = hdbscan.HDBSCAN(min_cluster_size=min(min_cluster_size, max(2, len(keep) // 2)),
                                min_samples=min(ms, len(keep) - 1), core_dist_n_jobs=1)
        part[keep] = model.fit_predict(Z)
        strength = np.zeros(len(fit), dtype=np.float32)
        strength[keep] = np.nan_to_num(model.probabilities_)
        labels[fit], confidence[fit] = part, strength
    rest = np.setdiff1d(np.arange(n), fit, assume_unique=True)
    if len(rest):
        check(cancel)
        idx, sim = knn(Xf, VOTE_K, Q=np.ascontiguousarray(X[rest], dtype=np.float32), exclude_self=False,
                       cancel=cancel)
        labels[rest], confidence[rest] = _vote(part[idx], sim)
    info = {"method": "spectral embedding of the kNN graph, then HDBSCAN", "dims": DIMS, "graph_k": GRAPH_K,
            "fitted_rows": int(len(fit)), "isolated_rows": int(isolated.sum()),
            "min_cluster_size": int(min_cluster_size), "min_samples": int(ms)}
    return labels, confidence, info


def _isolated(core_sim: np.ndarray) -> np.ndarray:
    """Rows whose similarity to their ``min_samples``-th neighbour is far below the rest (robust z < -3).

    A kNN graph gives every row neighbours, even a row that resembles nothing; the spectral
    layout would then place it inside some cluster.  HDBSCAN's own notion (core distance) is
    used instead, in the original space: such rows are noise before the layout is built.
    """
    median = np.median(core_sim)
    spread = 1.4826 * np.median(np.abs(core_sim - median))
    return core_sim < median - 3.0 * max(spread, 1e-3)


def spectral_layout(idx: np.ndarray, sim: np.ndarray, keep: np.ndarray, seed: int = 0) -> np.ndarray:
    """The rows ``keep`` as unit vectors in the leading eigenvectors of their neighbour graph's Laplacian.

    ``idx``/``sim`` are every row's nearest neighbours; edges to rows not kept are dropped.  The
    eigenvectors are the largest of the normalised adjacency D^-1/2 A D^-1/2 (Lanczos, no
    factorisation: sklearn's shift-invert solver is far slower),
    the trivial one dropped (when the graph is connected; else the eigenvalue 1 has one
    eigenvector per component and they all tell components apart) and each scaled by D^-1/2 as in Laplacian eigenmaps.
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components
    from scipy.sparse.linalg import eigsh

    A = knn_graph(idx, np.clip(sim, 0.0, None) + 1e-6)[keep][:, keep].astype(np.float64)
    m = len(keep)
    dims = min(DIMS, m - 3)
    degree = np.asarray(A.sum(axis=1)).ravel()
    inv_sqrt = 1.0 / np.sqrt(np.maximum(degree, 1e-12))
    N = sp.diags(inv_sqrt) @ A @ sp.diags(inv_sqrt)
    v0 = np.random.default_rng(seed).standard_normal(m)
    values, vectors = eigsh(N, k=dims + 1, which="LA", v0=v0, tol=1e-4)
    order = np.argsort(-values)
    if connected_components(A, directed=False)[0] == 1:
        order = order[1:]  # the largest (1, constant on a connected graph) says nothing
    Z = vectors[:, order] * inv_sqrt[:, None]
    norms = np.linalg.norm(Z, axis=1, keepdims=True)
    return Z / np.where(norms > 0, norms, 1.0)


def _vote(labels: np.ndarray, sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Similarity-weighted majority of neighbour labels (noise, -1, is a label too) and its share."""
    shifted = labels + 1  # noise -> 0
    K = int(shifted.max()) + 1
    w = np.maximum(sims.astype(np.float64), 1e-6)
    tally = np.zeros((len(labels), K))
    r = np.repeat(np.arange(len(labels)), labels.shape[1])
    np.add.at(tally, (r, shifted.ravel()), w.ravel())
    win = tally.argmax(axis=1)
    share = tally[np.arange(len(labels)), win] / w.sum(axis=1)
    return win - 1, np.where(win > 0, share, 0.0).astype(np.float32)
