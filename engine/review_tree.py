"""Review steps on the clustering's tree: zoom levels, names and decisions at any level, suggested merges, carry-over.

:class:`TreeSteps` is a part of :class:`engine.review_session.ReviewSession` (it inherits it): the
steps go through the session's ``_act``, so they are saved at once and undone like any other; what a
level shows and how tree nodes map to the review's clusters is :mod:`engine.review_levels`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engine.analysis import EMPTY, EMPTY_NAME, NOISE_NAME
from engine.review import CLUSTER, UNREVIEWED, ReviewError, ReviewProgress, ReviewState
from engine.review_levels import Key, LevelView, ReviewLevels
from engine.review_record import Epoch

if TYPE_CHECKING:
    from engine.review_session import Outcome

#: A tree node's name or decision goes to the new clustering's node whose rows overlap it best, above this Jaccard.
MIN_JACCARD = 0.5


@dataclass
class SuggestedMerge:
    """Two review clusters that are siblings in the tree ("likely one topic"), cheapest Ward merge first."""

    a: int
    b: int
    node: int  # the tree node that joins them
    cost: float  # within-cluster sum of squares the merge adds
    distance: float  # Euclidean distance between the two tree nodes' mean vectors


def levels_for(epoch: Epoch, analysis, session) -> ReviewLevels | None:
    """The zoom levels of ``epoch`` (its tree, else its analysis's), or None when neither has a tree."""
    tree = epoch.tree if epoch.tree is not None else analysis.clustering.tree
    if tree is None or tree.n_rows != len(session.rows):
        return None
    settings = epoch.settings
    return ReviewLevels(tree, settings.get("clusters"), session.rows, len(session.corpus), session.document_terms)


class TreeSteps:
    """The tree-level steps of a review session (mixed into :class:`~engine.review_session.ReviewSession`)."""

    def levels(self) -> ReviewLevels | None:
        """The zoom levels of the clustering in effect (None when it has no tree)."""
        i = self.record.current
        cache = self._levels
        if i not in cache:
            epoch = self.record.epoch
            cache[i] = levels_for(epoch, self.analysis, self.session)
            if epoch.tree is None and cache[i] is not None:
                epoch.tree = cache[i].tree  # saved with the review from now on
        return cache[i]

    def level_view(self, level: int, keywords: bool = True) -> LevelView:
        """The review at zoom ``level`` (0: its clusters; +1 a step coarser; -1 finer), see :mod:`engine.review_levels`."""
        levels = self._need_levels()
        with self._lock:
            return levels.view(self.state, level, keywords)

    def rename_node(self, key: Key, name: str | None, label: str | None = None) -> "Outcome":
        """Name a group of a zoom level (its ``LevelNode.key``); an empty name clears it.  A cluster's key
        renames the cluster; a tree node's names the node, which every group below inherits unless it has its
        own name.  ``label`` is what the group is shown as (for the undo menu)."""
        kind, value = key
        if kind == "cluster":
            return self.rename(value, name)
        levels = self._need_levels()
        name = (name or "").strip()
        if not len(levels.node_rows(self.state, value)):
            raise ReviewError(f"tree node {value} holds no rows of this review")
        self._act(lambda s: s.rename_node(value, name or None, label))
        what = f"“{label}”" if label else "the group"
        message = (f"Named {what} “{name}”: every cluster in it takes the name unless it has its own" if name
                   else f"Cleared the name of {what}")
        return self._outcome(message, recompute=False)

    def set_node_status(self, keys: list[Key], status: str, label: str | None = None) -> "Outcome":
        """Decide groups of a zoom level in one step: each covers its rows now, and every group below it takes
        the decision unless it has its own."""
        keys = list(keys)
        clusters = [v for kind, v in keys if kind == "cluster"]
        nodes = [v for kind, v in keys if kind == "node"]
        if not nodes:
            return self.set_status(clusters, status)
        levels = self._need_levels()
        state = self.state
        rows = np.concatenate([levels.node_rows(state, n) for n in nodes] + [state.members(c) for c in clusters])
        self._act(lambda s: s.set_node_status(nodes, status, rows, clusters, label))
        n = len(keys)
        what = f"“{label}”" if label and n == 1 else f"{n} group{'s' * (n != 1)}"
        return self._outcome(f"Marked {what} {status} ({len(np.unique(rows)):,} rows)", recompute=False)

    def merge_suggestions(self, limit: int = 10) -> list[SuggestedMerge]:
        """Pairs of the review's clusters that are siblings in the tree, cheapest merge first (see
        :func:`suggestions`)."""
        levels = self.levels()
        return [] if levels is None else suggestions(levels, self.state, limit)

    def merge_suggested(self, pair: SuggestedMerge) -> "Outcome":
        """Merge a suggested pair (into the larger of the two) in one step."""
        state = self.state
        if not (state.exists(pair.a) and state.exists(pair.b)):
            raise ReviewError(f"clusters {pair.a} and {pair.b} are not both in the review any more")
        into = pair.a if state.size(pair.a) >= state.size(pair.b) else pair.b
        return self.merge([pair.a, pair.b], into=into)

    def tree_columns(self) -> dict | None:
        """Per corpus row for the export: ``cluster_label`` and ``status`` with names and decisions inherited
        from the tree, ``parent_label`` (the group one level coarser) and ``label_path`` (every person-given
        name covering the row, broadest first, joined by " / "); None without a tree."""
        levels = self.levels()
        if levels is None:
            return None
        state, view = self.state, self.view()
        names, statuses, paths = levels.row_names(state)
        labels = state.labels.tolist()
        label = [n or view.label(state, c) for n, c in zip(names, labels)]
        parent_label = [""] * len(labels)
        if levels.clamp(1) == 1:
            coarse = levels.view(state, 1)
            text = [node.label for node in coarse.nodes]
            own = {NOISE_NAME: NOISE_NAME, EMPTY_NAME: EMPTY_NAME}
            parent_label = [text[g] if g >= 0 else own.get(view.label(state, c), "")
                            for g, c in zip(coarse.labels.tolist(), labels)]
        return {"cluster_label": label, "status": statuses, "parent_label": parent_label,
                "label_path": [" / ".join(p) for p in paths]}

    def progress(self) -> ReviewProgress:
        """How far the review is, counting decisions inherited from the tree: clusters whose own or inherited
        decision is made, and the rows a decision covers (as :meth:`ReviewState.progress` counts them)."""
        state, levels = self.state, self.levels()
        if levels is None or not state.node_statuses:
            return state.progress()
        decided = levels.row_decided(state)
        rows = (decided & state.seen) | ((state.source != CLUSTER) & (state.labels != EMPTY))
        ids = state.cluster_ids()
        reviewed = sum(levels.resolve(state, [("cluster", c)] + levels.above(state, ("cluster", c)))[1]
                       != UNREVIEWED for c in ids)
        return ReviewProgress(reviewed, len(ids), int(rows.sum()), int((state.labels != EMPTY).sum()))

    def _need_levels(self) -> ReviewLevels:
        levels = self.levels()
        if levels is None:
            raise ReviewError("this clustering has no tree: zoom levels are not available")
        return levels

    def _carry_tree(self, old: ReviewState, new: ReviewState, analysis, epoch: Epoch) -> tuple[ReviewState, list[str]]:
        """``new`` (the carried-over review) with the old tree nodes' names and decisions carried to the new tree."""
        old_levels = self.levels()
        new_levels = levels_for(epoch, analysis, self.session)
        if old_levels is None or new_levels is None or not (old.node_names or old.node_statuses):
            return new, []
        return carry_nodes(old, old_levels, new, new_levels)


def suggestions(levels: ReviewLevels, state: ReviewState, limit: int = 10) -> list[SuggestedMerge]:
    """Pairs of current clusters whose tree nodes are siblings, cheapest Ward merge first.

    Each cluster stands for the tree node (at or above the base cut) its rows overlap best (Jaccard), the
    largest cluster where several do; two clusters whose nodes the tree joins next are a pair.  Merging a
    pair makes the joined node the merged cluster's, so the next suggestion climbs the tree.
    """
    tree, k0 = levels.tree, levels.k0
    L = tree.n_leaves
    ids, _, counts = levels.places(state)
    if len(ids) < 2 or L < 2:
        return []
    sizes = state.sizes()
    size = np.asarray([sizes[c] for c in ids.tolist()], dtype=np.float64)
    column = {int(n): counts[:, t] for t, n in enumerate(levels.base_nodes.tolist())}
    for i in range(L - k0, L - 1):
        x, y = tree.merges[i]
        column[L + i] = column[int(x)] + column[int(y)]
    nodes = np.asarray(list(column), dtype=np.int64)
    inter = np.stack([column[int(n)] for n in nodes], axis=1).astype(np.float64)
    node_size = np.asarray([tree.node_size(int(n)) for n in nodes], dtype=np.float64)
    jaccard = inter / (size[:, None] + node_size[None, :] - inter)
    best = jaccard.argmax(axis=1)
    holder: dict[int, int] = {}
    for i in np.lexsort((ids, -size)).tolist():  # the largest cluster holds a node several stand for
        if jaccard[i, best[i]] > 0:
            holder.setdefault(int(nodes[best[i]]), int(ids[i]))
    found = []
    for i in range(L - k0, L - 1):
        x, y = (int(v) for v in tree.merges[i])
        if x in holder and y in holder:
            nx, ny = tree.node_size(x), tree.node_size(y)
            cost = float(tree.heights[i])
            d2 = cost * (nx + ny) / max(nx * ny, 1)
            a, b = sorted((holder[x], holder[y]))
            found.append(SuggestedMerge(a, b, L + i, cost, float(np.sqrt(max(d2, 0.0)))))
    found.sort(key=lambda s: (s.cost, s.node))
    return found[:limit]


def carry_nodes(old: ReviewState, old_levels: ReviewLevels, new: ReviewState,
                new_levels: ReviewLevels) -> tuple[ReviewState, list[str]]:
    """Carry every named or decided tree node of ``old`` to the node of the new tree whose rows overlap the
    rows it covers best (Jaccard above :data:`MIN_JACCARD`); the rows a carried decision covered and that the
    new node holds stay seen.  Returns the new review and a line per node that could not be carried."""
    tree = new_levels.tree
    L = tree.n_leaves
    position = np.full(len(new), -1, np.int64)
    position[new_levels.rows] = np.arange(len(new_levels.rows))
    names, statuses, lines = {}, {}, []
    seen = new.base_seen.copy()
    for node in sorted(set(old.node_names) | set(old.node_statuses)):
        rows = old_levels.node_rows(old, node)
        rows = rows[position[rows] >= 0]
        leaves = tree.row_leaf[position[rows]]
        per_node = np.zeros(max(2 * L - 1, 1), np.int64)
        per_node[:L] = np.bincount(leaves[leaves >= 0], minlength=L)[:L]
        for i, (x, y) in enumerate(tree.merges):
            per_node[L + i] = per_node[x] + per_node[y]
        sizes = np.asarray([tree.node_size(n) for n in range(2 * L - 1)], dtype=np.float64)
        jaccard = per_node / np.maximum(len(rows) + sizes - per_node, 1)
        target = int(jaccard.argmax()) if len(rows) else -1
        name, status = old.node_name(node), old.node_status(node)
        if target < 0 or jaccard[target] <= MIN_JACCARD:
            what = f"{name!r}" if name else f"a group marked {status}"
            lines.append(f"{what} ({len(rows):,} rows) is no group of the new clustering's tree: not carried")
            continue
        if name:
            names[target] = name
        if status != UNREVIEWED:
            statuses[target] = status
            keep = rows[old.seen[rows]]
            seen[keep[np.isin(keep, new_levels.node_rows(new, target))]] = True
    state = ReviewState(new.base_labels, new.base_confidence, names=new.base_names, statuses=new.base_statuses,
                        next_id=new.next_id, ui=dict(new.ui), base_source=new.base_source, base_seen=seen,
                        node_names=names, node_statuses=statuses)
    carried = len(names.keys() | statuses.keys())
    if carried or lines:
        lines.insert(0, f"carried {carried} named or decided tree group{'s' * (carried != 1)} to the new tree")
    return state, lines

