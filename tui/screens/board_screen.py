"""The board: the clusters, members and tabs of one review, how they fit the terminal, and moving
between them.  The panes own what they show; the screen keeps them on the same selection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Header, Static
from textual.worker import get_current_worker

from tui.actions import bindings
from tui.filter_commands import FilterCommands
from tui.label_commands import LabelCommands
from tui.messages import BoardReady, Busy, ProgressReport, StatusChanged
from tui.panes.clusters_pane import ClustersPane
from tui.panes.detail_pane import TABS, DetailPane
from tui.panes.members_pane import MembersPane
from tui.label_seeding import LabelSeeding
from tui.refinement import Refinement
from tui.review_commands import ReviewCommands
from tui.selection_memory import SelectionMemory
from tui.widgets.cluster_table import ClusterTable
from tui.widgets.group_tree import GroupTree
from tui.widgets.key_footer import KeyFooter
from tui.widgets.progress_panel import ProgressPanel, describe
from tui.widgets.query_bar import QueryBar
from tui.widgets.status_line import StatusLine
from tui.zoom import Zoom

if TYPE_CHECKING:
    from engine.progress import Progress
    from engine.review_session import ReviewSession
    from tui.board import Board

#: Below this many columns the right-hand tabs replace the members pane instead of sitting beside it.
NARROW_WIDTH = 130
#: Below this many columns the clusters and the members cannot sit side by side: one pane at a time.
SINGLE_WIDTH = 66
PANES = ("left", "middle", "right", "query")


class BoardScreen(Screen):
    """The clusters, members and tabs of the review that is open (a loading panel until it is)."""

    BINDINGS = bindings("board")
    #: Textual repaints every cell when the focus moves (its ``focused`` reactive asks for a full repaint),
    #: although the widgets whose focus styles change repaint themselves; with four panes of text that
    #: full repaint was the slowest part of a Tab.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    def __init__(self, path_shown: str) -> None:
        super().__init__(id="_default")
        self.path_shown = path_shown
        self.board: Board | None = None
        self.review: ReviewSession | None = None
        self.selected_cluster: int | None = None
        # the parts, made here so that they are typed attributes rather than queries on each key
        self.status_line = StatusLine()
        self.clusters = ClustersPane()
        self.members = MembersPane()
        self.detail = DetailPane()
        self.query_bar = QueryBar(id="query")
        self.commands = ReviewCommands(self)
        self.filtering = FilterCommands(self)
        self.labelling = LabelCommands(self)
        self.refinement = Refinement()
        self.zoom = Zoom(self)
        self.seeding = LabelSeeding()
        self.clusters.seeding = self.seeding
        self._select_after_refresh: int | None = None
        self._installing = False  # the table is being refilled: its cursor moves are not the person's
        self.memory = SelectionMemory(self._selection)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield self.status_line
        with ContentSwitcher(initial="loading", id="body"):
            yield ProgressPanel(id="loading")
            with self.commands, self.filtering, self.labelling:
                with Horizontal(id="main"):
                    yield self.clusters
                    yield self.members
                    yield self.detail
                with Horizontal(id="query-row"):
                    yield Static("/", id="query-label")
                    yield self.query_bar
                yield self.refinement
                yield self.zoom
                yield self.seeding
        yield KeyFooter()
        yield self.memory

    @property
    def session(self):
        return self.review.session if self.review is not None else None

    def on_mount(self) -> None:
        self.query_one("#loading", ProgressPanel).set_title(f"Opening {self.path_shown}")
        # watched here so that the other panes follow in the same call, hence the same paint, as the cursor
        self.watch(self.clusters.table, "cursor", self._clusters_cursor, init=False)
        self.watch(self.members.members, "cursor", self._members_cursor, init=False)
        self.query_bar.disabled = True
        self._fit_width(self.app.size.width)

    # ------------------------------------------------------------------ fitting the terminal

    def on_resize(self, event) -> None:
        self._fit_width(event.size.width)

    def _fit_width(self, width: int) -> None:
        self.set_class(width < NARROW_WIDTH, "-narrow")
        self.set_class(width < SINGLE_WIDTH, "-single")
        self._fit_focus(self.focused)

    def on_descendant_focus(self, event) -> None:
        self._fit_focus(event.widget)

    def _fit_focus(self, focused: Widget | None) -> None:
        """In a narrow terminal the focused pane takes another's place: the tabs the members', and below two
        panes' width the members the clusters'."""
        where = {node.id for node in focused.ancestors_with_self} if focused is not None else set()
        self.show_info("right" in where)
        self.set_class("middle" in where and self.has_class("-single"), "-members")

    def show_info(self, shown: bool) -> None:
        """Show the tabs in place of the members (narrow terminals only: a screen class change restyles
        every widget, which each Tab would pay)."""
        self.set_class(shown and self.has_class("-narrow"), "-info")

    # ------------------------------------------------------------------ opening

    def show_progress(self, p: "Progress") -> None:
        if self.board is None:
            self.query_one("#loading", ProgressPanel).update_progress(p)
        else:
            self.status_line.busy = describe(p)
            self.show_status()

    def show_failure(self, text: str) -> None:
        self.query_one("#loading", ProgressPanel).set_message(text, "q quits")

    def show_review(self, board: "Board", review: "ReviewSession") -> None:
        """Show ``review`` (just opened) where its person left it."""
        first = self.board is None
        self.review = review
        self.filtering.follow(review)
        self.query_one("#body", ContentSwitcher).current = "desk"
        self.query_bar.disabled = False
        ui = dict(board.state.ui)
        if ui.get("sort") in ("size", "cohesion", "name"):
            self.clusters.table.sort_key = ui["sort"]
        same_level = ui.get("level", 0) == board.level
        self.install(board, keep_cluster=ui.get("cluster") if same_level else None, keep_row=ui.get("row"),
                     level_changed=True)
        if ui.get("tab") in TABS:
            self.detail.active = ui["tab"]
        self.clusters.table.focus()
        self.refinement.follow(review)
        if first:  # the map's layout and the model's weights wait for the first paint (their imports hold it)
            self.call_after_refresh(self.detail.start_map)
            self.call_after_refresh(self.app.preload_model)
            self.call_after_refresh(self.filtering.read_columns)

    # ------------------------------------------------------------------ the board

    def install(self, board: "Board", keep_cluster: int | None = None, keep_row: int | None = None,
                level_changed: bool = False) -> None:
        """Show ``board`` in every pane, keeping the selection where it still makes sense (``level_changed``:
        the board shows another zoom level, whose group ids mean other groups)."""
        members = self.members
        if keep_row is None and self.board is not None and members.search_mode is None:
            row = members.members.current_row
            keep_row = row if row >= 0 else None
        if keep_cluster is None and not level_changed:
            keep_cluster = board.group_of(self._select_after_refresh) if self._select_after_refresh is not None \
                else self.selected_cluster
        self._select_after_refresh = None
        flt = self.filtering.filter
        if flt is not None and board.within is not flt.within:
            board = board.filtered(flt.within, flt.where)
        if (keep_cluster is None or not board.exists(keep_cluster)) and keep_row is not None:
            keep_cluster = int(board.labels[keep_row])
        if level_changed:
            self.clusters.table.clear_marks()
            self.selected_cluster = None
            self.zoom.look_ahead(board.level)
        self.board = board
        self.seeding.follow(self.review, self.app.options)
        self.detail.show_board(board, self.session, self.review)
        self._installing = True
        try:
            self.clusters.show(board, self.review, keep_cluster)
        finally:
            self._installing = False
        self.selected_cluster = None
        self.select_cluster(self.clusters.table.current_cluster, keep_row=keep_row)
        self.show_status()

    def refresh_board(self, recompute: bool = True, select: int | None = None) -> None:
        """Show the review's current state: names at once, sizes/scores/keywords after a recompute; then
        select cluster ``select`` (what a step changed) when given."""
        if self.board is None or self.review is None:
            return
        if select is not None:
            self._select_after_refresh = select
        if not recompute and self.board.analysis is self.review.analysis:
            from tui.level_board import make_board

            self.install(make_board(self.review, self.board.level, view=self.board.view))
            return
        self.recompute_board()

    @work(thread=True, exclusive=True, group="view", exit_on_error=False)
    def recompute_board(self) -> None:
        from tui.heap import freeze_heap
        from tui.level_board import make_board

        review, board = self.review, self.board
        same = review.analysis is board.analysis  # a new clustering opens at its own level
        fresh = make_board(review, board.level if same else 0)
        freeze_heap()
        if not get_current_worker().is_cancelled:
            self.post_message(BoardReady(fresh, level_changed=fresh.level != board.level))

    @on(BoardReady)
    def _board_ready(self, event: BoardReady) -> None:
        self.install(event.board, keep_cluster=event.select, level_changed=event.level_changed)

    def show_status(self) -> None:
        self.status_line.show(self.board, self.review)

    @on(ProgressReport)
    def _progress(self, event: ProgressReport) -> None:
        self.show_progress(event.progress)

    @on(Refinement.Status)
    def _vectors(self, event: Refinement.Status) -> None:
        self.status_line.vectors = event.text
        self.show_status()

    @on(LabelSeeding.Ready)
    def _seeded(self) -> None:
        """The labels given are proposed: the clusters pane shows them."""
        if self.board is not None:
            self.install(self.board)

    @on(StatusChanged)
    def _status_changed(self) -> None:
        self.show_status()

    @on(Busy)
    def _show_busy(self, event: Busy) -> None:
        self.status_line.busy = event.text
        self.show_status()

    # ------------------------------------------------------------------ the selection

    def _clusters_cursor(self) -> None:
        if not self._installing:
            self.select_cluster(self.clusters.table.current_cluster)

    def select_cluster(self, cluster_id: int | None, keep_row: int | None = None) -> None:
        """Show cluster ``cluster_id`` in the members pane and the tabs."""
        b = self.board
        if b is None or cluster_id is None:
            return
        if cluster_id == self.selected_cluster and self.members.search_mode is None and keep_row is None:
            return
        self.selected_cluster = cluster_id
        self.members.show_cluster(b, self.session, self.review, cluster_id, keep_row)
        self.detail.show_cluster(cluster_id)
        self.remember_selection()

    def _members_cursor(self) -> None:
        """The members cursor moved or the list was refilled: the detail follows (at once when it moved
        by a key there, else once the keys rest)."""
        members = self.members.members
        self.detail.follow(members.current_row, at_once=self.focused is members)
        self.remember_selection()

    def remember_selection(self) -> None:
        """Save the selection with the review once the cursor rests (so a reopen returns here)."""
        self.memory.remember()

    def save_selection(self, wait: bool = False) -> None:
        self.memory.save(wait)

    def _selection(self) -> "tuple[ReviewSession, dict] | None":
        """The review and what to save with it; None when there is nothing to save."""
        if self.board is None or self.review is None or self.review.read_only or not self.is_attached:
            return None
        try:  # the timer may fire while the app is closing, when the panes are already gone
            row = self.members.members.current_row
            return self.review, dict(cluster=self.selected_cluster, row=row if row >= 0 else None,
                                     tab=self.detail.active, sort=self.clusters.table.sort_key,
                                     level=self.board.level)
        except NoMatches:
            return None

    @on(ClusterTable.Sorted)
    def _sorted(self) -> None:
        self.remember_selection()

    @on(GroupTree.Chosen)
    def _tree_chosen(self, event: GroupTree.Chosen) -> None:
        self.zoom.go(event.level, event.key)
        self.action_focus_clusters()

    @on(QueryBar.Query)
    def _query(self, event: QueryBar.Query) -> None:
        self.members.query_changed(event.query)

    @on(QueryBar.Browse)
    def _browse(self) -> None:
        self.action_focus_members()

    # ------------------------------------------------------------------ moving around

    def action_cycle_pane(self, step: int) -> None:
        """Tab / Shift+Tab: clusters → members → the open tab on the right → search bar → clusters."""
        if self.board is None:
            return
        focused, current = self.focused, 0
        if focused is not None:
            current = next((i for i, pane in enumerate(PANES)
                            if any(node.id == pane for node in focused.ancestors_with_self)), 0)
        target = PANES[(current + step) % len(PANES)]
        if target == "right":
            self.action_show_tab(self.detail.active or "detail")
        elif target == "query":
            self.action_focus_query()
        else:
            (self.clusters.table if target == "left" else self.members.members).focus()

    def action_focus_query(self) -> None:
        if not self.query_bar.disabled:
            self.query_bar.focus()

    def action_focus_members(self) -> None:
        self.members.members.focus()

    def action_focus_clusters(self) -> None:
        self.clusters.table.focus()

    def action_show_tab(self, tab: str) -> None:
        """Open a tab on the right (in a narrow terminal it takes the members pane's place) and focus it."""
        if tab in TABS:
            self.show_info(True)
            self.detail.focus_tab(tab)
            self.remember_selection()

    def action_zoom(self, delta: int) -> None:
        """`+` one level coarser, `-` one finer (the tree's levels: no re-clustering)."""
        self.zoom.step(delta)

    def action_go_to_cluster(self) -> None:
        self.clusters.go_to()

    def action_next_unreviewed(self, step: int) -> None:
        self.clusters.next_unreviewed(step)

    def action_escape(self) -> None:
        """Cancel the opening of a file, leave search results, or go back to the clusters."""
        if self.board is None:
            self.app.cancel_token.cancel()
            return
        members = self.members
        if members.search_mode is not None:
            if members.back_to_earlier_results():
                return
            if self.query_bar.value:
                self.query_bar.action_clear_query()  # its change brings the cluster's members back
            else:
                members.leave_results()  # results of "more like this": no query to clear
                self.action_focus_members()
            return
        if self.focused is self.clusters.table and self.filtering.clear():
            return  # nothing else to back out of: the filter went
        self.action_focus_clusters()
