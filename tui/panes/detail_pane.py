"""The right-hand tabs: the detail of the text under the members cursor (with its nearest texts), the
keywords, metrics and columns of the selected cluster, the map of the clustering and the tree of its groups.

The pane owns its timers and workers.  The nearest texts are searched in a thread worker; the detail waits
up to :data:`NEIGHBOURS_WAIT` for them so that it paints once per move, and while the members list is
refilled from another pane (a search typed, a move in the clusters) it follows once the keys rest.  Map
positions are laid out in a worker, once per clustering, after the first paint.  The columns of a cluster
are profiled while their tab is open, once per (clustering, review version, filter, cluster): on the spot
once the file's columns are encoded and the filter's baseline counted (in a worker, once each).  The tree's levels are
gathered in a worker while its tab is open, again after each change of the review.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import TabbedContent, TabPane
from textual.worker import get_current_worker

from tui.formatting import fit
from tui.widgets.cluster_map import ClusterMap
from tui.widgets.columns_view import ColumnsView
from tui.widgets.detail_view import DetailView
from tui.widgets.group_tree import GroupTree, TreeLevels, tree_levels
from tui.widgets.keywords_view import KeywordsView
from tui.widgets.metrics_view import MetricsView

if TYPE_CHECKING:
    from engine.analysis import Analysis
    from engine.session import Session
    from tui.board import Board
    from tui.board_filter import BoardFilter

TABS = ("detail", "keywords", "metrics", "map", "columns", "tree")
NEIGHBOURS = 8
#: When the members list refills while another pane has the focus, the detail shows its first text once
#: the keys rest this long: each key then repaints the members only, not a detail per cluster passed.
DETAIL_REST_DELAY = 0.2
#: The detail waits this long for its nearest texts (a search of a few ms in a worker) to show both in
#: one paint; when they are later it shows the text first and adds them when they come.
NEIGHBOURS_WAIT = 0.1


class DetailPane(Vertical):
    """Detail / Keywords / Metrics / Map tabs for the selection on the board."""

    class NeighboursFound(Message):
        def __init__(self, row: int, items: list) -> None:
            super().__init__()
            self.row, self.items = row, items

    class ColumnsProfiled(Message):
        def __init__(self, key: tuple, profiles: list) -> None:
            super().__init__()
            self.key, self.profiles = key, profiles

    class MapReady(Message):
        def __init__(self, analysis: "Analysis", xy: np.ndarray) -> None:
            super().__init__()
            self.analysis, self.xy = analysis, xy

    class TreeReady(Message):
        def __init__(self, data: TreeLevels | None, board: "Board") -> None:
            super().__init__()
            self.data, self.board = data, board

    def __init__(self) -> None:
        super().__init__(id="right")
        self.session: Session | None = None
        self.board: Board | None = None
        self._detail_timer: Timer | None = None
        self._neighbours_timer: Timer | None = None
        self._pending: tuple[int, str, list] | None = None  # (row, text, fields) awaiting neighbours
        self._shown_row = -1
        self.neighbours_shown_for = -1
        self._maps: dict[int, np.ndarray] = {}  # map positions by id() of the analysis laid out
        self.map_started = False  # the first layout waits for the first paint of the clusters
        self.detail_view = DetailView(id="detail-view")
        self.keywords_view = KeywordsView(id="keywords-view")
        self.metrics_view = MetricsView(id="metrics-view")
        self.map_view = ClusterMap(id="map-view")
        self.columns_view = ColumnsView(id="columns-view")
        #: The file's columns and filter (set by the board screen); profiles by :meth:`_columns_key`.
        self.columns: BoardFilter | None = None
        self._profiles: dict[tuple, list] = {}
        self._columns_cluster: int | None = None
        self.columns_shown_for: tuple | None = None  # the key of the profiles on screen (benchmarks wait on it)
        self.tree_view = GroupTree(id="tree-view")
        self.review = None
        self.cluster_id: int | None = None
        self.tabs = TabbedContent(id="tabs", initial="detail")

    def compose(self) -> ComposeResult:
        with self.tabs:
            with TabPane("Detail", id="detail"):
                yield self.detail_view
            with TabPane("Keywords", id="keywords"):
                yield self.keywords_view
            with TabPane("Metrics", id="metrics"):
                yield self.metrics_view
            with TabPane("Map", id="map"):
                yield self.map_view
            with TabPane("Columns", id="columns"):
                yield self.columns_view
            with TabPane("Tree", id="tree"):
                yield self.tree_view

    @property
    def active(self) -> str:
        """The tab shown."""
        return self.tabs.active

    @active.setter
    def active(self, tab: str) -> None:
        self.tabs.active = tab

    def focus_tab(self, tab: str) -> None:
        """Open ``tab`` and focus its view."""
        self.active = tab
        self.call_after_refresh(self.query_one(f"#{tab}-view").focus)

    # ------------------------------------------------------------------ the selected cluster

    def show_board(self, board: "Board", session: "Session", review=None) -> None:
        """Show ``board``'s clustering on the map (laid out in the background when it is new) and, while its
        tab is open, in the tree."""
        self.board, self.session, self.review = board, session, review
        self._show_map()
        if self.active == "tree":
            self.gather_tree(board)

    # ------------------------------------------------------------------ the tree

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tree" and self.board is not None:
            self.gather_tree(self.board)
        elif event.pane.id == "columns":
            self.call_after_refresh(self.show_columns)  # once the tab is laid out: its width is known

    @work(thread=True, exclusive=True, group="tree", exit_on_error=False)
    def gather_tree(self, board: "Board") -> None:
        """Every level of the review's tree (one level view each; the levels visited are kept)."""
        review = self.review
        if review is None:
            return
        shown = self.tree_view.data_shown
        if shown is not None and shown.version == review.state.version and self.tree_view.board_shown is board:
            return
        data = tree_levels(review)
        if not get_current_worker().is_cancelled:
            self.post_message(self.TreeReady(data, board))

    @on(TreeReady)
    def _tree_ready(self, event: TreeReady) -> None:
        board = event.board
        self.tree_view.board_shown = board
        cluster = self.cluster_id if board is self.board else None
        self.tree_view.show_levels(event.data, board.level,
                                   board.key(cluster) if cluster is not None and cluster >= 0 else None)

    def show_cluster(self, cluster_id: int) -> None:
        board = self.board
        self.cluster_id = cluster_id
        if self.active == "tree" and self.tree_view.board_shown is board and cluster_id >= 0:
            self.tree_view.reveal(board.level, board.key(cluster_id))
        self.keywords_view.show(f"Keywords of {board.tag(cluster_id)} {fit(board.name(cluster_id), 40)}"
                                .replace("  ", " ").strip(), board.keywords(cluster_id))
        self.metrics_view.show(board, cluster_id)
        self.map_view.select(cluster_id)
        self._columns_cluster = cluster_id
        if self.active == "columns":
            self.show_columns()

    # ------------------------------------------------------------------ the columns of the selected cluster

    def _columns_key(self, cluster_id: int) -> tuple:
        board = self.board
        return id(board.analysis), board.version, board.where, cluster_id

    def show_columns(self) -> None:
        """Show the profiles of the selected cluster's columns: from the cache, else computed in a worker."""
        board, cid = self.board, self._columns_cluster
        if board is None or cid is None or self.columns is None:
            return
        key = self._columns_key(cid)
        against = "filter" if board.where else "file"
        title = f"{'#' + str(cid) if cid >= 0 else ''} {fit(board.name(cid), 40)}".strip() + \
            f": {board.size(cid):,} rows{' matching' if board.where else ''}"
        profiles = self._profiles.get(key)
        if profiles is None and self.columns.profiler is not None and board.where in self.columns.baselines:
            # a few bincounts over the cluster's rows: cheaper here than a worker's round trip and a second paint
            profiles = self._profiles[key] = self.columns.profiler.profile(board.members(cid),
                                                                           self.columns.baselines[board.where])
        if profiles is not None:
            self.columns_view.show(title, profiles, against)
            self.columns_shown_for = key
            return
        self.columns_view.show(title, None, against, "Counting…")
        self.profile_columns(key, board, cid)

    @work(thread=True, exclusive=True, group="columns", exit_on_error=False)
    def profile_columns(self, key: tuple, board: "Board", cluster_id: int) -> None:
        """The profiles when the columns are not encoded yet, or the filter's baseline not counted."""
        columns = self.columns
        profiler = columns.build_profiler()
        base = columns.baseline(board.where, board.within)
        profiles = profiler.profile(board.members(cluster_id), base)
        if not get_current_worker().is_cancelled:
            self.post_message(self.ColumnsProfiled(key, profiles))

    @on(ColumnsProfiled)
    def _columns_profiled(self, event: ColumnsProfiled) -> None:
        if len(self._profiles) > 256:  # a long review's clusters would otherwise pile up
            self._profiles.clear()
        self._profiles[event.key] = event.profiles
        if self.board is not None and self._columns_cluster is not None and \
                event.key == self._columns_key(self._columns_cluster) and self.active == "columns":
            self.show_columns()

    # ------------------------------------------------------------------ the detail of one text

    def follow(self, row: int, at_once: bool) -> None:
        """The members cursor is on corpus ``row`` (-1: none): show it now, or once the keys rest."""
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        self._shown_row = row
        if at_once:
            self._show_detail(row)
        else:
            self._detail_timer = self.set_timer(DETAIL_REST_DELAY, lambda: self._show_detail(self._shown_row))

    def _show_detail(self, row: int) -> None:
        """The text of corpus ``row``, its fields and (soon) its nearest texts; -1 clears the tab."""
        self._detail_timer = None
        detail = self.detail_view
        b, session = self.board, self.session
        if row < 0 or session is None or b is None:
            self._pending = None
            detail.clear()
            return
        corpus = session.corpus
        cid = int(b.labels[row])
        fields = [("id", corpus.ids[row]), ("line", str(int(corpus.lines[row]))),
                  ("cluster" if b.level == 0 else "group", f"{b.tag(cid)} {b.name(cid)}".strip()),
                  ("score", "–" if np.isnan(b.scores[row]) else f"{b.scores[row]:.3f} (cosine to the centre)"),
                  ("label source", b.state.source_names(np.array([row]))[0])]
        for col in corpus.extra_columns:
            value = corpus.frame.get_column(col)[row]
            fields.append((col, "" if value is None else str(value)))
        self._pending = (row, corpus.texts[row], fields)
        if self._neighbours_timer is not None:
            self._neighbours_timer.stop()
        self._neighbours_timer = self.set_timer(NEIGHBOURS_WAIT, self._show_pending)
        self.find_neighbours(row)

    def _show_pending(self, neighbours: list | None = None) -> None:
        """Show the detail waiting for its nearest texts (with them, or with a placeholder when late)."""
        if self._neighbours_timer is not None:
            self._neighbours_timer.stop()
            self._neighbours_timer = None
        if self._pending is None or not self.is_attached:
            return
        _, text, fields = self._pending
        self._pending = None
        self.detail_view.show(text, fields, neighbours)

    @work(thread=True, exclusive=True, group="neighbours", exit_on_error=False)
    def find_neighbours(self, row: int) -> None:
        session, board = self.session, self.board
        rows, scores = session.similar_to_row(row, NEIGHBOURS)
        items = [(float(s), int(board.labels[r]), session.corpus.texts[r]) for r, s in zip(rows, scores)]
        if not get_current_worker().is_cancelled:
            self.post_message(self.NeighboursFound(row, items))

    @on(NeighboursFound)
    def _neighbours_found(self, event: NeighboursFound) -> None:
        if event.row != self._shown_row:
            return
        if self._pending is not None and self._pending[0] == event.row:
            self._show_pending(event.items)  # the text, its fields and its neighbours in one paint
        else:
            self.detail_view.show_neighbours(event.items)
        self.neighbours_shown_for = event.row

    # ------------------------------------------------------------------ the map

    @property
    def map_xy(self) -> np.ndarray | None:
        """Map positions of every corpus row for the board's clustering (None until laid out)."""
        return self._maps.get(id(self.board.analysis)) if self.board is not None else None

    def remember_map(self, analysis: "Analysis", xy: np.ndarray) -> None:
        """Keep positions laid out elsewhere (a re-clustering lays out its own)."""
        self._maps[id(analysis)] = xy

    def start_map(self) -> None:
        """Lay out the board's map now the clusters are painted (the layout's imports hold the interpreter)."""
        self.map_started = True
        self._show_map()

    def _show_map(self) -> None:
        board, view = self.board, self.map_view
        xy = self.map_xy
        if board is None or xy is None:
            view.message = "Laying out the map…"
            view.set_points(None, None)
            if board is not None and self.map_started:
                self.lay_out_map(board.analysis)
            return
        rows = board.analysis.rows
        view.set_points(xy[rows], board.labels[rows])

    @work(thread=True, exclusive=True, group="map", exit_on_error=False)
    def lay_out_map(self, analysis: "Analysis") -> None:
        """Lay out the map of ``analysis``'s clustering in the background."""
        from engine.projection import layout_rows
        from tui.heap import freeze_heap

        try:
            xy = layout_rows(analysis)
        except Exception as exc:  # the map is an extra: say so, keep the review going
            self.notify(f"The map could not be laid out: {exc}", severity="warning")
            return
        freeze_heap()
        if not get_current_worker().is_cancelled:
            self.post_message(self.MapReady(analysis, xy))

    @on(MapReady)
    def _map_ready(self, event: MapReady) -> None:
        self._maps[id(event.analysis)] = event.xy
        if self.board is not None and self.board.analysis is event.analysis:
            self._show_map()
