"""What the panes show: the base clustering as the person has reviewed it so far.

A :class:`Board` joins the base :class:`~engine.analysis.Analysis` (metrics of
the clustering, map positions), the :class:`~engine.review.ReviewState` (current
labels, names, statuses) and its :class:`~engine.review_view.ReviewView`
(current sizes, centres, scores, keywords), and answers the panes' questions
in their terms.  It holds no widgets.  It shows the review's own clusters (zoom level 0, with the names
and decisions they inherit from the clustering's tree); :class:`tui.level_board.LevelBoard` shows the
groups of another zoom level in the same terms.
"""

from __future__ import annotations


import numpy as np

from engine.analysis import EMPTY, EMPTY_NAME, NOISE_NAME, Analysis
from engine.clustering import NOISE
from engine.metrics import gold_mix
from engine.review import UNREVIEWED, ReviewState
from engine.review_levels import LevelView
from engine.review_view import ReviewView
from tui.widgets.cluster_table import ClusterLine


class Board:
    """The current clusters: base analysis + review decisions + their recomputed view.

    With a row filter (``within``, a bool mask per corpus row, from the ``WHERE`` expression ``where``) the
    board shows the matching rows only: sizes and cohesion count them, clusters without one are hidden,
    members are the matching ones; names and keywords stay those of the whole clusters."""

    #: The zoom level shown (0: the review's own clusters; see :mod:`engine.review_levels`).
    level = 0

    def __init__(self, analysis: Analysis, state: ReviewState, view: ReviewView,
                 level_view: LevelView | None = None, within: np.ndarray | None = None,
                 where: str | None = None) -> None:
        """``level_view``: the review at level 0, for the names and decisions clusters inherit from the tree
        (None when no tree node is named or decided)."""
        self.analysis = analysis
        self.state = state
        self.view = view
        self.level_view = level_view
        self._inherits = {n.key[1]: n for n in level_view.nodes if n.key[0] == "cluster"} if level_view else {}
        #: How far the review is (``ReviewSession.progress``, which counts decisions inherited from the tree).
        self.progress_of = state.progress
        self._progress = None
        self.corpus = analysis.corpus
        self.version = state.version
        self.within = within
        self.where = where if within is not None else None
        labels = state.labels
        valid = ~np.isnan(view.scores)
        if within is None:
            counts = {int(c): int(s) for c, s in zip(view.ids.tolist(), view.sizes.tolist())}
        else:
            valid &= within
            sizes = np.bincount(np.maximum(labels[within], 0), minlength=int(state.next_id) + 1)
            counts = {c: int(sizes[c]) for c in view.ids.tolist() if sizes[c]}
        self._sizes = counts
        sums = np.bincount(np.where(valid, np.maximum(labels, 0), 0),
                           weights=np.where(valid, view.scores, 0.0), minlength=int(state.next_id) + 1)
        self._cohesion = {c: float(sums[c] / n) for c, n in counts.items() if n}

    def filtered(self, within: np.ndarray | None, where: str | None = None) -> "Board":
        """This board restricted to the rows of ``within`` (None: every row)."""
        board = Board(self.analysis, self.state, self.view, self.level_view, within, where)
        board.progress_of = self.progress_of
        return board

    @property
    def shown_rows(self) -> int:
        """How many rows the board shows (the filter's matches, else the whole file)."""
        return len(self.state.labels) if self.within is None else int(self.within.sum())

    # ------------------------------------------------------------------ clusters

    def progress(self):
        """How far the review is, computed once per board."""
        if self._progress is None:
            self._progress = self.progress_of()
        return self._progress

    @property
    def labels(self) -> np.ndarray:
        return self.state.labels

    @property
    def scores(self) -> np.ndarray:
        return self.view.scores

    @property
    def n_clusters(self) -> int:
        """Clusters shown (those holding a matching row, under a filter)."""
        return len(self._sizes)

    def name(self, cluster_id: int) -> str:
        """The person's name, else the one it inherits from the tree, else the suggested name from keywords."""
        node = self._inherits.get(cluster_id)
        if node is not None and node.name is None and node.inherited:
            return node.inherited
        return self.view.label(self.state, cluster_id)

    def cluster_name(self, cluster_id: int) -> str:
        """The name of review cluster ``cluster_id`` (what moves and proposals pick from, at any level)."""
        return self.name(cluster_id)

    def cluster_size(self, cluster_id: int) -> int:
        return self.size(cluster_id)

    def status(self, cluster_id: int) -> str:
        """Its own decision, else the one it inherits from the tree."""
        own = self.state.status(cluster_id)
        node = self._inherits.get(cluster_id)
        return node.inherited_status if own == UNREVIEWED and node is not None else own

    def key(self, cluster_id: int) -> tuple:
        """What naming and deciding steps take (``ReviewSession.rename_node`` / ``set_node_status``)."""
        return ("cluster", cluster_id)

    def tag(self, cluster_id: int) -> str:
        """How a title refers to it ("#5"; nothing for the unclustered and empty groups)."""
        return f"#{cluster_id}" if cluster_id >= 0 else ""

    def group_of(self, cluster_id: int) -> int:
        """The group shown that holds review cluster ``cluster_id`` (itself at level 0)."""
        return cluster_id

    def suggested(self, cluster_id: int) -> str:
        return self.view.suggested.get(cluster_id, "")

    def keywords(self, cluster_id: int) -> list[tuple[str, float]]:
        if cluster_id == NOISE:
            base = self.analysis.cluster(NOISE)
            return base.keywords if base else []
        return self.view.keywords.get(cluster_id, [])

    def size(self, cluster_id: int) -> int:
        if cluster_id >= 0:
            return self._sizes.get(cluster_id, 0)
        hits = self.state.labels == cluster_id
        return int((hits & self.within).sum() if self.within is not None else hits.sum())

    def cohesion(self, cluster_id: int) -> float | None:
        return self._cohesion.get(cluster_id)

    def lines(self) -> list[ClusterLine]:
        """Every current cluster, then the unclustered and empty groups when they hold rows."""
        out = []
        unseen = self.state.unseen()
        for cid in self.view.ids.tolist():
            if cid not in self._sizes:
                continue  # no row of it matches the filter
            name = self.name(cid) + (f" · +{unseen[cid]:,} new" if cid in unseen else "")
            own = self.state.status(cid)
            out.append(ClusterLine(cid, name, self._sizes[cid], self._cohesion.get(cid),
                                   ", ".join(t for t, _ in self.keywords(cid)[:8]), self.status(cid),
                                   self.state.name(cid) is not None, unseen.get(cid, 0),
                                   inherited_name=cid in self._inherits and self.state.name(cid) is None
                                   and bool(self._inherits[cid].inherited),
                                   inherited_status=own == UNREVIEWED and self.status(cid) != UNREVIEWED))
        return out + self.rest_lines()

    def rest_lines(self) -> list[ClusterLine]:
        """The unclustered and empty groups, when they hold rows."""
        out = []
        for cid, name in ((NOISE, NOISE_NAME), (EMPTY, EMPTY_NAME)):
            size = self.size(cid)
            if size:
                out.append(ClusterLine(cid, name, size, None, ", ".join(t for t, _ in self.keywords(cid)[:8]),
                                       "", False))
        return out

    def exists(self, cluster_id: int) -> bool:
        return cluster_id in self._sizes or (cluster_id < 0 and self.size(cluster_id) > 0)

    def members(self, cluster_id: int) -> np.ndarray:
        """Rows of ``cluster_id``, closest to its current centre first (file order for noise/empty)."""
        hits = self.state.labels == cluster_id
        rows = np.flatnonzero(hits & self.within if self.within is not None else hits)
        if cluster_id < 0 or len(rows) == 0:
            return rows
        return rows[np.lexsort((rows, -self.view.scores[rows]))]

    def nearest(self, cluster_id: int, k: int = 3) -> list[tuple[int, float]]:
        """Clusters whose current centres are closest to ``cluster_id``'s."""
        centre = self.view.centre(cluster_id)
        if centre is None or len(self.view.ids) < 2:
            return []
        sims = self.view.centres @ centre
        order = [i for i in np.argsort(-sims, kind="stable") if self.view.ids[i] != cluster_id][:k]
        return [(int(self.view.ids[i]), float(sims[i])) for i in order]

    def gold_mix(self, cluster_id: int, k: int = 3) -> list[tuple[str, float]]:
        """Most common gold labels among the current members (empty without a gold column)."""
        return gold_mix(self.state.labels, self.corpus.gold, cluster_id, k)
