"""A clustering's merge tree: cut it at any number of clusters, step a level coarser or finer, list likely merges.

The tree is a binary Ward dendrogram over *leaf* clusters, numbered as in scipy's linkage: leaves
``0..L-1``, merge ``i`` makes node ``L + i``.  Cutting it after its first ``L - k`` merges gives ``k``
clusters; every cut's clusters are unions of leaves, and of the clusters of every finer cut.  For
``auto`` the leaves are its fine graph communities and the merges are the Ward merges it already
makes to choose its level (so cuts finer than its own level exist, down to the communities); for
KMeans and HDBSCAN the leaves are the clusters themselves and the merges are Ward's on their row
sums, so no cut is finer than the clustering.  Noise rows are noise in every cut.

Levels are the steps of ``+``/``-`` zoom: level 0 has the clustering's own number of clusters
(:attr:`ClusterTree.base`), level ``+j`` about ``base / 2**j`` (coarser), level ``-j`` about
``base * 2**j`` (finer, up to the number of leaves).  Clusters at every cut are numbered by size,
largest first, ties by their first row (as :func:`engine.clustering.relabel_by_size`), so the cut
at ``base`` gives the clustering's own labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from engine.progress import CancelToken, check


@dataclass(frozen=True)
class LevelCut:
    """The tree cut into ``k`` clusters: which cluster each leaf is in, and each cluster's node and size."""

    k: int
    leaf_cluster: np.ndarray  # (L,) int64: cluster id (0..k-1) of every leaf
    nodes: np.ndarray  # (k,) int64: tree node of every cluster id
    sizes: np.ndarray  # (k,) int64: rows of every cluster id


@dataclass(frozen=True)
class MergeSuggestion:
    """Two sibling clusters of a cut (``a < b``), the Ward cost of merging them and their centres' distance."""

    a: int
    b: int
    node: int  # the tree node merging them
    cost: float  # within-cluster sum of squares the merge adds
    distance: float  # Euclidean distance between the two clusters' mean vectors


