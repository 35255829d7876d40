"""Cluster unit vectors with ``auto``, HDBSCAN or KMeans: plain arrays in, plain arrays out.

Labels are ``-1`` for noise ("unclustered") and ``0..K-1`` otherwise, numbered
by cluster size (0 is the largest; ties broken by first row), so the same
input, settings and seed always give the same labels.  Every clustering carries
its merge tree (:mod:`engine.cluster_tree`); ``ClusterSettings.clusters`` cuts it
at that number of clusters instead of the method's own.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from engine.cluster_tree import ClusterTree, centre_tree
from engine.errors import UsageError
from engine.progress import CancelToken, Progress, ProgressCallback, check

ALGORITHMS = ("auto", "hdbscan", "kmeans")
NOISE = -1
#: HDBSCAN's min_samples when none is given (smaller leaves fewer rows unclustered).
DEFAULT_MIN_SAMPLES = 5


@dataclass(frozen=True)
class ClusterSettings:
    """How to cluster. ``None`` parameters mean 'choose from the data'."""

    algo: str = "auto"
    k: int | None = None
    min_cluster_size: int | None = None
    min_samples: int | None = None
    seed: int = 0
    clusters: int | None = None  # cut the merge tree at this many clusters (None: the method's own number)
    #: A first view's clustering: ``auto`` fits fewer rows and places the rest by the nearest community, and
    #: keywords are counted on a sample of every cluster (:mod:`engine.keyword_sample`).  None: the session
    #: decides (quick for static vectors, see :meth:`engine.session.Session.cluster`).
    quick: bool | None = None

    def __post_init__(self) -> None:
        if self.algo not in ALGORITHMS:
            raise UsageError(f"--algo {self.algo}: choose one of {', '.join(ALGORITHMS)}")
        if self.k is not None and self.k < 1:
            raise UsageError(f"--k {self.k}: must be at least 1")
        if self.min_cluster_size is not None and self.min_cluster_size < 2:
            raise UsageError(f"--min-cluster-size {self.min_cluster_size}: must be at least 2")
        if self.min_samples is not None and self.min_samples < 1:
            raise UsageError(f"--min-samples {self.min_samples}: must be at least 1")
        if self.clusters is not None and self.clusters < 1:
            raise UsageError(f"--clusters {self.clusters}: must be at least 1")

    def describe(self) -> str:
        """Short text such as 'kmeans k=20' for headers and logs."""
        parts = [self.algo]
        if self.algo == "kmeans" and self.k:
            parts.append(f"k={self.k}")
        if self.algo == "hdbscan":
            if self.min_cluster_size:
                parts.append(f"min_cluster_size={self.min_cluster_size}")
            if self.min_samples:
                parts.append(f"min_samples={self.min_samples}")
        if self.clusters:
            parts.append(f"clusters={self.clusters}")
        if self.quick:
            parts.append("quick")
        return " ".join(parts)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Clustering:
    """Result of :func:`cluster` for the rows it was given."""

    labels: np.ndarray  # int64, -1 = noise
    confidence: np.ndarray  # float32 in [0, 1]
    settings: ClusterSettings
    info: dict = field(default_factory=dict)
    seconds: float = 0.0
    tree: ClusterTree | None = None  # the merge tree over these rows; its cut at n_clusters gives labels

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) and self.labels.max() >= 0 else 0

    @property
    def noise_share(self) -> float:
        return float((self.labels == NOISE).mean()) if len(self.labels) else 0.0

    def at_clusters(self, k: int) -> "Clustering":
        """This clustering cut from its tree at ``k`` clusters (the nearest the tree has); no re-clustering.

        The confidence stays the clustering's own; ``info["tree"]`` describes the cut and
        ``settings.clusters`` is ``k``.
        """
        if self.tree is None:
            raise ValueError("this clustering has no tree to cut")
        labels = self.tree.labels_at(k)
        info = {**self.info, "tree": self.tree.describe(k)}
        return Clustering(labels, self.confidence, replace(self.settings, clusters=k), info, self.seconds, self.tree)


def cluster(X: np.ndarray, settings: ClusterSettings | None = None,
            progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> Clustering:
    """Cluster the rows of ``X`` (unit vectors) as ``settings`` says, with the tree of the clusters."""
    settings = settings or ClusterSettings()
    own = replace(settings, clusters=None)
    start = time.perf_counter()
    X = np.ascontiguousarray(X, dtype=np.float32)
    n = len(X)
    if n:
        check_k(settings, n)
    if progress:
        progress(Progress("cluster", 0, 1, message=settings.describe()))
    tree = None
    if n == 0:
        labels, conf, info = np.empty(0, np.int64), np.empty(0, np.float32), {}
    elif n < 3:
        labels, conf, info = np.zeros(n, np.int64), np.ones(n, np.float32), {"note": "too few rows to split"}
    elif settings.algo == "kmeans":
        labels, conf, info = _kmeans(X, settings, cancel)
    elif settings.algo == "hdbscan":
        labels, conf, info = _hdbscan(X, settings, cancel)
    else:
        from engine.auto_cluster import auto_cluster

        result = auto_cluster(X, seed=settings.seed, quick=bool(settings.quick), progress=progress, cancel=cancel)
        labels, conf, info, tree = result.labels, result.confidence, result.info, result.tree
    labels = relabel_by_size(np.asarray(labels, dtype=np.int64))
    conf = np.asarray(conf, dtype=np.float32)
    conf[labels == NOISE] = 0.0
    if tree is None:
        tree = centre_tree(X, labels, cancel=cancel)
    result = Clustering(labels, conf, own, {**info, "tree": tree.describe(tree.base)},
                        time.perf_counter() - start, tree)
    if settings.clusters is not None:
        result = result.at_clusters(settings.clusters)
    if progress:
        progress(Progress("cluster", 1, 1, message=settings.describe()))
    return result


def check_k(settings: ClusterSettings, n: int) -> None:
    """Refuse a KMeans ``k`` of at least the ``n`` rows (each cluster would hold one row) with a :class:`UsageError`."""
    k = settings.k
    if settings.algo == "kmeans" and k is not None and k > 1 and k >= n:
        raise UsageError(f"--k {k:,}: only {n:,} text{'s' * (n != 1)} to cluster; give a k of at most "
                         f"{max(n - 1, 1):,}")


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters 0..K-1 by size, largest first (ties: earliest first row); noise stays -1."""
    out = np.full(len(labels), NOISE, dtype=np.int64)
    mask = labels >= 0
    if not mask.any():
        return out
    ids, first, counts = np.unique(labels[mask], return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))
    mapping = np.empty(ids.max() + 1, dtype=np.int64)
    mapping[ids[order]] = np.arange(len(ids))
    out[mask] = mapping[labels[mask]]
    return out


