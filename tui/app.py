"""The qtui app: panes for clusters, members, detail, keywords, metrics, a map and live search.

The window appears at once; reading, embedding and clustering run in thread
workers that report progress back, so no keystroke waits on the model.  The
engine is imported inside those workers, never at start-up.
"""

from __future__ import annotations

import itertools
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import numpy as np
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Header, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from engine.clustering import ClusterSettings
from engine.errors import QtuiError, show_path
from engine.progress import CancelToken, Cancelled, Progress
from tui.formatting import fit
from tui.screens.help_screen import HelpScreen
from tui.screens.message_screen import MessageScreen
from tui.screens.prompt_screen import PromptScreen
from tui.screens.recluster_screen import ReclusterScreen
from tui.widgets.cluster_map import ClusterMap
from tui.widgets.cluster_table import ClusterRow, ClusterTable
from tui.widgets.detail_view import DetailView
from tui.widgets.keywords_view import KeywordsView
from tui.widgets.member_list import MemberList
from tui.widgets.metrics_view import MetricsView
from tui.widgets.progress_panel import ProgressPanel, describe
from tui.widgets.query_bar import QueryBar

if TYPE_CHECKING:
    from engine.analysis import Analysis
    from engine.session import Session, SessionOptions

#: Below this many columns the right-hand pane replaces the members pane instead of sitting beside it.
NARROW_WIDTH = 130
NEIGHBOURS = 8
SEARCH_RESULTS = 200
TABS = ("detail", "keywords", "metrics", "map")


