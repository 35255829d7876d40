"""The qtui app: panes for clusters, members, detail, keywords, metrics, a map, live search and review.

The window appears at once; reading, embedding and clustering run in thread
workers that report progress back, so no keystroke waits on the model.  The
engine is imported inside those workers, never at start-up.  Review actions
live in :mod:`tui.review_actions`, search in :mod:`tui.search_actions`, the detail pane in
:mod:`tui.detail_actions`, moving around in :mod:`tui.navigation`, opening the file in :mod:`tui.opening`.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Header, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from engine.clustering import ClusterSettings
from engine.errors import QtuiError, show_path
from engine.progress import CancelToken
from tui.actions import bindings
from tui.detail_actions import DetailActions
from tui.formatting import fit
from tui.navigation import NavigationActions
from tui.opening import OpeningActions, freeze_heap
from tui.review_actions import ReviewActions
from tui.search_actions import SearchActions
from tui.screens.board_screen import BoardScreen
from tui.screens.choice_screen import ChoiceScreen
from tui.screens.message_screen import MessageScreen
from tui.screens.prompt_screen import PromptScreen
from tui.screens.recluster_screen import ReclusterScreen
from tui.widgets.border_titles import set_border_titles
from tui.widgets.cluster_map import ClusterMap
from tui.widgets.cluster_table import ClusterTable
from tui.widgets.detail_view import DetailView
from tui.widgets.keywords_view import KeywordsView
from tui.widgets.key_footer import KeyFooter
from tui.widgets.member_list import MemberList
from tui.widgets.metrics_view import MetricsView
from tui.widgets.progress_panel import ProgressPanel
from tui.widgets.query_bar import QueryBar

if TYPE_CHECKING:
    from engine.review_session import ReviewSession
    from engine.session import Session, SessionOptions
    from tui.board import Board

#: Below this many columns the right-hand tabs replace the members pane instead of sitting beside it.
NARROW_WIDTH = 130
#: Below this many columns the clusters and the members cannot sit side by side: one pane at a time.
SINGLE_WIDTH = 66
#: The selection is saved with the review once the cursor rests this long.
UI_SAVE_DELAY = 0.6


class QtuiApp(OpeningActions, ReviewActions, SearchActions, DetailActions, NavigationActions, App):
    """Explore and review the clusters of one text file."""

    CSS_PATH = "qtui.tcss"
    TITLE = "qtui"
    BINDINGS = bindings("anywhere")

    def __init__(self, path: Path, options: "SessionOptions | None" = None,
                 settings: ClusterSettings | None = None, embedder=None, review_id: str | None = None,
                 settings_given: bool = False) -> None:
        """``embedder`` reuses an already loaded model (tests, or a second file in one process);
        ``review_id`` opens that saved review; ``settings_given``: the person asked for ``settings``."""
        super().__init__()
        self.path = Path(path)
        self.embedder = embedder
        self.options = options
        self.settings = settings or ClusterSettings()
        self.settings_given = settings_given
        self.review_id = review_id
        #: Why the file could not be opened (the app then exits with status 2), else None.
        self.open_error: str | None = None
        self.session: Session | None = None
        self.board: Board | None = None
        self.review: ReviewSession | None = None
        self.map_xy: np.ndarray | None = None
        self._maps: dict[int, np.ndarray] = {}  # map positions by id() of the analysis they were laid out for
        self.cancel_token = CancelToken()
        self.selected_cluster: int | None = None
        self.search_mode: str | None = None  # None = members of the selected cluster
        self._results_back: list[tuple] = []  # results that "more like this" replaced, for Esc
        self._query_seq = itertools.count(1)
        self._query_running = False
        self._pending_query: str | None = None
        self.last_query_shown: tuple[int, str] | None = None
        self.neighbours_shown_for = -1
        self._duplicates = None
        self._select_after_refresh: int | None = None
        self._installing = False  # the table is being refilled: its cursor moves are not the user's
        self._ui_timer: Timer | None = None
        self._detail_timer: Timer | None = None
        self._pending_detail: tuple[int, str, list] | None = None  # (row, text, fields) awaiting neighbours
        self._neighbours_timer: Timer | None = None
        self._info_shown = False
        self._map_started = False  # the first map waits for the first paint (see _after_first_paint)
        self.sub_title = show_path(self.path)

    @property
    def analysis(self):
        """The base clustering on screen (None until the first one is ready)."""
        return self.board.analysis if self.board is not None else None

    def get_default_screen(self) -> BoardScreen:
        return BoardScreen(id="_default")

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Notifications never interpret markup: their text often comes from the input file."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("", id="status", markup=False)
        with ContentSwitcher(initial="loading", id="body"):
            yield ProgressPanel(id="loading")
            with Horizontal(id="main"):
                with Vertical(id="left"):
                    yield ClusterTable(id="clusters")
                with Vertical(id="middle"):
                    yield MemberList(id="members")
                with TabbedContent(id="right", initial="detail"):
                    with TabPane("Detail", id="detail"):
                        yield DetailView(id="detail-view")
                    with TabPane("Keywords", id="keywords"):
                        yield KeywordsView(id="keywords-view")
                    with TabPane("Metrics", id="metrics"):
                        yield MetricsView(id="metrics-view")
                    with TabPane("Map", id="map"):
                        yield ClusterMap(id="map-view")
        with Horizontal(id="query-row"):
            yield Static("/", id="query-label")
            yield QueryBar(id="query")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#loading", ProgressPanel).set_title(f"Opening {show_path(self.path)}")
        set_border_titles(self.query_one("#clusters"), "Clusters")
        set_border_titles(self.query_one("#members"), "Members")
        self.watch(self.query_one("#clusters", ClusterTable), "cursor", self._on_clusters_cursor, init=False)
        self.watch(self.query_one("#members", MemberList), "cursor", self._on_members_cursor, init=False)
        self.query_one("#query", QueryBar).disabled = True
        self._apply_width(self.size.width)

    def on_ready(self) -> None:
        """The first frame is on screen: start reading the file.  (Started earlier, the worker's imports
        of torch and scikit-learn hold the interpreter for seconds and delay that first frame.)"""
        self.open_file()

    def on_resize(self, event) -> None:
        self._apply_width(event.size.width)

    def _apply_width(self, width: int) -> None:
        self.screen.set_class(width < NARROW_WIDTH, "-narrow")
        self.screen.set_class(width < SINGLE_WIDTH, "-single")
        self.show_info(self._info_shown)
        self._show_members_alone(self.focused)

    def show_info(self, shown: bool) -> None:
        """Whether the right-hand tabs have the focus.  Only a narrow screen changes its layout for that, so
        the class is set there only: a screen class change restyles every widget, which a Tab would pay."""
        self._info_shown = shown
        self.screen.set_class(shown and self.screen.has_class("-narrow"), "-info")

    def _show_members_alone(self, focused) -> None:
        """On a screen too narrow for two panes, the members pane replaces the clusters while it has the focus."""
        members = focused is not None and any(node.id == "middle" for node in focused.ancestors_with_self)
        self.screen.set_class(members and self.screen.has_class("-single"), "-members")

    def on_descendant_focus(self, event) -> None:
        self.show_info(any(node.id == "right" for node in event.widget.ancestors_with_self))
        self._show_members_alone(event.widget)

    def pane_visible(self, widget) -> bool:
        """Whether ``widget`` is on screen whole: actions never change what the person cannot see."""
        region = widget.region
        return widget.display and region.area > 0 and self.screen.region.contains_region(region) and \
            all(node.display for node in widget.ancestors if hasattr(node, "display"))

    async def action_quit(self) -> None:
        """Quit after a last save; when changes cannot be saved, ask: export elsewhere, stay, or lose them."""
        if self._ui_timer is not None:
            self._ui_timer.stop()
            self._save_selection(wait=True)
        review = self.review
        if self.open_error is not None and review is None:
            self.exit(return_code=2)
            return
        if review is None or review.read_only or not review.save_status.unsaved or review.autosave():
            self.exit()
            return
        status = review.save_status

        def chosen(answer: str) -> None:
            if answer == "export":
                self.action_export()
            elif answer == "lose":
                self.exit()
            else:
                self.notify("Still here; every change stays in memory and is saved with the next one that "
                            "succeeds.", timeout=5)

        lost = f"{status.unsaved} change{'s' * (status.unsaved != 1)}"
        self.clear_notifications()  # the toasts would cover the question
        self.push_screen(ChoiceScreen(status.describe(), f"{status.last_error}\n\nQuitting now loses the {lost} "
                                      f"made since the last save. Export the review to another place, or stay and "
                                      f"free some space: the next change, or quitting again, saves everything.",
                                      [("export", "Export elsewhere…"), ("stay", "Stay"),
                                       ("lose", f"Quit and lose {lost}")], cancel="stay"), chosen)

    def on_unmount(self) -> None:
        if self.review is not None:
            self.review.close()

    # ------------------------------------------------------------------ showing a board

    def _install(self, board: "Board", xy: np.ndarray | None = None, keep_cluster: int | None = None,
                 keep_row: int | None = None) -> None:
        """Show ``board`` in every pane, keeping the selection where it still makes sense."""
        members = self.query_one("#members", MemberList)
        if keep_row is None and self.board is not None and self.search_mode is None:
            keep_row = members.current_row if members.current_row >= 0 else None
        if keep_cluster is None:
            keep_cluster = self._select_after_refresh if self._select_after_refresh is not None else \
                self.selected_cluster
            self._select_after_refresh = None
        if keep_cluster is not None and not board.exists(keep_cluster) and keep_row is not None:
            keep_cluster = int(board.labels[keep_row])
        self.board = board
        if xy is not None:
            self._maps[id(board.analysis)] = xy
        if self.map_xy is not self._maps.get(id(board.analysis)):
            self.map_xy = self._maps.get(id(board.analysis))
            if self.map_xy is None and self._map_started:
                self.lay_out_map(board.analysis)
        table = self.query_one("#clusters", ClusterTable)
        self._installing = True
        try:
            table.show(board.lines(), keep=keep_cluster)
        finally:
            self._installing = False
        self._show_clusters_subtitle()
        self._show_map()
        self.selected_cluster = None
        self._select_cluster(table.current_cluster, keep_row=keep_row)
        self._set_status_line()

    def refresh_board(self, recompute: bool = True) -> None:
        """Show the review's current state: names at once, sizes/scores/keywords after a recompute."""
        if self.board is None or self.review is None:
            return
        if not recompute and self.board.analysis is self.review.analysis:
            from tui.board import Board

            self._install(Board(self.board.analysis, self.review.state, self.board.view))
            return
        self.recompute_board()

    @work(thread=True, exclusive=True, group="view", exit_on_error=False)
    def recompute_board(self) -> None:
        review = self.review
        if review is None:
            return
        fresh = self._make_board(review)
        freeze_heap()
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._install, fresh)

    def _set_status_line(self, busy: str = "") -> None:
        b, s = self.board, self.session
        if b is None or s is None:
            return
        model = Path(str(s.embedder.name)).name
        loaded = getattr(s.embedder, "loaded", True)
        where = f"on {getattr(s.embedder, 'device', '?')}" if loaded else "(loading…)"
        parts = [f"{len(s.corpus):,} texts", f"{b.n_clusters} clusters ({b.analysis.clustering.settings.describe()})",
                 f"reviewed {b.state.progress().describe()}"]
        review = self.review
        if review is not None and review.read_only:
            parts.append("read-only")
        parts.append(f"{model} {where}")
        if busy:
            parts.append(busy)
        line = Text(" · ".join(parts))
        if review is not None and review.save_status.unsaved:  # stays until a save works
            line = Text.assemble((f"{review.save_status.describe()} (q asks what to do)", "bold red"), " · ", line)
        self.query_one("#status", Static).update(line)

    # ------------------------------------------------------------------ selection

    def _on_clusters_cursor(self) -> None:
        """The clusters cursor moved (a key, a click): show its cluster, in the same paint as the cursor."""
        if not self._installing:
            self._select_cluster(self.query_one("#clusters", ClusterTable).current_cluster)

    def _select_cluster(self, cluster_id: int | None, keep_row: int | None = None) -> None:
        b = self.board
        if b is None or cluster_id is None:
            return
        if cluster_id == self.selected_cluster and self.search_mode is None and keep_row is None:
            return
        self.selected_cluster = cluster_id
        self.search_mode = None
        members = b.members(cluster_id)
        lst = self.query_one("#members", MemberList)
        lst.empty_message = "No texts in this cluster."
        lst.set_rows(members, self._text_of, scores=b.scores[members], keep_row=keep_row)
        label = f"#{cluster_id}" if cluster_id >= 0 else ""
        name = b.name(cluster_id)
        set_border_titles(lst, fit(f"Members of {label} {name}".replace("  ", " "), 60),
                          f"{len(members):,} · closest to the centre first" if cluster_id >= 0 else f"{len(members):,}")
        self.query_one("#keywords-view", KeywordsView).show(f"Keywords of {label} {fit(name, 40)}".strip(),
                                                            b.keywords(cluster_id))
        self.query_one("#metrics-view", MetricsView).show(b, cluster_id)
        self.query_one("#map-view", ClusterMap).select(cluster_id)
        self._remember_selection()

    def _text_of(self, row: int) -> str:
        return self.session.corpus.texts[row] if self.session is not None else ""

    def _remember_selection(self) -> None:
        """Save the selection with the review once the cursor rests (so a reopen returns here)."""
        if self._ui_timer is not None:
            self._ui_timer.stop()
        self._ui_timer = self.set_timer(UI_SAVE_DELAY, self._save_selection)

    def _save_selection(self, wait: bool = False) -> None:
        """Save the selection with the review: in a thread (a save waits for the disk, ~30 ms here, and
        keys must not), or now with ``wait`` (on quitting)."""
        b, review = self.board, self.review
        if b is None or review is None or review.read_only:
            return
        try:
            # the timer may fire while the app is closing, when the panes are already gone
            row = self.query_one("#members", MemberList).current_row
            tab = self.query_one("#right", TabbedContent).active
            sort = self.query_one("#clusters", ClusterTable).sort_key
        except NoMatches:
            return
        values = dict(cluster=self.selected_cluster, row=row if row >= 0 else None, tab=tab, sort=sort)
        if wait:
            try:
                review.set_ui(**values)
            except QtuiError as exc:
                self.notify(str(exc), severity="error")
        else:
            self._write_selection(review, values)

    @work(thread=True, group="save-ui", exit_on_error=False)
    def _write_selection(self, review, values: dict) -> None:
        try:
            review.set_ui(**values)
        except QtuiError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")

    def on_member_list_marks_changed(self, event: MemberList.MarksChanged) -> None:
        n = len(event.member_list.marked)
        if event.member_list.id == "members":
            set_border_titles(self.query_one("#members"), subtitle=f"{n:,} marked · v moves · d sends to noise" if n else
                                                         f"{len(event.member_list.rows):,}")

    def on_cluster_table_marks_changed(self, event: ClusterTable.MarksChanged) -> None:
        self._show_clusters_subtitle()

    def on_cluster_table_sorted(self, event: ClusterTable.Sorted) -> None:
        self._show_clusters_subtitle()

    def _show_clusters_subtitle(self) -> None:
        table = self.query_one("#clusters", ClusterTable)
        n = len(table.marked)
        shown = f"{table.filter_text!r}: {table.row_count} shown (F) · " if table.filter_text else ""
        set_border_titles(self.query_one("#clusters"), subtitle=f"{n} marked · M merges · a/x accept/reject" if n
                          else f"{shown}sorted by {table.sort_key} (s)")

    # ------------------------------------------------------------------ re-cluster, export

    def action_recluster(self) -> None:
        if self.board is None:
            return

        def chosen(settings: ClusterSettings | None) -> None:
            if settings is not None:
                self.recluster(settings)

        self.push_screen(ReclusterScreen(self.board.analysis.clustering.settings), chosen)

    def action_export(self) -> None:
        """Ask where to export; never over the input, and over another existing file only after a yes."""
        if self.board is None or self.review is None:
            return
        default = self.path.with_name(f"{self.path.name.split('.')[0]}.labeled.csv")

        def chosen(value: str | None) -> None:
            if not value:
                return
            from engine.export_guard import ExportExists

            target = Path(value).expanduser()
            try:
                self.review.check_export(target, [self.path])
            except ExportExists:
                self.push_screen(ChoiceScreen("Replace the file?", f"{show_path(target)} exists. Write the export "
                                              f"over it?", [("no", "Choose another name"), ("yes", "Replace it")],
                                              cancel="no"),
                                 lambda answer: self.export(target, True) if answer == "yes" else
                                 self.action_export())
                return
            except QtuiError as exc:
                self.push_screen(MessageScreen("Not exported", str(exc)))
                return
            self.export(target, False)

        self.push_screen(PromptScreen("Export the review to (.csv, .tsv, .jsonl or .parquet)", str(default)), chosen)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export(self, path: Path, overwrite: bool = False) -> None:
        review, session = self.review, self.session
        if review is None or session is None:
            return
        try:
            written = review.export(path, overwrite=overwrite)
        except QtuiError as exc:
            self.call_from_thread(self.push_screen, MessageScreen("Export failed", str(exc)))
            return
        self.call_from_thread(self.notify, f"Exported {len(session.corpus):,} rows to {show_path(written)}"
                              + (" (replaced the file that was there)" if overwrite else ""))