def default_k(n: int) -> int:
    """A starting k for KMeans when none is given: about sqrt(n/2), between 2 and 100."""
    return int(min(100, max(2, round(math.sqrt(n / 2)))))


def default_min_cluster_size(n: int) -> int:
    """HDBSCAN's min_cluster_size when none is given: grows with sqrt(n), at least 5."""
    return int(max(5, round(math.sqrt(n) / 4)))


def _kmeans(X: np.ndarray, settings: ClusterSettings, cancel: CancelToken | None):
    from sklearn.cluster import KMeans

    k = settings.k or default_k(len(X))  # below len(X): check_k refused a larger one
    check(cancel)
    model = KMeans(n_clusters=k, n_init=3, random_state=settings.seed)
    labels = model.fit_predict(X)
    centers = model.cluster_centers_ / np.maximum(np.linalg.norm(model.cluster_centers_, axis=1, keepdims=True), 1e-12)
    return labels, softmax_confidence(X, centers, labels), {"k": k, "inertia": float(model.inertia_)}


def _hdbscan(X: np.ndarray, settings: ClusterSettings, cancel: CancelToken | None):
    from engine.density_cluster import density_cluster

    n = len(X)
    mcs = min(settings.min_cluster_size or default_min_cluster_size(n), max(2, n // 2))
    ms = settings.min_samples or DEFAULT_MIN_SAMPLES
    return density_cluster(X, mcs, min(ms, mcs), seed=settings.seed, cancel=cancel)


def softmax_confidence(X: np.ndarray, centers: np.ndarray, labels: np.ndarray, temperature: float = 0.05) -> np.ndarray:
    """Probability of each row's own cluster under a softmax over cosine similarity to the centres."""
    sims = X @ centers.T
    sims = (sims - sims.max(axis=1, keepdims=True)) / temperature
    p = np.exp(sims)
    p /= p.sum(axis=1, keepdims=True)
    return p[np.arange(len(X)), labels].astype(np.float32)