@dataclass(eq=False)
class ClusterTree:
    """Binary merge tree over leaf clusters, with the leaf of every row (see the module docstring)."""

    merges: np.ndarray  # (L-1, 2) int64: the two nodes merge i joins into node L + i
    heights: np.ndarray  # (L-1,) float64: Ward cost of merge i, non-decreasing
    row_leaf: np.ndarray  # (n,) int32: leaf of every row, -1 for noise
    leaf_sizes: np.ndarray  # (L,) int64: rows of every leaf
    leaf_first: np.ndarray  # (L,) int64: first row of every leaf
    base: int  # clusters at level 0, the clustering's own cut
    _memo: dict = field(default_factory=dict, repr=False)  # cuts by k, and the node tables, once computed

    @property
    def n_leaves(self) -> int:
        return len(self.leaf_sizes)

    @property
    def n_rows(self) -> int:
        return len(self.row_leaf)

    # --- levels -------------------------------------------------------------------------------

    def ladder(self) -> list[tuple[int, int]]:
        """``(level, clusters)`` of every zoom level, finest first (level 0 is :attr:`base`)."""
        L, base = self.n_leaves, self.base
        if L == 0:
            return [(0, 0)]
        finer, count, j = [], base, 1
        while count < L:
            count = min(L, max(count + 1, int(round(base * 2.0 ** j))))
            finer.append((-j, count))
            j += 1
        coarser, count, j = [], base, 1
        while count > 1:
            count = max(1, min(count - 1, int(round(base / 2.0 ** j))))
            coarser.append((j, count))
            j += 1
        return finer[::-1] + [(0, base)] + coarser

    def count_at(self, level: int) -> int:
        """Number of clusters at zoom ``level`` (clamped to the finest and coarsest levels)."""
        ladder = self.ladder()
        levels = [lv for lv, _ in ladder]
        level = min(max(level, levels[0]), levels[-1])
        return dict(ladder)[level]

    def level_of(self, k: int) -> int:
        """The zoom level whose number of clusters is nearest ``k`` (by ratio; the coarser on a tie)."""
        ladder = self.ladder()
        if self.n_leaves == 0:
            return 0
        k = self.clamp(k)
        gaps = [abs(np.log(count / k)) for _, count in ladder]
        best = min(gaps)
        return max(lv for (lv, _), g in zip(ladder, gaps) if g <= best + 1e-12)

    def clamp(self, k: int) -> int:
        """``k`` limited to the cuts the tree has: 1 to the number of leaves (0 when it has none)."""
        return int(min(max(k, 1), self.n_leaves)) if self.n_leaves else 0

    def coarser(self, k: int) -> int | None:
        """Clusters one zoom level coarser than a cut of ``k`` clusters (None at the top)."""
        above = [count for _, count in self.ladder() if count < self.clamp(k)]
        return max(above) if above else None

    def finer(self, k: int) -> int | None:
        """Clusters one zoom level finer than a cut of ``k`` clusters (None at the leaves)."""
        below = [count for _, count in self.ladder() if count > self.clamp(k)]
        return min(below) if below else None

    def describe(self, k: int) -> dict:
        """JSON-ready summary of the cut with ``k`` clusters: its count, level, the base and the ladder."""
        return {"clusters": self.clamp(k), "level": self.level_of(k), "base_clusters": self.base,
                "leaves": self.n_leaves, "levels": [[lv, c] for lv, c in self.ladder()]}

    # --- cuts ---------------------------------------------------------------------------------

    def cut(self, k: int) -> LevelCut:
        """The tree cut into ``k`` clusters (``k`` clamped to 1..leaves); kept, so a second cut is free."""
        k = self.clamp(k)
        found = self._memo.get(k)
        if found is not None:
            return found
        L = self.n_leaves
        parent, birth = self._parents()
        done = L - k  # merges applied
        node = np.arange(L)
        while True:  # climb while the parent exists at this cut
            up = parent[node]
            step = (up >= 0) & (birth[np.maximum(up, 0)] <= done)
            if not step.any():
                break
            node = np.where(step, up, node)
        roots, leaf_root = np.unique(node, return_inverse=True)
        sizes = np.bincount(leaf_root, weights=self.leaf_sizes, minlength=len(roots)).astype(np.int64)
        first = np.full(len(roots), np.iinfo(np.int64).max)
        np.minimum.at(first, leaf_root, self.leaf_first)
        order = np.lexsort((first, -sizes))
        rank = np.empty(len(roots), np.int64)
        rank[order] = np.arange(len(roots))
        found = LevelCut(k, rank[leaf_root], roots[order], sizes[order])
        self._memo[k] = found
        return found

    def labels_at(self, k: int) -> np.ndarray:
        """Cluster id of every row at the cut with ``k`` clusters (-1 for noise): one table lookup per row."""
        table = np.append(self.cut(k).leaf_cluster, -1)  # the last entry answers row_leaf == -1
        return table[self.row_leaf]

    def parents(self, k: int, coarse: int) -> np.ndarray:
        """For every cluster of the cut with ``k`` clusters, the cluster containing it at the ``coarse`` cut."""
        fine, top = self.cut(k), self.cut(coarse)
        if top.k > fine.k:
            raise ValueError(f"a cut of {top.k} clusters is not coarser than one of {fine.k}")
        out = np.empty(fine.k, np.int64)
        out[fine.leaf_cluster] = top.leaf_cluster
        return out

    def parent(self, k: int, cluster: int) -> int | None:
        """The cluster one zoom level coarser that contains ``cluster`` of the ``k`` cut (None at the top)."""
        up = self.coarser(k)
        return None if up is None else int(self.parents(k, up)[cluster])

    def children(self, k: int, cluster: int) -> list[int]:
        """The clusters one zoom level finer inside ``cluster`` of the ``k`` cut, largest first ([] at the leaves)."""
        down = self.finer(k)
        if down is None:
            return []
        return [int(c) for c in np.flatnonzero(self.parents(down, k) == cluster)]

    # --- nodes --------------------------------------------------------------------------------

    def node_children(self, node: int) -> tuple[int, ...]:
        """The two nodes a merge node joins; () for a leaf."""
        L = self.n_leaves
        return () if node < L else tuple(int(c) for c in self.merges[node - L])

    def node_parent(self, node: int) -> int | None:
        """The merge node that joins ``node`` to its sibling (None for the root)."""
        up = int(self._parents()[0][node])
        return None if up < 0 else up

    def node_size(self, node: int) -> int:
        """Rows under ``node``."""
        return int(self._node_sizes()[node])

    def merge_suggestions(self, k: int, limit: int = 10) -> list[MergeSuggestion]:
        """Pairs of clusters of the ``k`` cut that are siblings in the tree, cheapest Ward merge first.

        The first one is the merge the tree makes next (merging it gives the cut with ``k - 1``
        clusters); all of them are "likely one topic" candidates.
        """
        cut = self.cut(k)
        L = self.n_leaves
        if cut.k < 2:
            return []
        done = L - cut.k
        cluster_of = np.full(2 * L - 1, -1, np.int64)
        cluster_of[cut.nodes] = np.arange(cut.k)
        later = np.arange(done, L - 1)  # merges not applied at this cut
        a, b = cluster_of[self.merges[later, 0]], cluster_of[self.merges[later, 1]]
        sib = (a >= 0) & (b >= 0)
        later, a, b = later[sib], a[sib], b[sib]
        order = np.argsort(self.heights[later], kind="stable")[:limit]
        sizes = cut.sizes.astype(np.float64)
        out = []
        for i in order:
            x, y = int(min(a[i], b[i])), int(max(a[i], b[i]))
            cost = float(self.heights[later[i]])
            d2 = cost * (sizes[x] + sizes[y]) / max(sizes[x] * sizes[y], 1.0)
            out.append(MergeSuggestion(x, y, int(L + later[i]), cost, float(np.sqrt(max(d2, 0.0)))))
        return out

    def _parents(self) -> tuple[np.ndarray, np.ndarray]:
        """(parent node of every node, -1 for the root; merges applied when every node first exists)."""
        got = self._memo.get("parents")
        if got is None:
            L = self.n_leaves
            parent = np.full(max(2 * L - 1, 0), -1, np.int64)
            if L > 1:
                parent[self.merges[:, 0]] = L + np.arange(L - 1)
                parent[self.merges[:, 1]] = L + np.arange(L - 1)
            birth = np.concatenate([np.zeros(L, np.int64), np.arange(1, L, dtype=np.int64)])
            got = self._memo["parents"] = (parent, birth)
        return got

    def _node_sizes(self) -> np.ndarray:
        got = self._memo.get("sizes")
        if got is None:
            L = self.n_leaves
            got = np.concatenate([self.leaf_sizes, np.zeros(max(L - 1, 0), np.int64)])
            for i, (x, y) in enumerate(self.merges):
                got[L + i] = got[x] + got[y]
            self._memo["sizes"] = got
        return got


