"""Opening a file: read and embed it, resume or start its review, show the board, lay out the map.

A mixin of :class:`tui.app.QtuiApp`.  Every step that touches the model or the data runs in a thread
worker that reports progress to the loading panel; the engine is imported inside those workers.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import numpy as np
from textual import work
from textual.widgets import ContentSwitcher, TabbedContent
from textual.worker import get_current_worker

from engine.clustering import ClusterSettings
from engine.errors import QtuiError
from engine.progress import Cancelled, Progress
from tui.navigation import TABS
from tui.screens.choice_screen import ChoiceScreen
from tui.screens.message_screen import MessageScreen
from tui.widgets.cluster_map import ClusterMap
from tui.widgets.cluster_table import ClusterTable
from tui.widgets.progress_panel import ProgressPanel, describe
from tui.widgets.query_bar import QueryBar

if TYPE_CHECKING:
    from engine.session import Session
    from tui.board import Board


def freeze_heap() -> None:
    """Keep everything alive now (texts, the model, jieba's dictionary, the clustering) out of Python's
    cyclic collector.  Without it a full collection walks the whole heap while the person types: 300 ms
    pauses at 100k rows, 40 ms after.  Objects freed by reference count are still freed; no collection
    first, as that would add ~0.25 s to the opening.  Called again when the background work of the
    opening is done: the modules the map layout and the model bring in (scikit-learn, onnxruntime:
    ~130k objects) made each full collection 115-180 ms.
    """
    gc.freeze()


class OpeningActions:
    """From a path to a board on screen (mixed into the app)."""

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def open_file(self) -> None:
        """Load and embed in a thread; then offer to resume a saved review, or cluster afresh."""
        report = self._worker_progress()
        try:
            from engine.review_store import ReviewCorrupt, find_review
            from engine.session import Session, SessionOptions

            session = Session.open(self.path, self.options or SessionOptions(), progress=report,
                                   cancel=self.cancel_token, embedder=self.embedder)
            problem = None
            try:
                info = find_review(session.corpus)
            except ReviewCorrupt as exc:
                info, problem = None, str(exc)
        except Exception as exc:  # Cancelled, bad input, or a bug: say so and keep the app alive
            self.call_from_thread(self._opening_failed, *self._failure(exc))
            return
        self.call_from_thread(self._loaded, session, info, problem)

    def _worker_progress(self):
        """A progress callback for the current worker that updates the progress panel until it is cancelled."""
        worker = get_current_worker()

        def report(p: Progress) -> None:
            if not worker.is_cancelled:
                self.call_from_thread(self._show_progress, p)

        return report

    @staticmethod
    def _failure(exc: Exception) -> tuple[str, str | None]:
        """(title, message) for an opening that stopped: cancelled, bad input, or a bug (traceback logged)."""
        if isinstance(exc, Cancelled):
            return "Cancelled.", None
        if isinstance(exc, QtuiError):
            return "Could not open the file", str(exc)
        from tui.cli import write_crash_log

        return "Internal error", f"{type(exc).__name__}: {exc}\n(traceback in {write_crash_log()})"

    def _loaded(self, session: "Session", info, problem: str | None) -> None:
        self.session = session
        if problem:
            self.push_screen(MessageScreen("The saved review is damaged", problem))
        if info is None:
            self.start_review(False)
            return
        self.push_screen(ChoiceScreen("Resume your review?", f"A saved review of this file: {info.describe()}.",
                                      [("resume", "Resume where I left off"), ("new", "Start a new review")],
                                      cancel="resume"),
                         lambda answer: self.start_review(answer != "new"))

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def start_review(self, resume: bool) -> None:
        """Resume the saved review (no clustering needed) or cluster and start a new one."""
        from engine.review import ReviewState
        from engine.review_store import ReviewCorrupt, ReviewStore
        from engine.review_view import restore_analysis

        session = self.session
        report = self._worker_progress()
        try:
            store = ReviewStore.for_corpus(session.corpus)
            writable = store.acquire()
            state = None
            if resume:
                try:
                    saved = store.load(session.corpus)
                    state, self.settings = saved.state, saved.context.cluster_settings()
                    analysis = restore_analysis(session, state.base_labels, state.base_confidence, self.settings)
                except ReviewCorrupt as exc:
                    self.call_from_thread(self._review_problem, "The saved review is damaged", exc)
                    state = None
            if state is None:
                analysis = session.cluster(self.settings, progress=report, cancel=self.cancel_token)
                state = ReviewState.from_analysis(analysis)
                if writable:
                    store.start(state, self._review_context(analysis))
            store.attach(state)
            board = self._make_board(analysis, state)
        except Exception as exc:  # Cancelled, bad input, or a bug: say so and keep the app alive
            self.call_from_thread(self._opening_failed, *self._failure(exc))
            return
        freeze_heap()
        self.call_from_thread(self._opened, board, None, store)  # the map is laid out after: see lay_out_map

    def _review_context(self, analysis):
        from engine.options import ModelOptions
        from engine.review_store import ReviewContext

        session = self.session
        model = self.options.model if self.options is not None else ModelOptions()
        return ReviewContext.of(session.corpus, analysis.clustering.settings, model, session.embedder.identity)

    def _make_board(self, analysis, state) -> "Board":
        from engine.review_view import base_view, review_view
        from tui.board import Board

        if np.array_equal(state.labels, analysis.labels):  # nothing relabeled yet: no term counts needed
            return Board(analysis, state, base_view(analysis))
        terms, vocabulary = self.session.document_terms()
        return Board(analysis, state, review_view(state, self.session.rows, self.session.vectors, terms, vocabulary))

    def _cluster_and_map(self, session: "Session", settings: ClusterSettings, report):
        analysis = session.cluster(settings, progress=report, cancel=self.cancel_token)
        return self._explain_map(session, analysis, report)

    def _explain_map(self, session: "Session", analysis, report):
        from engine.projection import map_layout

        report(Progress("map", 0, 1))
        xy = map_layout(analysis.vectors, analysis.clustering.labels, analysis.centres,
                        seed=analysis.clustering.settings.seed, cancel=self.cancel_token)
        full = np.full((len(analysis.labels), 2), np.nan, dtype=np.float32)
        full[analysis.rows] = xy
        return analysis, full

    @work(thread=True, exclusive=True, group="map", exit_on_error=False)
    def lay_out_map(self, analysis) -> None:
        """Lay out the map of the first clustering once its clusters are on screen (~3 s at 100k rows,
        which the opening no longer waits for); a re-clustering lays out its own map meanwhile."""
        session = self.session
        try:
            _, xy = self._explain_map(session, analysis, lambda progress: None)
        except Exception as exc:  # the map is an extra: say so, keep the review going
            self.call_from_thread(self.notify, f"The map could not be laid out: {exc}", severity="warning")
            return
        freeze_heap()
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._map_ready, xy)

    def _map_ready(self, xy: np.ndarray) -> None:
        if self.map_xy is None:  # else a re-clustering brought its own map first
            self.map_xy = xy
            self._show_map()

    def _show_map(self) -> None:
        board, view = self.board, self.query_one("#map-view", ClusterMap)
        if board is None or self.map_xy is None:
            view.message = "Laying out the map…"
            view.set_points(None, None)
            return
        rows = board.analysis.rows
        view.set_points(self.map_xy[rows], board.labels[rows])

    def _show_progress(self, p: Progress) -> None:
        if self.board is None:
            self.query_one("#loading", ProgressPanel).update_progress(p)
        else:
            self._set_status_line(describe(p))

    def _opening_failed(self, title: str, message: str | None) -> None:
        panel = self.query_one("#loading", ProgressPanel)
        panel.set_message(title if message is None else f"{title}: {message}", "q quits")
        if message is not None:
            self.push_screen(MessageScreen(title, message))

    def _opened(self, board: "Board", xy: np.ndarray, store) -> None:
        session = self.session
        self.store = store
        self.query_one("#body", ContentSwitcher).current = "main"
        self.query_one("#query", QueryBar).disabled = False
        ui = dict(board.state.ui)
        if ui.get("sort") in ("size", "cohesion", "name"):
            self.query_one("#clusters", ClusterTable).sort_key = ui["sort"]
        self._install(board, xy, keep_cluster=ui.get("cluster"), keep_row=ui.get("row"))
        if ui.get("tab") in TABS:
            self.query_one("#right", TabbedContent).active = ui["tab"]
        self.query_one("#clusters", ClusterTable).focus()
        self.call_after_refresh(self._after_first_paint, board.analysis)
        if store.read_only_reason:
            self.notify(store.read_only_reason, severity="warning", timeout=12)
        for note in session.corpus.notices:
            self.notify(note, timeout=6)
        if session.language_warning:
            self.notify(session.language_warning, title="Model and language", severity="warning", timeout=15)
        if len(session.truncated_rows):
            self.notify(f"{len(session.truncated_rows):,} texts are longer than the model's limit and were "
                        f"embedded from their beginning only", severity="warning", timeout=8)
        if session.corpus.skipped:
            first = session.corpus.skipped[0]
            self.notify(f"{len(session.corpus.skipped):,} malformed records skipped; first: line {first.line}: "
                        f"{first.reason}", severity="warning", timeout=10)

    def _after_first_paint(self, analysis) -> None:
        """Start the opening's background work once the clusters are painted: the map's layout and the
        model's weights import scikit-learn and onnxruntime or torch, which hold the interpreter for a
        second or more and, started earlier, delayed that paint (by 0.1-0.2 s at 100k rows)."""
        self.lay_out_map(analysis)
        self.preload_model()

    @work(thread=True, exclusive=True, group="model", exit_on_error=False)
    def preload_model(self) -> None:
        """Load the model's weights in the background when every vector came from the cache."""
        embedder = self.session.embedder if self.session is not None else None
        if embedder is None or getattr(embedder, "loaded", True):
            return
        try:
            embedder.load()
        except QtuiError as exc:
            self.call_from_thread(self.notify, f"Search is unavailable: {exc}", severity="error")
            return
        freeze_heap()
        self.call_from_thread(self._set_status_line)
