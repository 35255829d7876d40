"""The board at a zoom level of the clustering's tree: the level's groups in the terms the panes ask in.

A :class:`LevelBoard` answers what :class:`tui.board.Board` answers, for the groups of one
:class:`~engine.review_levels.LevelView` (their ids are the group indices, largest first; the unclustered
and empty groups keep theirs), so the clusters, members, keywords, metrics and map panes all show the same
level.  Review clusters stay what moves and proposals pick from (:meth:`cluster_name`).
:func:`make_board` builds the board of a review at a level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from engine.analysis import EMPTY, EMPTY_NAME, NOISE_NAME, Analysis
from engine.clustering import NOISE
from engine.review import UNREVIEWED, ReviewState
from engine.review_levels import LevelView
from engine.review_view import ReviewView
from tui.board import Board
from tui.widgets.cluster_table import ClusterLine

if TYPE_CHECKING:
    from engine.review_session import ReviewSession


def make_board(review: "ReviewSession", level: int = 0, view: ReviewView | None = None) -> Board:
    """The board of ``review`` at zoom ``level`` (clamped to its tree; 0 without one), from its ``view``
    (computed when not given)."""
    view = view if view is not None else review.view()
    state = review.state
    levels = review.levels()
    level = levels.clamp(level) if levels is not None else 0
    if level != 0:
        board = LevelBoard(review.analysis, state, view, review.level_view(level))
    else:
        inherits = levels is not None and bool(state.node_names or state.node_statuses)
        board = Board(review.analysis, state, view, review.level_view(0, keywords=False) if inherits else None)
    board.progress_of = review.progress
    return board


class LevelBoard(Board):
    """The groups of one zoom level, with their own or inherited names and decisions."""

    def __init__(self, analysis: Analysis, state: ReviewState, view: ReviewView, level_view: LevelView,
                 within: np.ndarray | None = None, where: str | None = None) -> None:
        super().__init__(analysis, state, view, within=within, where=where)
        self.level_view = level_view
        self.level = level_view.level
        self.nodes = level_view.nodes
        self._labels = level_view.labels
        n = len(self.nodes)
        grouped = (self._labels >= 0) & ~np.isnan(view.scores)
        if within is not None:
            grouped &= within
        sums = np.bincount(self._labels[grouped], weights=view.scores[grouped], minlength=n)
        counts = np.bincount(self._labels[grouped], minlength=n)
        self._group_cohesion = {g: float(sums[g] / counts[g]) for g in range(n) if counts[g]}
        #: Rows of each group shown (the filter's matches only, under a filter).
        if within is None:
            self._group_sizes = {node.index: node.size for node in self.nodes}
        else:
            kept = self._labels[within & (self._labels >= 0)]
            self._group_sizes = dict(enumerate(np.bincount(kept, minlength=n).tolist()))

    def filtered(self, within: np.ndarray | None, where: str | None = None) -> "LevelBoard":
        board = LevelBoard(self.analysis, self.state, self.view, self.level_view, within, where)
        board.progress_of = self.progress_of
        return board

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    @property
    def n_clusters(self) -> int:
        return sum(1 for size in self._group_sizes.values() if size)

    def _node(self, group: int):
        return self.nodes[group] if 0 <= group < len(self.nodes) else None

    def name(self, group: int) -> str:
        node = self._node(group)
        if node is None:
            return NOISE_NAME if group == NOISE else EMPTY_NAME if group == EMPTY else f"group {group}"
        return node.label

    def cluster_name(self, cluster_id: int) -> str:
        return self.view.label(self.state, cluster_id)

    def cluster_size(self, cluster_id: int) -> int:
        return self._sizes.get(cluster_id, 0)

    def suggested(self, group: int) -> str:
        node = self._node(group)
        return node.suggested if node is not None else ""

    def keywords(self, group: int) -> list[tuple[str, float]]:
        node = self._node(group)
        return node.keywords if node is not None else super().keywords(group) if group == NOISE else []

    def size(self, group: int) -> int:
        if group >= 0:
            return self._group_sizes.get(group, 0)
        hits = self._labels == group
        return int((hits & self.within).sum() if self.within is not None else hits.sum())

    def cohesion(self, group: int) -> float | None:
        return self._group_cohesion.get(group)

    def status(self, group: int) -> str:
        node = self._node(group)
        return node.effective_status if node is not None else ""

    def key(self, group: int) -> tuple:
        return self.nodes[group].key

    def tag(self, group: int) -> str:
        return ""

    def group_of(self, cluster_id: int) -> int:
        return next((n.index for n in self.nodes if cluster_id in n.clusters), cluster_id if cluster_id < 0 else 0)

    def exists(self, group: int) -> bool:
        return self.size(group) > 0

    def lines(self) -> list[ClusterLine]:
        """The level's groups holding a row shown, then the unclustered and empty groups."""
        out = [ClusterLine(n.index, n.label, self._group_sizes[n.index], self._group_cohesion.get(n.index),
                           ", ".join(t for t, _ in n.keywords[:8]), n.effective_status, n.name is not None,
                           inherited_name=n.name is None and bool(n.inherited),
                           inherited_status=n.status == UNREVIEWED and n.inherited_status != UNREVIEWED)
               for n in self.nodes if self._group_sizes[n.index]]
        return out + self.rest_lines()

    def members(self, group: int) -> np.ndarray:
        """Rows of ``group`` (the filter's matches, under a filter), closest to the centre of their own review
        cluster first."""
        if group < 0:
            hits = self._labels == group
            return np.flatnonzero(hits & self.within if self.within is not None else hits)
        rows = self.level_view.rows(group)
        if self.within is not None:
            rows = rows[self.within[rows]]
        return rows[np.lexsort((rows, -self.view.scores[rows]))]

    def nearest(self, group: int, k: int = 3) -> list[tuple[int, float]]:
        """Groups whose centres (their clusters' centres weighted by size) are closest; coarser levels only,
        where every group is made of whole clusters."""
        if self.level < 0 or self._node(group) is None or len(self.nodes) < 2:
            return []
        index = {int(c): i for i, c in enumerate(self.view.ids.tolist())}
        centres = np.zeros((len(self.nodes), self.view.centres.shape[1]))
        for n in self.nodes:
            for c in n.clusters:
                i = index.get(int(c))
                if i is not None:  # a cluster a later step emptied is in no view: it weighs nothing
                    centres[n.index] += self.view.sizes[i] * self.view.centres[i]
        centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
        sims = centres @ centres[group]
        order = [int(i) for i in np.argsort(-sims, kind="stable") if i != group][:k]
        return [(i, float(sims[i])) for i in order]