def tree_arrays(tree: ClusterTree) -> dict[str, np.ndarray]:
    """The arrays that make ``tree`` (for storing it); :func:`tree_of_arrays` reads them back."""
    return {"merges": tree.merges, "heights": tree.heights, "row_leaf": tree.row_leaf, "leaf_sizes": tree.leaf_sizes,
            "leaf_first": tree.leaf_first, "base": np.int64(tree.base)}


def tree_of_arrays(arrays, n: int) -> ClusterTree | None:
    """The tree of :func:`tree_arrays`'s arrays over ``n`` rows; None when they do not make a consistent one."""
    tree = ClusterTree(np.asarray(arrays["merges"]).astype(np.int64).reshape(-1, 2),
                       np.asarray(arrays["heights"]).astype(np.float64), np.asarray(arrays["row_leaf"]).astype(np.int32),
                       np.asarray(arrays["leaf_sizes"]).astype(np.int64),
                       np.asarray(arrays["leaf_first"]).astype(np.int64), int(arrays["base"]))
    L = tree.n_leaves
    if (tree.row_leaf.shape != (n,) or tree.merges.shape != (max(L - 1, 0), 2)
            or tree.heights.shape != (max(L - 1, 0),) or tree.leaf_first.shape != (L,)
            or not min(L, 1) <= tree.base <= L or (n and tree.row_leaf.max() >= L)
            or (L > 1 and (tree.merges.min() < 0 or tree.merges.max() >= 2 * L - 1))):
        return None
    return tree