class QtuiApp(App):
    """Explore the clusters of one text file."""

    CSS_PATH = "qtui.tcss"
    TITLE = "qtui"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark,f1", "help", "Help"),
        Binding("slash", "focus_query", "Search"),
        Binding("c", "recluster", "Re-cluster"),
        Binding("e", "export", "Export"),
        Binding("1", "show_tab('detail')", "Detail", show=False),
        Binding("2", "show_tab('keywords')", "Keywords", show=False),
        Binding("3", "show_tab('metrics')", "Metrics", show=False),
        Binding("4", "show_tab('map')", "Map", show=False),
        Binding("escape", "escape", "Back / cancel", show=False),
        Binding("tab", "cycle_pane(1)", "Next pane", show=False, priority=True),
        Binding("shift+tab", "cycle_pane(-1)", "Previous pane", show=False, priority=True),
    ]

    def __init__(self, path: Path, options: "SessionOptions | None" = None,
                 settings: ClusterSettings | None = None, embedder=None) -> None:
        """``embedder`` reuses an already loaded model (tests, or a second file in one process)."""
        super().__init__()
        self.path = Path(path)
        self.embedder = embedder
        self.options = options
        self.settings = settings or ClusterSettings()
        self.session: Session | None = None
        self.analysis: Analysis | None = None
        self.map_xy: np.ndarray | None = None
        self.cancel_token = CancelToken()
        self.selected_cluster: int | None = None
        self.search_mode: str | None = None  # None = members of the selected cluster
        self._query_seq = itertools.count(1)
        self._query_running = False
        self._pending_query: str | None = None
        self.last_query_shown: tuple[int, str] | None = None
        self.neighbours_shown_for = -1
        self.sub_title = show_path(self.path)

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Notifications never interpret markup: their text often comes from the input file."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("", id="status")
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
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#loading", ProgressPanel).set_title(f"Opening {show_path(self.path)}")
        self.query_one("#left").border_title = "Clusters"
        self.query_one("#middle").border_title = "Members"
        self.query_one("#query", QueryBar).disabled = True
        self._apply_width(self.size.width)
        self.open_file()

    def on_resize(self, event) -> None:
        self._apply_width(event.size.width)

    def _apply_width(self, width: int) -> None:
        self.screen.set_class(width < NARROW_WIDTH, "-narrow")

    def on_descendant_focus(self, event) -> None:
        in_right = any(node.id == "right" for node in event.widget.ancestors_with_self)
        self.screen.set_class(in_right, "-info")

    # ------------------------------------------------------------------ opening

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def open_file(self) -> None:
        """Load, embed and cluster in a thread; every stage reports progress to the panel."""
        worker = get_current_worker()

        def report(p: Progress) -> None:
            if not worker.is_cancelled:
                self.call_from_thread(self._show_progress, p)

        try:
            from engine.session import Session, SessionOptions

            session = Session.open(self.path, self.options or SessionOptions(), progress=report,
                                   cancel=self.cancel_token, embedder=self.embedder)
            analysis, xy = self._cluster_and_map(session, self.settings, report)
        except Cancelled:
            self.call_from_thread(self._opening_failed, "Cancelled.", None)
            return
        except QtuiError as exc:
            self.call_from_thread(self._opening_failed, "Could not open the file", str(exc))
            return
        except Exception as exc:  # a bug: show it, keep the app alive, log the traceback
            from tui.cli import write_crash_log

            log = write_crash_log()
            self.call_from_thread(self._opening_failed, "Internal error",
                                  f"{type(exc).__name__}: {exc}\n(traceback in {log})")
            return
        self.call_from_thread(self._opened, session, analysis, xy)

    def _cluster_and_map(self, session: "Session", settings: ClusterSettings, report):
        from engine.projection import map_layout

        analysis = session.cluster(settings, progress=report, cancel=self.cancel_token)
        report(Progress("map", 0, 1))
        xy = map_layout(analysis.vectors, analysis.clustering.labels, analysis.centres, seed=settings.seed,
                        cancel=self.cancel_token)
        full = np.full((len(analysis.labels), 2), np.nan, dtype=np.float32)
        full[analysis.rows] = xy
        return analysis, full

    def _show_progress(self, p: Progress) -> None:
        if self.session is None:
            self.query_one("#loading", ProgressPanel).update_progress(p)
        else:
            self._set_status(busy=describe(p))

    def _opening_failed(self, title: str, message: str | None) -> None:
        panel = self.query_one("#loading", ProgressPanel)
        panel.set_message(title if message is None else f"{title}: {message}", "q quits")
        if message is not None:
            self.push_screen(MessageScreen(title, message))

    def _opened(self, session: "Session", analysis: "Analysis", xy: np.ndarray) -> None:
        self.session = session
        self.query_one("#body", ContentSwitcher).current = "main"
        self.query_one("#query", QueryBar).disabled = False
        self._install(analysis, xy)
        self.query_one("#clusters", ClusterTable).focus()
        for note in session.corpus.notices:
            self.notify(note, timeout=6)
        if session.language_warning:
            self.notify(session.language_warning, title="Model and language", severity="warning", timeout=15)
        if len(session.truncated_rows):
            self.notify(f"{len(session.truncated_rows):,} texts are longer than the model's limit and were "
                        f"embedded from their beginning only", severity="warning", timeout=8)
        self.preload_model()
        if session.corpus.skipped:
            first = session.corpus.skipped[0]
            self.notify(f"{len(session.corpus.skipped):,} malformed records skipped; first: line {first.line}: "
                        f"{first.reason}", severity="warning", timeout=10)

    @work(thread=True, exclusive=True, group="model", exit_on_error=False)
    def preload_model(self) -> None:
        """Load the model's weights in the background when every vector came from the cache.

        Clusters are on screen without them; the first search would otherwise wait for them.
        """
        embedder = self.session.embedder if self.session is not None else None
        if embedder is None or getattr(embedder, "loaded", True):
            return
        try:
            embedder.load()
        except QtuiError as exc:
            self.call_from_thread(self.notify, f"Search is unavailable: {exc}", severity="error")
            return
        self.call_from_thread(self._set_status)

    def _install(self, analysis: "Analysis", xy: np.ndarray) -> None:
        """Show ``analysis`` in every pane, keeping the selected text's cluster selected if possible."""
        keep_row = self.query_one("#members", MemberList).current_row if self.analysis is not None else -1
        self.analysis, self.map_xy = analysis, xy
        keep = int(analysis.labels[keep_row]) if keep_row >= 0 else None
        rows = [ClusterRow(c.id, c.name, c.size, c.cohesion, ", ".join(t for t, _ in c.keywords[:8]))
                for c in analysis.clusters]
        table = self.query_one("#clusters", ClusterTable)
        table.show(rows, keep=keep)
        table.border_subtitle = f"sorted by {table.sort_key} (s)"
        embedded = analysis.rows
        self.query_one("#map-view", ClusterMap).set_points(xy[embedded], analysis.labels[embedded])
        self.selected_cluster = None
        self._select_cluster(table.current_cluster, keep_row=keep_row if keep_row >= 0 else None)
        self._set_status()

    def _set_status(self, busy: str = "") -> None:
        a, s = self.analysis, self.session
        if a is None or s is None:
            return
        model = Path(str(s.embedder.name)).name
        where = getattr(s.embedder, "device", "?") if getattr(s.embedder, "loaded", True) else "loading…"
        parts = [f"{len(s.corpus):,} texts", f"{a.n_clusters} clusters ({a.clustering.settings.describe()})",
                 f"{a.metrics.noise_share:.1%} unclustered", f"{model} ({where})"]
        if busy:
            parts.append(busy)
        self.query_one("#status", Static).update(" · ".join(parts))

    # ------------------------------------------------------------------ selection

    def on_cluster_table_cluster_highlighted(self, event: ClusterTable.ClusterHighlighted) -> None:
        self._select_cluster(event.cluster_id)

    def _select_cluster(self, cluster_id: int | None, keep_row: int | None = None) -> None:
        a = self.analysis
        if a is None or cluster_id is None:
            return
        if cluster_id == self.selected_cluster and self.search_mode is None:
            return
        self.selected_cluster = cluster_id
        self.search_mode = None
        info = a.cluster(cluster_id)
        members = a.members(cluster_id)
        lst = self.query_one("#members", MemberList)
        lst.empty_message = "No texts in this cluster."
        lst.set_rows(members, self._text_of, scores=a.scores[members], keep_row=keep_row)
        label = f"#{cluster_id}" if cluster_id >= 0 else ""
        name = info.name if info else ""
        self.query_one("#middle").border_title = fit(f"Members of {label} {name}".replace("  ", " "), 60)
        self.query_one("#middle").border_subtitle = f"{len(members):,} · closest to the centre first" \
            if cluster_id >= 0 else f"{len(members):,}"
        self.query_one("#keywords-view", KeywordsView).show(f"Keywords of {label} {fit(name, 40)}".strip(),
                                                            info.keywords if info else [])
        self.query_one("#metrics-view", MetricsView).show(a, cluster_id)
        self.query_one("#map-view", ClusterMap).select(cluster_id)

    def _text_of(self, row: int) -> str:
        return self.session.corpus.texts[row] if self.session is not None else ""

    def on_member_list_highlighted(self, event: MemberList.Highlighted) -> None:
        detail = self.query_one("#detail-view", DetailView)
        if event.row < 0 or self.session is None or self.analysis is None:
            detail.clear()
            return
        corpus, a = self.session.corpus, self.analysis
        row = event.row
        cid = int(a.labels[row])
        fields = [("id", corpus.ids[row]), ("line", str(int(corpus.lines[row]))),
                  ("cluster", f"#{cid} {a.cluster(cid).name}" if cid >= 0 else (a.cluster(cid).name if a.cluster(cid) else "")),
                  ("score", "–" if np.isnan(a.scores[row]) else f"{a.scores[row]:.3f} (cosine to the centre)")]
        for col in corpus.extra_columns:
            value = corpus.frame.get_column(col)[row]
            fields.append((col, "" if value is None else str(value)))
        detail.show(corpus.texts[row], fields)
        self.find_neighbours(row)

    @work(thread=True, exclusive=True, group="neighbours", exit_on_error=False)
    def find_neighbours(self, row: int) -> None:
        session, analysis = self.session, self.analysis
        if session is None or analysis is None:
            return
        rows, scores = session.similar_to_row(row, NEIGHBOURS)
        items = [(float(s), int(analysis.labels[r]), session.corpus.texts[r]) for r, s in zip(rows, scores)]
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._show_neighbours, row, items)

    def _show_neighbours(self, row: int, items: list) -> None:
        if row == self.query_one("#members", MemberList).current_row:
            self.query_one("#detail-view", DetailView).show_neighbours(items)
            self.neighbours_shown_for = row

    # ------------------------------------------------------------------ search

    def on_query_bar_query(self, event: QueryBar.Query) -> None:
        if not event.query:
            self._pending_query = None
            if self.search_mode is not None:
                cid, self.selected_cluster = self.selected_cluster, None
                self._select_cluster(cid)
            return
        if self._query_running:
            self._pending_query = event.query  # latest wins: run when the current search is done
        else:
            self._start_search(event.query)

    def _start_search(self, query: str) -> None:
        self._query_running = True
        self._pending_query = None
        self.search(query, next(self._query_seq))

    @work(thread=True, group="query", exit_on_error=False)
    def search(self, query: str, seq: int) -> None:
        """Embed ``query`` with the model's query prompt and show the nearest texts."""
        session = self.session
        try:
            if session is None:
                return
            rows, scores = session.search_text(query, SEARCH_RESULTS)
            self.call_from_thread(self._search_done, query, seq, rows, scores)
        except Exception as exc:
            self.call_from_thread(self._search_done, query, seq, None, None)
            self.call_from_thread(self.notify, f"Search failed: {exc}", severity="error")

    def _search_done(self, query: str, seq: int, rows, scores) -> None:
        self._query_running = False
        pending = self._pending_query
        current = self.query_one("#query", QueryBar).value.strip()
        if rows is not None and current:
            self._show_results(f"Texts like “{fit(query, 40)}”", rows, scores)
            self.last_query_shown = (seq, query)
        if pending and pending != query:
            self._start_search(pending)

    def _show_results(self, title: str, rows: np.ndarray, scores: np.ndarray) -> None:
        if self.analysis is None:
            return
        self.search_mode = title
        lst = self.query_one("#members", MemberList)
        lst.empty_message = "No similar texts."
        lst.set_rows(rows, self._text_of, scores=scores, clusters=self.analysis.labels[rows])
        self.query_one("#middle").border_title = title
        self.query_one("#middle").border_subtitle = f"{len(rows):,} most similar · Esc returns to the cluster"

    def action_more_like_this(self) -> None:
        """Show the texts most similar to the selected member."""
        session = self.session
        row = self.query_one("#members", MemberList).current_row
        if session is None or row < 0:
            return
        rows, scores = session.similar_to_row(row, SEARCH_RESULTS)
        self._show_results(f"Texts like “{fit(session.corpus.texts[row], 40)}”", rows, scores)
        self.query_one("#members", MemberList).focus()

    # ------------------------------------------------------------------ actions

    def action_cycle_pane(self, step: int) -> None:
        """Tab / Shift+Tab: clusters → members → the open tab on the right → search bar → clusters."""
        if not isinstance(self.screen, Screen) or self.screen is not self.screen_stack[0]:
            self.screen.focus_next() if step > 0 else self.screen.focus_previous()
            return
        if self.session is None:
            return
        panes = ["clusters", "members", "right", "query"]
        focused = self.focused
        current = 0
        if focused is not None:
            for i, pane in enumerate(panes):
                if any(node.id == pane for node in focused.ancestors_with_self):
                    current = i
                    break
        target = panes[(current + step) % len(panes)]
        if target == "right":
            self.action_show_tab(self.query_one("#right", TabbedContent).active or "detail")
        elif target == "query":
            self.action_focus_query()
        else:
            self.query_one(f"#{target}").focus()

    def action_focus_query(self) -> None:
        query = self.query_one("#query", QueryBar)
        if not query.disabled:
            query.focus()

    def action_focus_members(self) -> None:
        self.query_one("#members", MemberList).focus()

    def action_focus_clusters(self) -> None:
        self.query_one("#clusters", ClusterTable).focus()

    def action_show_tab(self, tab: str) -> None:
        """Open a tab on the right (in a narrow terminal it takes the members pane's place) and focus it."""
        if tab not in TABS:
            return
        self.query_one("#right", TabbedContent).active = tab
        self.screen.add_class("-info")
        views = {"detail": "#detail-view", "keywords": "#keywords-view", "metrics": "#metrics-view",
                 "map": "#map-view"}
        self.call_after_refresh(self.query_one(views[tab]).focus)

    def action_sort_clusters(self) -> None:
        self.query_one("#clusters", ClusterTable).action_cycle_sort()

    def action_escape(self) -> None:
        """Cancel the opening of a file, leave search results, or go back to the clusters."""
        if self.session is None:
            self.cancel_token.cancel()
            return
        if self.search_mode is not None:
            self.query_one("#query", QueryBar).action_clear_query()
            return
        self.screen.remove_class("-info")
        self.action_focus_clusters()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.binding_groups()))

    def binding_groups(self) -> list[tuple[str, list[Binding]]]:
        """Every binding the app has, by where it applies (the help screen shows these)."""
        return [
            ("Anywhere", [*self.BINDINGS, Binding("tab", "", "Next pane"), Binding("shift+tab", "", "Previous pane"),
                          Binding("ctrl+p", "", "Command palette (every action)")]),
            ("Clusters pane", [Binding("up,k", "", "Previous cluster"), Binding("down,j", "", "Next cluster"),
                               *ClusterTable.BINDINGS]),
            ("Members / results pane", MemberList.BINDINGS),
            ("Search bar", [Binding("enter", "", "Show results"), *QueryBar.BINDINGS]),
        ]

    def action_recluster(self) -> None:
        if self.session is None or self.analysis is None:
            return

        def chosen(settings: ClusterSettings | None) -> None:
            if settings is not None:
                self.settings = settings
                self.recluster(settings)

        self.push_screen(ReclusterScreen(self.analysis.clustering.settings), chosen)

    @work(thread=True, exclusive=True, group="cluster", exit_on_error=False)
    def recluster(self, settings: ClusterSettings) -> None:
        """Cluster again in the background; the current clusters stay usable meanwhile."""
        session = self.session
        if session is None:
            return
        worker = get_current_worker()

        def report(p: Progress) -> None:
            if not worker.is_cancelled:
                self.call_from_thread(self._show_progress, p)

        try:
            analysis, xy = self._cluster_and_map(session, settings, report)
        except Cancelled:
            return
        except QtuiError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        if not worker.is_cancelled:
            self.call_from_thread(self._reclustered, analysis, xy)

    def _reclustered(self, analysis: "Analysis", xy: np.ndarray) -> None:
        self._install(analysis, xy)
        self.notify(f"{analysis.n_clusters} clusters ({analysis.clustering.settings.describe()})", timeout=4)

    def action_export(self) -> None:
        if self.analysis is None:
            return
        default = self.path.with_name(f"{self.path.name.split('.')[0]}.clusters.csv")

        def chosen(value: str | None) -> None:
            if value:
                self.export(Path(value).expanduser())

        self.push_screen(PromptScreen("Export to (.csv, .tsv, .jsonl or .parquet)", str(default)), chosen)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export(self, path: Path) -> None:
        from engine.export import export_analysis

        analysis = self.analysis
        if analysis is None:
            return
        try:
            written = export_analysis(analysis, path)
        except QtuiError as exc:
            self.call_from_thread(self.push_screen, MessageScreen("Export failed", str(exc)))
            return
        self.call_from_thread(self.notify, f"Exported {len(analysis.labels):,} rows to {show_path(written)}")

    # ------------------------------------------------------------------ command palette

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        commands = [
            ("Search", "Find texts like a phrase (/)", self.action_focus_query),
            ("Re-cluster", "Switch auto / HDBSCAN / KMeans, change k or min cluster size (c)", self.action_recluster),
            ("Export", "Write every row with its cluster to a file (e)", self.action_export),
            ("Sort clusters", "Cycle the sort: size, cohesion, name (s)", self.action_sort_clusters),
            ("More like this", "Texts most similar to the selected member (m)", self.action_more_like_this),
            ("Help", "List every key binding (?)", self.action_help),
            ("Go to clusters", "Focus the clusters pane", self.action_focus_clusters),
            ("Go to members", "Focus the members pane", self.action_focus_members),
        ]
        commands += [(f"Show {tab}", f"Open the {tab} tab ({i})", partial(self.action_show_tab, tab))
                     for i, tab in enumerate(TABS, start=1)]
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)
