"""The ``auto`` clustering method: finds the groups without being told how many there are.

Steps (see :func:`auto_cluster`):

1. *Reduce*: exact duplicate rows are clustered once; the vectors are centred on their mean,
   projected on their top principal axes and re-normalised (removes the direction all
   sentence embeddings share; speeds up the neighbour search).
2. *Over-segment*: exact k-nearest-neighbour graph, then Louvain modularity communities at a
   fine resolution (:mod:`engine.graph_cluster`, numpy/scipy only).
3. *Merge*: Ward agglomeration of the communities.  Every level is scored by its cosine
   silhouette; the best level wins among those that keep the graph modularity within
   ``MODULARITY_SLACK`` of the fine partition and merge it at most ``MAX_MERGE_RATIO`` times
   (so one dominant split, e.g. one script against another, cannot swallow the topics),
   unless a level shows clear structure on its own (silhouette >= ``STRONG_SILHOUETTE``).
   The merges, down to one cluster, are kept as the clustering's tree (:mod:`engine.cluster_tree`).
4. *Assign*: rows outside the fitted sample (large inputs) take the weighted vote of their
   nearest fitted rows (and the fine community their neighbours in that cluster vote for); every
   row's confidence is the share of its neighbours that agree.

``quick`` (a first view, :mod:`engine.first_view`) fits :data:`QUICK_FIT_SAMPLE` rows instead
and places the rest in the fine community with the nearest centre (its cluster is that
community's), their confidence a softmax over the cluster centres: O(n K p) instead of a
neighbour search against every fitted row.

Cost for n rows of dimension d, with m = min(n, FIT_SAMPLE) fitted rows, p = PROJ_DIMS and
K <= MAX_FINE fine communities: O(n d p + m d^2) to project, O(m^2 p) for the neighbour graph,
O(m k) per Louvain sweep, O(K^2 (s + p)) to score the merge levels (s = SIL_SAMPLE rows) and
O((n - m) m p) to assign the rest (``quick``: O((n - m) K p)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from engine.cluster_tree import ClusterTree, tree_from_merges, ward_steps
from engine.graph_cluster import knn, knn_graph, louvain, relabel
from engine.progress import (
    Cancelled,
    CancelToken,
    Progress,
    ProgressCallback,
    StageMeter,
    check,
)
from engine.unique_rows import unique_rows

__all__ = ["AutoResult", "Cancelled", "Progress", "auto_cluster", "relabel_by_size"]

FIT_SAMPLE = 20_000  # rows clustered directly; the rest join their nearest fitted rows' cluster
QUICK_FIT_SAMPLE = 10_000  # rows clustered directly by ``quick``; the rest join the nearest fine community
QUICK_TEMPERATURE = 0.05  # softmax temperature of ``quick``'s confidence (as KMeans' in engine.clustering)
PROJ_DIMS = 128  # principal axes kept before the neighbour search
GRAPH_K = 10  # neighbours per row in the graph
VOTE_K = 10  # neighbours voting on an assigned row's cluster and giving every row's confidence
RESOLUTION = 3.0  # Louvain resolution of the fine partition (over-segments on purpose)
MAX_FINE = 300  # at most this many fine communities (the resolution is halved until it fits)
SIL_SAMPLE = 4_000  # rows whose cosine silhouette scores each merge level
MODULARITY_SLACK = 0.15  # modularity a merge level may lose against the fine partition
MAX_MERGE_RATIO = 8  # merging may shrink the number of clusters at most this many times
STRONG_SILHOUETTE = 0.5  # ... unless the level's structure is clear (Kaufman & Rousseeuw: > 0.5)
BLOCK = 2048  # query rows per neighbour-search block (one progress step each)
ASSIGN_CHUNK = 32  # blocks of rows outside the sample placed at a time


@dataclass
class AutoResult:
    """Labels (-1 = unassigned, 0..K-1 by size), a confidence per row, what was chosen, and the merge tree."""

    labels: np.ndarray  # int64 (n,)
    confidence: np.ndarray  # float32 (n,) in [0, 1], 0 for unassigned rows
    info: dict = field(default_factory=dict)  # JSON-serialisable description of the choices
    tree: ClusterTree | None = None  # leaves: the fine communities; None when too few rows to build one


def auto_cluster(X: np.ndarray, *, seed: int = 0, quick: bool = False, progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> AutoResult:
    """Cluster L2-normalised row vectors without being told the number of clusters.

    The same input and seed give the same labels.  Rows that are all zero or not finite cannot
    be placed and get label -1 with confidence 0; every other row is assigned.  ``quick``: a
    smaller fitted sample and the rest placed by the nearest fine community (see the module docstring).
    """
    X = np.asarray(X)
    n = X.shape[0] if X.ndim == 2 else 0
    labels = np.full(n, -1, np.int64)
    conf = np.zeros(n, np.float32)
    info: dict = {"method": "auto", "rows": n, "seed": seed}
    # the finite non-zero rows, scaled to length 1 a block at a time when read (never a full copy)
    X = UnitRows(X) if n else UnitRows(np.zeros((0, 1), np.float32))
    good = X.rows
    info["unassigned"] = int(n - len(good))
    # exact duplicates are clustered once (many copies of one text would cut the graph apart)
    uniq, inverse = unique_rows(X)
    if len(uniq) < len(X):  # all distinct: uniq is 0..m-1
        X = X.subset(uniq)
    m = len(X)
    fit = np.arange(m)
    sample = QUICK_FIT_SAMPLE if quick else FIT_SAMPLE
    if m > sample:
        fit = np.sort(np.random.default_rng(seed).choice(m, sample, replace=False))
    blocks = -(-len(fit) // BLOCK) + -(-(m - len(fit)) // BLOCK)
    meter = StageMeter("cluster", blocks + 4, progress, message="preparing vectors")
    info["distinct_rows"] = m
    if m < 3:  # one cluster per distinct row, or just one for one or two rows in all
        labels[good] = inverse if len(good) > 2 else 0
        conf[good] = 1.0
        labels = relabel_by_size(labels)
        k = int(labels.max()) + 1 if len(good) else 0
        meter.advance(meter.total - meter.done, "too few distinct rows to split")
        return AutoResult(labels, conf, info | {"clusters": k, "k": k})

    rng = np.random.default_rng(seed)
    Z = _project(X, X[fit], PROJ_DIMS)
    Zf = Z[fit]
    check(cancel)
    meter.advance(1, f"neighbour graph of {len(fit):,} rows")
    step = lambda: meter.advance(1)
    idx, sim = knn(Zf, GRAPH_K, block=BLOCK, cancel=cancel, on_block=step)
    A = knn_graph(idx, np.maximum(sim, 1e-6))

    meter.advance(1, "fine communities")
    lseed = int(rng.integers(2**31))
    gamma = RESOLUTION
    fine = louvain(A, gamma, seed=lseed, cancel=cancel)
    while int(fine.max()) + 1 > MAX_FINE and gamma > 0.1:
        gamma /= 2
        fine = louvain(A, gamma, seed=lseed, cancel=cancel)
    if int(fine.max()) + 1 > MAX_FINE:  # a graph of many separate pieces: keep the largest
        fine = _keep_largest(Zf, fine, MAX_FINE)

    meter.advance(1, f"merging {int(fine.max()) + 1} communities")
    sil_rows = np.arange(len(fit))
    if len(fit) > SIL_SAMPLE:
        sil_rows = np.sort(rng.choice(len(fit), SIL_SAMPLE, replace=False))
    part, chosen, steps = choose_level(Zf, fine, A, sil_rows, cancel=cancel)

    meter.advance(1, f"assigning {m - len(fit):,} more rows" if m > len(fit) else "confidence")
    place = _assign_to_centres if quick else _assign
    lab, cf, leaf = place(Z, fit, part, fine, idx, sim, cancel, step)
    labels[good] = lab[inverse]
    conf[good] = cf[inverse]
    leaves = np.full(n, -1, np.int32)
    leaves[good] = leaf[inverse]
    labels = relabel_by_size(labels)
    info.update(chosen)
    info.update(clusters=int(labels.max()) + 1, fitted_rows=len(fit), graph_k=GRAPH_K, quick=quick,
                resolution=gamma, fine_communities=int(fine.max()) + 1,
                projected_dims=int(Z.shape[1]))
    meter.advance(meter.total - meter.done, f"{info['clusters']} cluster{'s' * (info['clusters'] != 1)}")
    return AutoResult(labels, conf, info, tree_from_merges(leaves, steps, info["clusters"]))


class UnitRows:
    """The rows of ``X`` that are finite and non-zero (:attr:`rows`), each divided by its length, as float32:
    ``R[i]``, ``R[lo:hi]`` or ``R[indices]`` computes just those rows.

    The matrix is never made whole (that takes full float32 copies of ``X``): ``auto`` only reads it
    by blocks.  The values are those of the whole matrix: float32 rows divided by their float32 norms.
    """

    def __init__(self, X: np.ndarray, block: int = 65_536, rows: np.ndarray | None = None,
                 norms: np.ndarray | None = None) -> None:
        self.X = X
        if rows is None:
            norms = np.empty(len(X), np.float32)
            with np.errstate(invalid="ignore", over="ignore"):
                for lo in range(0, len(X), block):
                    norms[lo: lo + block] = np.linalg.norm(np.asarray(X[lo: lo + block], dtype=np.float32), axis=1)
            rows = np.flatnonzero(np.isfinite(norms) & (norms > 0))  # a non-finite entry: a non-finite norm
        self.rows, self.norms = rows, norms
        self.shape = (len(rows), X.shape[1])
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index) -> np.ndarray:
        rows = self.rows[index]
        return np.asarray(self.X[rows], dtype=np.float32) / self.norms[rows, None]

    def subset(self, index: np.ndarray) -> "UnitRows":
        """These rows at ``index`` (no copy of the vectors)."""
        return UnitRows(self.X, rows=self.rows[index], norms=self.norms)


def _keep_largest(Z: np.ndarray, fine: np.ndarray, keep: int) -> np.ndarray:
    """Keep the ``keep`` largest communities; rows of the others join the most similar centroid."""
    sizes = np.bincount(fine)
    kept = np.sort(np.argsort(-sizes, kind="stable")[:keep])
    C = np.zeros((len(sizes), Z.shape[1]))
    np.add.at(C, fine, Z)
    C = C[kept] / np.maximum(np.linalg.norm(C[kept], axis=1, keepdims=True), 1e-12)
    out = np.searchsorted(kept, fine)
    lost = ~np.isin(fine, kept)
    out[lost] = (Z[lost] @ C.T.astype(np.float32)).argmax(axis=1)
    return relabel(out)


def _project(X: np.ndarray, F: np.ndarray, dims: int, block: int = 65_536) -> np.ndarray:
    """Centre on the mean of ``F``, keep the top ``dims`` principal axes of ``F``, re-normalise."""
    mu = F.mean(axis=0, dtype=np.float64)
    mu32 = mu.astype(np.float32)
    axes = None
    if X.shape[1] > dims and len(F) > dims:
        Fc = F.astype(np.float64) - mu
        with threadpool_limits(1):  # a 2-thread LAPACK call crawls when the other core is busy
            _, V = np.linalg.eigh(Fc.T @ Fc)
        axes = np.ascontiguousarray(V[:, ::-1][:, :dims], dtype=np.float32)
    # Centred and projected a block of rows at a time: the whole centred matrix would be a second full
    # float32 copy of X.  The block size is fixed, so the same rows give the same bits.
    Z = np.empty((len(X), dims if axes is not None else X.shape[1]), np.float32)
    for lo in range(0, len(X), block):
        part = np.subtract(X[lo: lo + block], mu32, dtype=np.float32)
        part = part @ axes if axes is not None else part
        Z[lo: lo + block] = part / np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12)
    return Z


def choose_level(Z: np.ndarray, fine: np.ndarray, A, sil_rows: np.ndarray, *,
                 cancel: CancelToken | None = None) -> tuple[np.ndarray, dict, list[tuple[int, int, float]]]:
    """Merge the communities ``fine`` (labels 0..K-1 of the rows of ``Z``) by Ward's criterion.

    Each level, from K clusters down to 2, is scored by the exact cosine silhouette of the rows
    ``sil_rows`` (kept up to date through cluster sums) and by its modularity on graph ``A``.
    Returns the labels of the best admissible level, a description with the whole curve, and every
    Ward merge ``(a, b, cost)`` down to one cluster (the tree of :mod:`engine.cluster_tree`).
    """
    K = int(fine.max()) + 1
    if K < 2:
        return fine, {"k": K, "silhouette": None, "curve": []}, []
    cnt = np.bincount(fine, minlength=K).astype(np.float64)
    S = np.zeros((K, Z.shape[1]))
    np.add.at(S, fine, Z)
    deg = np.asarray(A.sum(axis=1)).ravel()
    m2 = deg.sum()
    Ac = A.tocoo()
    W = np.zeros((K, K))  # graph weight between communities
    np.add.at(W, (fine[Ac.row], fine[Ac.col]), Ac.data)
    vol = W.sum(axis=1)
    q = q0 = float(np.trace(W) / m2 - np.sum(vol ** 2) / m2 ** 2)
    D = Z[sil_rows].astype(np.float64) @ S.T  # similarity sums: scored rows x clusters
    own = fine[sil_rows]
    alive = np.ones(K, bool)
    lab = np.arange(K)  # fine community -> current cluster
    best, best_lab, curve, steps = -np.inf, lab.copy(), [], []
    for level, (a, b, cost) in zip(range(K, 1, -1), ward_steps(S, cnt)):
        s = _silhouette(D, lab[own], cnt, alive)
        curve.append([level, round(float(s), 4), round(float(q), 4)])
        guarded = q >= q0 - MODULARITY_SLACK and level * MAX_MERGE_RATIO >= K
        if s > best and (guarded or s >= STRONG_SILHOUETTE):
            best, best_lab = s, lab.copy()
        steps.append((a, b, cost))
        q += 2 * W[a, b] / m2 - 2 * vol[a] * vol[b] / m2 ** 2
        W[a] += W[b]
        W[:, a] += W[:, b]
        W[b] = W[:, b] = 0
        vol[a] += vol[b]
        cnt[a] += cnt[b]
        cnt[b] = 0
        alive[b] = False
        D[:, a] += D[:, b]
        lab[lab == b] = a
        if level % 16 == 0:
            check(cancel)
    part = relabel(best_lab[fine])
    return part, {"k": int(part.max()) + 1, "silhouette": round(float(best), 4),
                  "modularity": next(c[2] for c in curve if c[0] == int(part.max()) + 1),
                  "fine_modularity": round(q0, 4), "curve": curve}, steps


def _silhouette(D: np.ndarray, c: np.ndarray, cnt: np.ndarray, alive: np.ndarray) -> float:
    """Mean cosine silhouette of the scored rows (cluster ``c``) from their similarity sums ``D``."""
    r = np.arange(len(c))
    n_own = cnt[c]
    a = 1.0 - (D[r, c] - 1.0) / np.maximum(n_own - 1, 1)  # a row is not its own neighbour
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = D / cnt
    mean[:, ~alive] = -np.inf
    mean[r, c] = -np.inf
    b = 1.0 - mean.max(axis=1)
    s = (b - a) / np.maximum(np.maximum(a, b), 1e-12)
    s[n_own <= 1] = 0.0
    return float(s.mean())


def _assign(Z: np.ndarray, fit: np.ndarray, part: np.ndarray, fine: np.ndarray, idx: np.ndarray, sim: np.ndarray,
            cancel: CancelToken | None, step) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels of all rows (fitted rows keep theirs), every row's neighbour agreement, and its fine community.

    A row outside the sample joins the fine community its neighbours in its chosen cluster vote for,
    so its community always lies inside its cluster.
    """
    K = int(part.max()) + 1
    lab, conf, leaf, rest = _fitted(len(Z), fit, part, fine, idx, sim)
    Zf = Z[fit]
    chunk = ASSIGN_CHUNK * BLOCK  # rows of Z[rest] copied at a time (all at once: 0.5 GB at 1M rows)
    for lo in range(0, len(rest), chunk):
        part_rows = rest[lo: lo + chunk]
        ridx, rsim = knn(Zf, VOTE_K, Q=Z[part_rows], exclude_self=False, block=BLOCK,
                         cancel=cancel, on_block=step)
        lab[part_rows], conf[part_rows] = _vote(part[ridx], rsim, K)
        inside = part[ridx] == lab[part_rows][:, None]
        leaf[part_rows] = _vote(fine[ridx], rsim, int(fine.max()) + 1, keep=inside)[0]
    return lab, conf, leaf