def tree_from_merges(row_leaf: np.ndarray, steps: list[tuple[int, int, float]], base: int) -> ClusterTree:
    """The tree of leaves ``0..L-1`` (the leaf of every row in ``row_leaf``, -1 for noise) merged by ``steps``.

    ``steps`` are ``(a, b, cost)`` in merge order, where cluster ``b`` joins cluster ``a`` and ``a``
    keeps its id (as :func:`ward_steps` yields them); ``base`` is the clustering's own cut.
    """
    row_leaf = np.asarray(row_leaf, dtype=np.int32)
    ok = row_leaf >= 0
    L = int(row_leaf[ok].max()) + 1 if ok.any() else 0
    if L and len(steps) != L - 1:
        raise ValueError(f"{L} leaves need {L - 1} merges, got {len(steps)}")
    sizes = np.bincount(row_leaf[ok], minlength=L).astype(np.int64)
    ids, first = np.unique(row_leaf[ok], return_index=True)
    leaf_first = np.zeros(L, np.int64)
    leaf_first[ids] = np.flatnonzero(ok)[first]
    node_of = np.arange(L)  # current node of every cluster id
    merges = np.empty((max(L - 1, 0), 2), np.int64)
    heights = np.empty(max(L - 1, 0), np.float64)
    for i, (a, b, cost) in enumerate(steps):
        merges[i] = sorted((node_of[a], node_of[b]))
        heights[i] = cost
        node_of[a] = L + i
    return ClusterTree(merges, heights, row_leaf, sizes, leaf_first, int(base))


def ward_steps(sums: np.ndarray, counts: np.ndarray) -> Iterator[tuple[int, int, float]]:
    """Ward agglomeration of clusters given by their row sums and sizes, cheapest merge first.

    Yields ``(a, b, cost)`` ``K - 1`` times: cluster ``b`` joins ``a`` (``a < b``, ``a`` keeps its id)
    at ``cost``, the within-cluster sum of squares the merge adds.  Ties go to the first pair in row
    order.  O(K d) memory per row of costs, O(K^2 d) time in all for K clusters of dimension d.
    """
    S = np.array(sums, dtype=np.float64)
    cnt = np.array(counts, dtype=np.float64)
    K = len(cnt)
    if K < 2:
        return
    mu = S / np.maximum(cnt, 1.0)[:, None]
    cost = np.stack([ward_costs(mu, cnt, a) for a in range(K)])
    np.fill_diagonal(cost, np.inf)
    # the cheapest entry of every row (first column on a tie) and where it is: the global minimum in
    # row-major order is then the first row holding the smallest row minimum, found in O(K)
    best = cost.min(axis=1)
    where = cost.argmin(axis=1)
    for _ in range(K - 1):
        i = int(np.argmin(best))
        j = int(where[i])
        a, b = min(i, j), max(i, j)
        yield a, b, float(cost[i, j])
        S[a] += S[b]
        cnt[a] += cnt[b]
        cnt[b] = 0
        mu[a] = S[a] / cnt[a]
        cost[b, :] = cost[:, b] = np.inf
        new = ward_costs(mu, cnt, a)
        new[a] = np.inf
        cost[a, :] = cost[:, a] = new
        best[b], where[b] = np.inf, 0
        stale = (where == a) | (where == b)  # their cheapest entry changed or vanished: look again
        stale[a] = True
        stale[b] = False
        rows = np.flatnonzero(stale)
        if len(rows):
            best[rows] = cost[rows].min(axis=1)
            where[rows] = cost[rows].argmin(axis=1)
        fresh = ~stale & ((new < best) | ((new == best) & (a < where)))
        fresh[b] = fresh[a] = False
        best[fresh], where[fresh] = new[fresh], a


def ward_costs(mu: np.ndarray, cnt: np.ndarray, a: int) -> np.ndarray:
    """Ward cost of merging cluster ``a`` with every cluster (inf for merged-away ones, of size 0)."""
    d2 = ((mu - mu[a]) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = d2 * cnt * cnt[a] / (cnt + cnt[a])
    c[cnt == 0] = np.inf
    return c


def centre_tree(X: np.ndarray, labels: np.ndarray, *, cancel: CancelToken | None = None) -> ClusterTree:
    """The tree over the clusters ``labels`` (0..K-1, -1 noise) of rows ``X``: Ward on their row sums and sizes.

    Its leaves are the clusters, so its finest and base cut are ``labels`` themselves.
    """
    from engine.metrics import cluster_sums

    labels = np.asarray(labels)
    K = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    sums = cluster_sums(X, labels, K)
    counts = np.bincount(labels[labels >= 0], minlength=K)
    steps = []
    for step in ward_steps(sums, counts):
        steps.append(step)
        if len(steps) % 64 == 0:
            check(cancel)
    return tree_from_merges(labels, steps, K)
