"""Quality figures of a clustering: internal ones from the vectors, external ones against gold labels.

Internal: silhouette (cosine, on clustered rows; sampled above ``SILHOUETTE_SAMPLE``
rows, the sample size is reported), Calinski–Harabasz, Davies–Bouldin, number
of clusters, noise share, size distribution.  External (when gold labels are
given): ARI, NMI, V-measure and purity over all rows, noise counted as one group.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

NOISE = -1
SILHOUETTE_SAMPLE = 10_000
#: The silhouette's sample for a quick clustering (a first view): its cost grows with the square of the sample.
QUICK_SILHOUETTE_SAMPLE = 4_000


@dataclass
class Metrics:
    """Global quality figures; ``None`` where a figure is undefined (e.g. one cluster)."""

    rows: int
    clusters: int
    noise_share: float
    sizes: dict = field(default_factory=dict)  # min, median, max, mean of cluster sizes
    silhouette: float | None = None
    silhouette_sample: int = 0
    calinski_harabasz: float | None = None
    davies_bouldin: float | None = None
    ari: float | None = None
    nmi: float | None = None
    v_measure: float | None = None
    purity: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def compute_metrics(X: np.ndarray, labels: np.ndarray, gold: Sequence[str] | None = None,
                    seed: int = 0, sample: int = SILHOUETTE_SAMPLE) -> Metrics:
    """Figures for ``labels`` of the unit vectors ``X``; ``gold`` aligned with ``labels`` if given."""
    from sklearn import metrics as skm

    labels = np.asarray(labels)
    n = len(labels)
    clustered = labels >= 0
    ids, counts = np.unique(labels[clustered], return_counts=True)
    m = Metrics(rows=n, clusters=len(ids), noise_share=float((~clustered).mean()) if n else 0.0)
    if len(counts):
        m.sizes = {"min": int(counts.min()), "median": float(np.median(counts)),
                   "max": int(counts.max()), "mean": float(counts.mean())}
    # the clustered rows by index, never X[clustered]: that would be a second copy of X
    rows = np.flatnonzero(clustered)
    lc = labels[rows]
    if 2 <= len(ids) < len(lc):
        size = min(sample, len(lc))
        m.silhouette_sample = size
        from sklearn import config_context
        from sklearn.utils import check_random_state

        # the sample scikit-learn's silhouette_score(sample_size=size) draws from the clustered rows
        picked = rows[check_random_state(seed).permutation(len(lc))[:size]] if size < len(lc) else rows
        # distances in 128 MB chunks (scikit-learn's default working memory, 1 GB, would set the peak memory)
        with config_context(working_memory=128):
            m.silhouette = float(skm.silhouette_score(X[picked], labels[picked], metric="cosine"))
        m.calinski_harabasz, m.davies_bouldin = calinski_davies(X, lc, rows=rows)
    if gold is not None and n:
        m.ari, m.nmi, m.v_measure, m.purity = external_scores(labels, gold)
    return m


def calinski_davies(X: np.ndarray, labels: np.ndarray, block: int = 65_536,
                    rows: np.ndarray | None = None) -> tuple[float, float]:
    """scikit-learn's Calinski-Harabasz and Davies-Bouldin scores of ``labels`` on ``X`` in float64, without a
    float64 copy of ``X`` (3 GB at 1M rows, beside sklearn's own copies of each cluster).  Both scores follow
    scikit-learn 1.9's code step by step: the same numbers while every cluster has at most ``block`` rows
    (one cluster's rows are float64 at a time); a larger cluster is summed a block at a time (its float64
    copy and temporaries would be gigabytes), which changes only the rounding.  ``rows``: the rows of ``X``
    that ``labels`` label (default all), read by index rather than copied."""
    from sklearn.metrics import pairwise_distances

    _, lab = np.unique(labels, return_inverse=True)  # LabelEncoder
    lab = lab.ravel()
    rows = np.arange(len(X)) if rows is None else np.asarray(rows)
    n, dim = len(rows), X.shape[1]
    K = int(lab.max()) + 1
    if n == len(X):
        mean = np.mean(X, axis=0, dtype=np.float64)
    else:  # row after row into one float64 sum, as np.mean adds the rows of a copy
        total = np.zeros(dim)
        for lo in range(0, n, block):
            total = np.sum(np.concatenate([total[None], np.asarray(X[rows[lo: lo + block]], np.float64)]), axis=0)
        mean = total / n
    extra, intra = 0.0, 0.0
    intra_dists = np.zeros(K)
    centres = np.zeros((K, dim))
    for k in range(K):
        members = rows[lab == k]
        if len(members) > block:
            parts = [members[lo: lo + block] for lo in range(0, len(members), block)]
            mean_k = sum(np.asarray(X[p], dtype=np.float64).sum(axis=0) for p in parts) / len(members)
            extra += len(members) * np.sum((mean_k - mean) ** 2)
            intra += sum(np.sum((np.asarray(X[p], dtype=np.float64) - mean_k) ** 2) for p in parts)
            centres[k] = mean_k
            intra_dists[k] = sum(pairwise_distances(np.asarray(X[p], dtype=np.float64), mean_k[None]).sum()
                                 for p in parts) / len(members)
            continue
        cluster_k = np.asarray(X[members], dtype=np.float64)
        mean_k = np.mean(cluster_k, axis=0)
        extra += cluster_k.shape[0] * np.sum((mean_k - mean) ** 2)
        intra += np.sum((cluster_k - mean_k) ** 2)
        centres[k] = np.average(cluster_k, axis=0)
        intra_dists[k] = np.average(pairwise_distances(cluster_k, np.stack([centres[k]])))
    ch = float(1.0 if intra == 0.0 else extra * (n - K) / (intra * (K - 1.0)))
    centre_distances = pairwise_distances(centres)
    if np.all(np.isclose(intra_dists, 0.0)) or np.all(np.isclose(centre_distances, 0.0)):
        return ch, 0.0
    centre_distances[centre_distances == 0] = np.inf
    combined = intra_dists[:, None] + intra_dists
    return ch, float(np.average(np.max(combined / centre_distances, axis=1)))


def external_scores(labels: np.ndarray, gold: Sequence[str]) -> tuple[float, float, float, float]:
    """(ARI, NMI, V-measure, purity) of ``labels`` against ``gold``; noise is one group."""
    from sklearn import metrics as skm

    gold = np.asarray(gold, dtype=object)
    labels = np.asarray(labels)
    ari = float(skm.adjusted_rand_score(gold, labels))
    nmi = float(skm.normalized_mutual_info_score(gold, labels))
    v = float(skm.v_measure_score(gold, labels))
    return ari, nmi, v, purity(labels, gold)


def gold_mix(labels: np.ndarray, gold: Sequence[str] | None, cluster_id: int, k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` most common gold labels among the rows ``labels`` puts in ``cluster_id``, with their share
    (most common first, ties by label); empty without gold labels or members."""
    rows = np.flatnonzero(labels == cluster_id)
    if gold is None or len(rows) == 0:
        return []
    values, counts = np.unique(np.asarray([gold[r] for r in rows], dtype=object), return_counts=True)
    order = np.lexsort((values.astype(str), -counts))[:k]
    return [(str(values[i]), float(counts[i] / len(rows))) for i in order]


def purity(labels: np.ndarray, gold: Sequence[str]) -> float:
    """Share of rows whose cluster's most common gold label is their own."""
    _, g = np.unique(np.asarray(gold, dtype=object), return_inverse=True)
    _, c = np.unique(np.asarray(labels), return_inverse=True)
    table = np.zeros((c.max() + 1, g.max() + 1), dtype=np.int64)
    np.add.at(table, (c.ravel(), g.ravel()), 1)
    return float(table.max(axis=1).sum() / len(labels)) if len(labels) else 0.0


def centroids(X: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Unit-length mean vector of each cluster 0..k-1 (rows of zeros for empty clusters)."""
    sums = cluster_sums(X, labels, k)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.maximum(norms, 1e-12)).astype(np.float32)


def cluster_sums(X: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """float64 sum of the rows of each cluster 0..k-1 (noise rows, -1, left out)."""
    mask = labels >= 0
    members, ids = (X, labels) if mask.all() else (X[mask], labels[mask])  # no copy when every row is clustered
    # one bincount per dimension (float64 sums, row order as np.add.at): far faster than np.add.at
    sums = np.zeros((k, X.shape[1]), dtype=np.float64)
    for j in range(X.shape[1]):
        sums[:, j] = np.bincount(ids, weights=members[:, j], minlength=k)[:k]
    return sums


def closeness(X: np.ndarray, labels: np.ndarray, centres: np.ndarray, block: int = 65_536) -> np.ndarray:
    """Cosine of each row to its cluster's centre; NaN for noise rows."""
    out = np.full(len(labels), np.nan, dtype=np.float32)
    rows = np.flatnonzero(labels >= 0)
    for lo in range(0, len(rows), block):  # by blocks: X[mask] and the centre of every row would each copy X
        part = rows[lo: lo + block]
        out[part] = np.einsum("ij,ij->i", X[part], centres[labels[part]])
    return out


def cohesion(scores: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Mean closeness to the centre per cluster 0..k-1: how tight each cluster is."""
    mask = labels >= 0
    sums = np.bincount(labels[mask], weights=scores[mask], minlength=k)
    counts = np.bincount(labels[mask], minlength=k)
    return (sums / np.maximum(counts, 1)).astype(np.float32)
