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

from engine.errors import QtuiError
from engine.progress import Cancelled, Progress
from engine.review_store import ReviewCorrupt
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
    cyclic collector.  Without it a full collection walks the whole heap while the person types (pauses
    the person feels at 100k rows); objects freed by reference count are still freed, and no collection
    runs first, as that would lengthen the opening.  Called again when the background work of the
    opening is done: the modules the map layout and the model bring in (scikit-learn, onnxruntime)
    would make each full collection long again.
    """
    gc.freeze()


class OpeningActions:
    """From a path to a board on screen (mixed into the app)."""

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def open_file(self) -> None:
        """Load and embed in a thread; then find a saved review to offer."""
        report = self._worker_progress()
        try:
            from engine.review_session import ReviewSession
            from engine.session import Session, SessionOptions

            session = Session.open(self.path, self.options or SessionOptions(), progress=report,
                                   cancel=self.cancel_token, embedder=self.embedder)
            problem = None
            try:
                found = ReviewSession.find(session, self.review_id)
            except ReviewCorrupt as exc:
                found, problem = None, str(exc)
        except Exception as exc:  # Cancelled, bad input, or a bug: say so and keep the app alive
            self.call_from_thread(self._opening_failed, *self._failure(exc))
            return
        self.call_from_thread(self._loaded, session, found, problem)

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
        from tui.crash import write_crash_log

        return "Internal error", f"{type(exc).__name__}: {exc}\n(traceback in {write_crash_log()})"

    def _loaded(self, session: "Session", found, problem: str | None) -> None:
        """Offer the saved review: resume (or carry it over to the changed file), or set it aside and start
        a new one after a confirmation.  A review nobody worked on is resumed without asking."""
        self.session = session
        if problem:
            self.push_screen(MessageScreen("The saved review is damaged", problem))
        if found is None or (found.problem is not None and not found.same_content):
            if found is not None:
                self.notify(f"An earlier review of this file cannot be carried over: {found.problem}",
                            severity="warning", timeout=12)
            self.start_review(None)
            return
        if not found.has_decisions() and found.same_content and self.review_id is None:
            self.start_review(None if self.settings_given else found)
            return
        resume = "Resume where I left off" if found.same_content else "Carry it over to the file as it is now"
        self.push_screen(ChoiceScreen("Resume your review?", found.describe(),
                                      [("resume", resume), ("new", "Start a new review…")], cancel="resume"),
                         lambda answer: self._resume_or_confirm_new(found, answer))

    def _resume_or_confirm_new(self, found, answer: str) -> None:
        if answer != "new":
            self.start_review(found)
            return
        info = found.found.info
        message = (f"The saved review ({info.describe()}) will be set aside, not deleted: 'qtui reviews "
                   f"{self.path}' lists it as {info.review_id}, and 'qtui open --review {info.review_id}' or the "
                   f"command palette's 'Earlier reviews' opens it again.")
        self.push_screen(ChoiceScreen("Start a new review?", message,
                                      [("back", "Go back"), ("new", "Set it aside and start a new review")],
                                      cancel="back"),
                         lambda sure: self.start_review(None) if sure == "new" else self._loaded(self.session, found,
                                                                                                   None))

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def start_review(self, found) -> None:
        """Resume (or carry over) the saved review ``found``, or cluster and start a new one."""
        from engine.review_session import ReviewSession

        session = self.session
        report = self._worker_progress()
        model = self.options.model if self.options is not None else None
        try:
            review = None
            if found is not None:
                try:
                    review = ReviewSession.resume(session, found, model)
                except ReviewCorrupt as exc:
                    self.call_from_thread(self._review_problem, "The saved review is damaged", exc)
            if review is None:
                review = ReviewSession.start(session, self.settings, model, progress=report,
                                             cancel=self.cancel_token)
            board = self._make_board(review)
        except Exception as exc:  # Cancelled, bad input, or a bug: say so and keep the app alive
            self.call_from_thread(self._opening_failed, *self._failure(exc))
            return
        freeze_heap()
        self.call_from_thread(self._opened, board, review)  # the map is laid out after: see lay_out_map

    @staticmethod
    def _make_board(review) -> "Board":
        from tui.board import Board

        return Board(review.analysis, review.state, review.view())

    def _layout_map(self, analysis, report) -> np.ndarray:
        """Map positions of every corpus row (NaN for empty texts) for ``analysis``'s clustering."""
        from engine.projection import map_layout

        report(Progress("map", 0, 1))
        xy = map_layout(analysis.vectors, analysis.clustering.labels, analysis.centres,
                        seed=analysis.clustering.settings.seed, cancel=self.cancel_token)
        full = np.full((len(analysis.labels), 2), np.nan, dtype=np.float32)
        full[analysis.rows] = xy
        return full

    @work(thread=True, exclusive=True, group="map", exit_on_error=False)
    def lay_out_map(self, analysis) -> None:
        """Lay out the map of ``analysis``'s clustering in the background, once the clusters are on screen
        (the opening does not wait for it); a re-clustering lays out its own meanwhile."""
        try:
            xy = self._layout_map(analysis, lambda progress: None)
        except Exception as exc:  # the map is an extra: say so, keep the review going
            self.call_from_thread(self.notify, f"The map could not be laid out: {exc}", severity="warning")
            return
        freeze_heap()
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._map_ready, analysis, xy)

    def _map_ready(self, analysis, xy: np.ndarray) -> None:
        self._maps[id(analysis)] = xy
        if self.board is not None and self.board.analysis is analysis:
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
        """Say why the file could not be opened; quitting then exits with status 2 and the same line (a
        cancelled opening is no error)."""
        if message is not None:
            self.open_error = f"{title}: {message}"
        panel = self.query_one("#loading", ProgressPanel)
        panel.set_message(title if message is None else f"{title}: {message}", "q quits")
        if message is not None:
            self.push_screen(MessageScreen(title, message))

    def _opened(self, board: "Board", review) -> None:
        session = self.session
        self.review = review
        self.query_one("#body", ContentSwitcher).current = "main"
        self.query_one("#query", QueryBar).disabled = False
        ui = dict(board.state.ui)
        if ui.get("sort") in ("size", "cohesion", "name"):
            self.query_one("#clusters", ClusterTable).sort_key = ui["sort"]
        self._install(board, None, keep_cluster=ui.get("cluster"), keep_row=ui.get("row"))
        if ui.get("tab") in TABS:
            self.query_one("#right", TabbedContent).active = ui["tab"]
        self.query_one("#clusters", ClusterTable).focus()
        self.call_after_refresh(self._after_first_paint, board.analysis)
        if review.read_only_reason:
            self.notify(review.read_only_reason, severity="warning", timeout=12)
        if review.notices:
            self.push_screen(MessageScreen("Your review", "\n".join(review.notices), error=False))
        if review.save_status.unsaved:
            self.notify(review.save_status.last_error or "", severity="error", timeout=12)
        for note in session.corpus.notices:
            self.notify(note, timeout=6)
        if session.model_choice:
            self.notify(session.model_choice.line, title="Model", timeout=8)
        if session.language_warning:
            self.notify(session.language_warning, title="Model and language", severity="warning", timeout=15)
        if len(session.truncated_rows):
            self.notify(f"{len(session.truncated_rows):,} texts are longer than the model's limit and were "
                        f"embedded from their beginning only", severity="warning", timeout=8)
        if session.corpus.skipped:
            first = session.corpus.skipped[0]
            self.notify(f"{len(session.corpus.skipped):,} malformed records skipped; first: line {first.line}: "
                        f"{first.reason}", severity="warning", timeout=10)
        if self.settings_given and self.settings != review.settings:
            self._offer_asked_settings(review)

    def _offer_asked_settings(self, review) -> None:
        """The command line asked for other clustering options than the resumed review's: offer them."""
        asked, have = self.settings, review.settings

        def chosen(answer: str) -> None:
            if answer == "recluster":
                self.recluster(asked)
            else:
                self.notify(f"Kept the review's clustering ({have.describe()}).", timeout=4)

        self.push_screen(ChoiceScreen("Other clustering options", f"You asked for {asked.describe()}; the saved "
                                      f"review uses {have.describe()}. Re-cluster with {asked.describe()}, carrying "
                                      f"the review over (ctrl+z undoes it)?",
                                      [("recluster", f"Re-cluster with {asked.describe()}"),
                                       ("keep", "Keep the review's clustering")], cancel="keep"), chosen)

    def _after_first_paint(self, analysis) -> None:
        """Start the opening's background work once the clusters are painted: the map's layout and the
        model's weights import scikit-learn and onnxruntime or torch, which hold the interpreter for a
        second or more and, started earlier, delayed that paint."""
        self._map_started = True
        if id(analysis) not in self._maps:
            self.lay_out_map(analysis)
        self.preload_model()

    @work(thread=True, exclusive=True, group="model", exit_on_error=False)
    def preload_model(self) -> None:
        """Load the model's weights in the background when every vector came from the cache."""
        embedder = self.session.embedder if self.session is not None else None
        if embedder is None or embedder.loaded:
            return
        try:
            embedder.load()
        except QtuiError as exc:
            self.call_from_thread(self.notify, f"Search is unavailable: {exc}", severity="error")
            return
        freeze_heap()
        self.call_from_thread(self._set_status_line)