def _fitted(n: int, fit: np.ndarray, part: np.ndarray, fine: np.ndarray, idx: np.ndarray,
            sim: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Labels, confidences and communities of ``n`` rows with the fitted rows' filled in (their neighbours'
    agreement as confidence), and the rows still to place."""
    lab = np.empty(n, np.int64)
    conf = np.empty(n, np.float32)
    leaf = np.empty(n, np.int32)
    lab[fit] = part
    leaf[fit] = fine
    conf[fit] = _vote(part[idx[:, :VOTE_K]], sim[:, :VOTE_K], int(part.max()) + 1, own=part)[1]
    return lab, conf, leaf, np.setdiff1d(np.arange(n), fit, assume_unique=True)


def _assign_to_centres(Z: np.ndarray, fit: np.ndarray, part: np.ndarray, fine: np.ndarray, idx: np.ndarray,
                       sim: np.ndarray, cancel: CancelToken | None, step) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """As :func:`_assign`, but a row outside the sample joins the fine community with the nearest centre
    (and that community's cluster); its confidence is a softmax over the cluster centres."""
    K, F = int(part.max()) + 1, int(fine.max()) + 1
    lab, conf, leaf, rest = _fitted(len(Z), fit, part, fine, idx, sim)
    Zf = Z[fit]
    fine_of_cluster = np.zeros(F, np.int64)
    fine_of_cluster[fine] = part
    fine_centres, cluster_centres = _unit_means(Zf, fine, F), _unit_means(Zf, part, K)
    for lo in range(0, len(rest), BLOCK * ASSIGN_CHUNK // 4):
        check(cancel)
        rows = rest[lo: lo + BLOCK * ASSIGN_CHUNK // 4]
        Zr = Z[rows]
        near = (Zr @ fine_centres.T).argmax(axis=1)
        leaf[rows], lab[rows] = near, fine_of_cluster[near]
        s = (Zr @ cluster_centres.T) / QUICK_TEMPERATURE
        s = np.exp(s - s.max(axis=1, keepdims=True))
        conf[rows] = s[np.arange(len(rows)), lab[rows]] / s.sum(axis=1)
        for _ in range(-(-len(rows) // BLOCK)):
            step()
    return lab, conf, leaf


def _unit_means(Z: np.ndarray, labels: np.ndarray, K: int) -> np.ndarray:
    """The unit-length mean of the rows of ``Z`` of each label 0..K-1 (float32)."""
    sums = np.zeros((K, Z.shape[1]))
    np.add.at(sums, labels, Z)
    return (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _vote(nl: np.ndarray, ns: np.ndarray, K: int, own: np.ndarray | None = None, keep: np.ndarray | None = None,
          chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Similarity-weighted vote of neighbour labels ``nl``: winner (or ``own``) and its share.

    ``keep`` (same shape as ``nl``) limits the vote to the neighbours it marks.
    """
    win = np.empty(len(nl), np.int64)
    share = np.empty(len(nl), np.float32)
    for s in range(0, len(nl), chunk):
        lab, w = nl[s:s + chunk], np.maximum(ns[s:s + chunk].astype(np.float64), 1e-6)
        if keep is not None:
            w = w * keep[s:s + chunk]
        r = np.arange(len(lab))
        tally = np.zeros((len(lab), K))
        np.add.at(tally, (np.repeat(r, lab.shape[1]), lab.ravel()), w.ravel())
        win[s:s + chunk] = tally.argmax(axis=1) if own is None else own[s:s + chunk]
        share[s:s + chunk] = tally[r, win[s:s + chunk]] / w.sum(axis=1)
    return win, np.clip(share, 0.0, 1.0)


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters 0..K-1 by size, largest first (ties: earliest first row); -1 stays."""
    out = labels.astype(np.int64, copy=True)
    ok = out >= 0
    if not ok.any():
        return out
    ids, first, counts = np.unique(out[ok], return_index=True, return_counts=True)
    new = np.empty(len(ids), np.int64)
    new[np.lexsort((first, -counts))] = np.arange(len(ids))
    out[ok] = new[np.searchsorted(ids, out[ok])]
    return out
