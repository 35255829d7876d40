"""A review seen at every zoom level of its clustering's tree: groups, their rows, names and decisions, inherited downwards.

How tree nodes map to the review's clusters (whose ids change as the reviewer merges, splits and moves):

- The *base cut* is the cut of the epoch's tree the clustering was shown at (``settings.clusters``, else
  the method's own number): ``k0`` tree clusters.  Every embedded row has a base-cut cluster (none for
  the tree's noise).
- Each current review cluster is *placed* at the base-cut cluster holding most of its rows (ties: the
  lower id); rows the reviewer moved count where they are now, so they follow their cluster.  A cluster
  none of whose rows the tree clusters (made of noise rows) has no place.
- Level 0 shows the review's clusters as they are.  A *coarser* level (a cut of ``k < k0``) groups them
  by the cut-``k`` tree node that contains their place; a cluster without a place is a group of its own.
- A *finer* level (``k > k0``: ``auto`` only, down to its fine communities) splits each cluster along the
  tree: its *own* rows (those inside its place) go to the cut-``k`` node they are in when that node is
  smaller than the place; its other rows (moved in, or noise in the tree), and all of them where the place
  is not split at ``k``, stay together as the cluster.  Where several clusters are placed alike (the parts
  of a split), a finer node belongs to the one holding most of its rows (ties: the lower id); in the
  others, those rows stay with their cluster.
- A group that is a tree node is named and decided as that node (``ReviewState.rename_node`` /
  ``set_node_status``, keyed by the node id, which no review step changes); a group that is a cluster is
  named and decided as the cluster (``rename`` / ``set_status``).  So a step at a finer level never
  splits a cluster: it names the rows of a finer node, which then carry that name in the export.
- Inheritance: a row's name is the most specific one covering it: a named finer node holding it among its
  cluster's own rows (the smallest such), else its cluster's own name, else the nearest named node at or
  above its cluster's place.  Decisions are inherited the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from engine.cluster_tree import ClusterTree
from engine.clustering import NOISE
from engine.keywords import cluster_keywords, suggest_name
from engine.review import UNREVIEWED, ReviewState

Key = tuple  # ("cluster", review cluster id) or ("node", tree node id)


@dataclass
class LevelNode:
    """One group of a zoom level: what steps take (``key``), its size, names, decisions and keywords."""

    index: int  # position in the level, largest first
    key: Key
    size: int
    clusters: list[int]  # the review clusters it holds (at a finer level: the one it is part of)
    name: str | None  # its own name
    inherited: str | None  # the name it takes from above when it has none
    status: str  # its own decision
    inherited_status: str  # the decision it takes from above (unreviewed when none)
    keywords: list[tuple[str, float]] = field(default_factory=list)
    suggested: str = ""

    @property
    def label(self) -> str:
        """Its own name, else the inherited one, else the keyword suggestion."""
        return self.name or self.inherited or self.suggested or f"group {self.index}"

    @property
    def effective_status(self) -> str:
        return self.status if self.status != UNREVIEWED else self.inherited_status


@dataclass
class LevelView:
    """The review at one zoom level: per corpus row its group (index into ``nodes``; NOISE, EMPTY kept)."""

    level: int
    clusters_at: int  # tree clusters of the cut (the base cut ``k0`` at level 0)
    labels: np.ndarray
    nodes: list[LevelNode]
    _order: np.ndarray | None = None

    def rows(self, index: int) -> np.ndarray:
        """Corpus rows of group ``index``, in file order."""
        if self._order is None:
            self._order = np.argsort(self.labels, kind="stable")
            self._sorted = self.labels[self._order]
        lo, hi = np.searchsorted(self._sorted, [index, index + 1])
        return self._order[lo:hi]

    def find(self, key: Key) -> int | None:
        """The index of the group with ``key``, or None."""
        return next((n.index for n in self.nodes if n.key == key), None)


class ReviewLevels:
    """The zoom levels of one epoch of a review: its tree, base cut and the embedded rows (see the module docstring)."""

    def __init__(self, tree: ClusterTree, k0: int | None, rows: np.ndarray, n_rows: int,
                 terms: Callable[[], tuple] | None = None) -> None:
        self.tree = tree
        self.k0 = tree.clamp(k0 or tree.base)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.n_rows = n_rows
        self._terms = terms
        self._memo: dict = {}
        L = tree.n_leaves
        self._lo, self._hi = _leaf_intervals(tree)
        leaf_pos = np.append(self._lo[:L], -1)  # a row's leaf position, -1 for the tree's noise
        self._row_pos = np.full(n_rows, -1, np.int64)
        self._row_pos[self.rows] = leaf_pos[tree.row_leaf]
        base = tree.cut(self.k0)
        self._base_nodes = base.nodes
        self._base_set = set(base.nodes.tolist())

    @property
    def base_nodes(self) -> np.ndarray:
        """The tree node of every base-cut cluster."""
        return self._base_nodes

    # --- levels -------------------------------------------------------------------------------

    def ladder(self) -> list[tuple[int, int]]:
        """``(level, tree clusters)`` finest first; level 0 is the base cut, +1 one step coarser, -1 finer."""
        counts = sorted({c for _, c in self.tree.ladder()} | {self.k0}, reverse=True)
        finer = [c for c in counts if c > self.k0][::-1]
        coarser = [c for c in counts if c < self.k0]
        return ([(-j, c) for j, c in enumerate(finer, 1)][::-1] + [(0, self.k0)]
                + [(j, c) for j, c in enumerate(coarser, 1)])

    def clamp(self, level: int) -> int:
        """``level`` limited to the finest and coarsest the tree has."""
        levels = [lv for lv, _ in self.ladder()]
        return min(max(level, levels[0]), levels[-1])

    def count_at(self, level: int) -> int:
        """Tree clusters at ``level`` (clamped)."""
        return dict(self.ladder())[self.clamp(level)]

    def level_nearest(self, clusters: int) -> int:
        """The level whose number of tree clusters is nearest ``clusters`` (by ratio; the coarser on a tie)."""
        clusters = max(int(clusters), 1)
        gaps = [(abs(np.log(c / clusters)), -lv) for lv, c in self.ladder()]
        return -min(gaps)[1]

    def tree_labels(self, k: int) -> np.ndarray:
        """Per corpus row, its cluster at the tree's cut into ``k`` (-1 for noise and empty texts)."""
        key = ("labels", k)
        if key not in self._memo:
            out = np.full(self.n_rows, NOISE, np.int64)
            out[self.rows] = self.tree.labels_at(k)
            self._memo[key] = out
        return self._memo[key]

    # --- placing the review's clusters ----------------------------------------------------------

    def places(self, state: ReviewState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(current cluster ids, the base-cut cluster each is placed at or -1, rows per id and base-cut cluster)."""
        memo = self._memo.get("places")
        if memo is not None and memo[0] is state and memo[1] == state.version:
            return memo[2]
        ids = np.asarray(state.cluster_ids(), dtype=np.int64)
        table = np.full(max(state.next_id, 1), -1, np.int64)
        table[ids] = np.arange(len(ids))
        cur, t0 = state.labels, self.tree_labels(self.k0)
        mask = (cur >= 0) & (t0 >= 0)
        counts = np.bincount(table[cur[mask]] * self.k0 + t0[mask],
                             minlength=len(ids) * self.k0).reshape(len(ids), self.k0)
        place = np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), -1)
        found = (ids, place, counts)
        self._memo["places"] = (state, state.version, found)
        return found

    def _chain(self, node: int | None, stop: int | None = None) -> list[Key]:
        """Keys from ``node`` up to the root (up to, not including, ``stop``)."""
        out = []
        while node is not None and node != stop:
            out.append(("node", node))
            node = self.tree.node_parent(node)
        return out

    def above(self, state: ReviewState, key: Key) -> list[Key]:
        """What a group inherits from, nearest first (see the module docstring)."""
        kind, value = key
        if kind == "cluster":
            ids, place, _ = self.places(state)
            i = np.searchsorted(ids, value)
            p = int(place[i]) if i < len(ids) and ids[i] == value else -1
            return self._chain(int(self._base_nodes[p])) if p >= 0 else []
        return self._chain(self.tree.node_parent(value))

    def resolve(self, state: ReviewState, chain: list[Key]) -> tuple[str | None, str]:
        """The first name and the first decision along ``chain``."""
        name = status = None
        for key in chain:
            n, s = (state.name(key[1]), state.status(key[1])) if key[0] == "cluster" else \
                (state.node_name(key[1]), state.node_status(key[1]))
            name = name or n
            status = status or (s if s != UNREVIEWED else None)
            if name and status:
                break
        return name, status or UNREVIEWED

    # --- views --------------------------------------------------------------------------------

    def view(self, state: ReviewState, level: int, keywords: bool = True) -> LevelView:
        """The review at zoom ``level`` (clamped); keywords are computed once per level and set of groups."""
        level = self.clamp(level)
        k = self.count_at(level)
        ids, place, _ = self.places(state)
        table = np.full(max(state.next_id, 1), -1, np.int64)
        table[ids] = np.arange(len(ids))
        cur = state.labels
        clustered = cur >= 0
        ci = np.full(len(cur), -1, np.int64)
        ci[clustered] = table[cur[clustered]]
        if level >= 0:  # groups of whole clusters: a tree node of the cut, or the cluster alone
            code = ci
            if level == 0:
                coarse = [("cluster", c) for c in ids.tolist()]
            else:
                node_of = self.tree.cut(k).nodes[self.tree.parents(self.k0, k)]
                coarse = [("node", int(node_of[p])) if p >= 0 else ("cluster", c)
                          for c, p in zip(ids.tolist(), place.tolist())]
            key_of = coarse.__getitem__
        else:  # each cluster split along the finer cut where its own rows are
            tk = self.tree_labels(k)
            up = self.tree.parents(k, self.k0)
            nodes_k = self.tree.cut(k).nodes
            own = clustered & (tk >= 0)
            own[own] &= up[tk[own]] == place[ci[own]]
            own[own] &= nodes_k[tk[own]] != self._base_nodes[place[ci[own]]]
            count = np.bincount(tk[own] * len(ids) + ci[own], minlength=k * len(ids)).reshape(k, len(ids))
            own[own] &= count.argmax(axis=1)[tk[own]] == ci[own]  # a node belongs to one cluster
            code = np.where(clustered, ci * (k + 1) + k, -1)
            code[own] = ci[own] * (k + 1) + tk[own]

            def key_of(g: int) -> Key:
                c_i, t = divmod(g, k + 1)
                return ("cluster", int(ids[c_i])) if t == k else ("node", int(nodes_k[t]))
        codes = code[clustered]
        used = np.flatnonzero(np.bincount(codes, minlength=1))  # counting, not sorting: O(rows)
        key_list: list[Key] = []
        index_of: dict[Key, int] = {}
        group = np.empty(len(used), np.int64)
        for g, value in enumerate(used.tolist()):
            group[g] = index_of.setdefault(key_of(value), len(key_list))
            if group[g] == len(key_list):
                key_list.append(key_of(value))
        lookup = np.zeros(len(used) and int(used[-1]) + 1, np.int64)
        lookup[used] = group
        labels = cur.copy()
        labels[clustered] = lookup[codes]
        sizes = np.bincount(labels[clustered], minlength=len(key_list))
        order = np.lexsort((np.arange(len(key_list)), -sizes))
        rank = np.empty(len(key_list), np.int64)
        rank[order] = np.arange(len(key_list))
        labels[clustered] = rank[labels[clustered]]
        members = self._members(ids, ci, labels, clustered, len(key_list))
        nodes = []
        for i, j in enumerate(order.tolist()):
            key = key_list[j]
            own_name, own_status = self.resolve(state, [key])
            name, status = self.resolve(state, self._inherits(state, key, members[i], level < 0))
            nodes.append(LevelNode(i, key, int(sizes[j]), members[i], own_name, name, own_status, status))
        view = LevelView(level, k, labels, nodes)
        if keywords:
            self._describe(view)
        return view

    def _members(self, ids, ci, labels, clustered, count) -> list[list[int]]:
        """The review clusters in each group, ascending."""
        pairs = np.flatnonzero(np.bincount(labels[clustered] * len(ids) + ci[clustered], minlength=1))
        out: list[list[int]] = [[] for _ in range(count)]
        for g, c in zip(*np.divmod(pairs, len(ids))):
            out[int(g)].append(int(ids[c]))
        return out

    def _inherits(self, state: ReviewState, key: Key, clusters: list[int], finer: bool) -> list[Key]:
        """What the group ``key`` (holding ``clusters``) inherits from, nearest first: at a finer level, the
        nodes between it and its cluster, then the cluster, then what the cluster inherits."""
        if key[0] == "cluster" or not finer:
            return self.above(state, key)
        cluster = ("cluster", clusters[0])
        base = self.above(state, cluster)
        return self._chain(self.tree.node_parent(key[1]), base[0][1] if base else None) + [cluster] + base

    def _describe(self, view: LevelView) -> None:
        """Keywords and suggested names of the view's groups, kept per level while its groups stay the same."""
        if self._terms is None:
            return
        at_rows = view.labels[self.rows]
        memo = self._memo.get(("keywords", view.level))
        if memo is None or not np.array_equal(memo[0], at_rows):
            doc_terms, vocabulary = self._terms()
            found = cluster_keywords(doc_terms[self.rows], vocabulary, at_rows)
            memo = (at_rows, found)
            self._memo[("keywords", view.level)] = memo
        for node in view.nodes:
            node.keywords = memo[1].get(node.index, [])
            node.suggested = suggest_name(node.keywords)

    def parents(self, child: LevelView, parent: LevelView) -> np.ndarray:
        """For every group of ``child``, the group of the coarser ``parent`` view holding its rows."""
        out = np.full(len(child.nodes), -1, np.int64)
        clustered = child.labels >= 0
        out[child.labels[clustered]] = parent.labels[clustered]
        return out

    # --- rows ---------------------------------------------------------------------------------

    def row_names(self, state: ReviewState) -> tuple[list, list, list]:
        """Per corpus row: its name (None when no name covers it), its decision, and every person-given name
        covering it, broadest first (the label path)."""
        ids, _, _ = self.places(state)
        per_cluster = {}
        for c in ids.tolist():
            chain = [("cluster", c)] + self.above(state, ("cluster", c))
            names = [self.resolve(state, [key])[0] for key in chain]
            per_cluster[c] = (*self.resolve(state, chain), [n for n in reversed(names) if n])
        cur = state.labels.tolist()
        name = [per_cluster[c][0] if c >= 0 else None for c in cur]
        status = [per_cluster[c][1] if c >= 0 else None for c in cur]
        path = [list(per_cluster[c][2]) if c >= 0 else [] for c in cur]
        for node, own_name, own_status, rows in self._finer_annotations(state):
            for r in rows.tolist():
                if own_name:
                    name[r] = own_name
                    path[r].append(own_name)
                if own_status != UNREVIEWED:
                    status[r] = own_status
        return name, status, path

    def row_decided(self, state: ReviewState) -> np.ndarray:
        """Per corpus row, whether its own or inherited decision is made (what :meth:`row_names` says, counted
        with arrays: the status line asks after every step)."""
        ids, _, _ = self.places(state)
        decided = np.zeros(max(state.next_id, 1) + 1, dtype=bool)  # the last entry: noise and empty rows
        for c in ids.tolist():
            decided[c] = self.resolve(state, [("cluster", c)] + self.above(state, ("cluster", c)))[1] != UNREVIEWED
        labels = state.labels
        out = decided[np.where(labels >= 0, labels, len(decided) - 1)]
        for _, _, status, rows in self._finer_annotations(state, statuses_only=True):
            if status != UNREVIEWED:
                out[rows] = True
        return out

    def _finer_annotations(self, state: ReviewState, statuses_only: bool = False):
        """(node, name, decision, rows covered) of every named or decided node below the base cut, larger first."""
        nodes = set(state.node_statuses) if statuses_only else set(state.node_names) | set(state.node_statuses)
        found = [(self._hi[n] - self._lo[n], n) for n in nodes if not self.at_or_above_base(n)]
        for _, node in sorted(found, reverse=True):
            yield node, state.node_name(node), state.node_status(node), self.node_rows(state, node)

    def at_or_above_base(self, node: int) -> bool:
        """Whether tree ``node`` is a base-cut cluster or a union of them (else it lies inside one)."""
        return node >= 2 * self.tree.n_leaves - self.k0 or node in self._base_set

    def node_rows(self, state: ReviewState, node: int) -> np.ndarray:
        """Corpus rows tree ``node`` covers now: the rows of the clusters placed under it, or for a node inside
        a base-cut cluster its rows in the cluster it belongs to (see the module docstring)."""
        ids, place, _ = self.places(state)
        placed, where = ids[place >= 0], self._base_nodes[place[place >= 0]]
        lo, hi = self._lo[node], self._hi[node]
        if self.at_or_above_base(node):
            return np.flatnonzero(np.isin(state.labels, placed[(lo <= self._lo[where]) & (self._hi[where] <= hi)]))
        holders = placed[(self._lo[where] <= lo) & (hi <= self._hi[where])]
        inside = (self._row_pos >= lo) & (self._row_pos < hi)
        rows = np.flatnonzero(inside & np.isin(state.labels, holders))
        if len(rows):  # the node belongs to the cluster holding most of its rows (as :meth:`view` shows it)
            ids, counts = np.unique(state.labels[rows], return_counts=True)
            rows = rows[state.labels[rows] == ids[counts.argmax()]]
        return rows


def _leaf_intervals(tree: ClusterTree) -> tuple[np.ndarray, np.ndarray]:
    """For every node, the range ``[lo, hi)`` of its leaves in one depth-first order of the tree."""
    L = tree.n_leaves
    lo, hi = np.zeros(max(2 * L - 1, 1), np.int64), np.zeros(max(2 * L - 1, 1), np.int64)
    if L == 0:
        return lo, hi
    roots = [n for n in range(2 * L - 1) if tree.node_parent(n) is None]
    position = 0
    for root in roots:
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            if node < L:
                lo[node], hi[node] = position, position + 1
                position += 1
            elif done:
                a, b = tree.node_children(node)
                lo[node], hi[node] = min(lo[a], lo[b]), max(hi[a], hi[b])
            else:
                stack.append((node, True))
                stack.extend((c, False) for c in tree.node_children(node))
    return lo, hi
