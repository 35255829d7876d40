"""The qtui app: opens one file and its review, shows them on the board, and quits without losing a change.

The window appears at once; reading, embedding and clustering run in thread workers that post their
progress and results as messages, so no keystroke waits on the model.  The engine is imported inside
those workers, never at start-up.  What is on screen is the board's business
(:mod:`tui.screens.board_screen`); the app owns the lifecycle: opening, switching reviews, quitting.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from engine.clustering import ClusterSettings
from engine.errors import QtuiError, show_path
from engine.progress import Cancelled, CancelToken
from engine.review_store import ReviewCorrupt
from tui.actions import bindings, help_groups, palette
from tui.heap import freeze_heap
from tui.messages import ProgressReport, ReviewOpened, StatusChanged
from tui.screens.board_screen import BoardScreen
from tui.screens.choice_screen import ChoiceScreen
from tui.screens.help_screen import HelpScreen, key_label
from tui.screens.message_screen import MessageScreen
from tui.screens.opening_dialogs import confirm_new_review, offer_settings, opening_notes, resume_question

if TYPE_CHECKING:
    from engine.review_session import ReviewSession
    from engine.session import Session, SessionOptions
    from tui.board import Board


class QtuiApp(App):
    """Explore and review the clusters of one text file."""

    CSS_PATH = "qtui.tcss"
    TITLE = "qtui"
    BINDINGS = bindings("anywhere")

    class Loaded(Message):
        """The file is read and embedded; ``found`` is its saved review, if any."""

        def __init__(self, session: "Session", found, problem: str | None) -> None:
            super().__init__()
            self.session, self.found, self.problem = session, found, problem

    class OpenFailed(Message):
        def __init__(self, title: str, text: str | None) -> None:
            super().__init__()
            self.title, self.text = title, text

    def __init__(self, path: Path, options: "SessionOptions | None" = None,
                 settings: ClusterSettings | None = None, embedder=None, review_id: str | None = None,
                 settings_given: bool = False, where: str | None = None) -> None:
        """``embedder`` reuses an already loaded model (tests, or a second file in one process);
        ``review_id`` opens that saved review; ``settings_given``: the person asked for ``settings``;
        ``where``: show only the rows this SQL condition over the columns selects."""
        super().__init__()
        self.path = Path(path)
        self.embedder = embedder
        self.options = options
        self.settings = settings or ClusterSettings()
        self.settings_given = settings_given
        self.review_id = review_id
        self.where = where
        #: Why the file could not be opened (the app then exits with status 2), else None.
        self.open_error: str | None = None
        self._session: Session | None = None  # the file's, until a review is open (then the review's)
        self.cancel_token = CancelToken()
        self.board_screen: BoardScreen | None = None  # made when the app starts
        self.sub_title = show_path(self.path)

    def get_default_screen(self) -> BoardScreen:
        self.board_screen = BoardScreen(show_path(self.path))
        return self.board_screen

    @property
    def board(self) -> "Board | None":
        """The clusters on screen as reviewed so far (None until the first clustering is shown)."""
        return self.board_screen.board if self.board_screen is not None else None

    @property
    def review(self) -> "ReviewSession | None":
        return self.board_screen.review if self.board_screen is not None else None

    @property
    def session(self) -> "Session | None":
        """The file read and embedded (the review's, which a refinement moves onto the full vectors)."""
        return self.review.session if self.review is not None else self._session

    @property
    def analysis(self):
        """The base clustering on screen (None until the first one is ready)."""
        return self.board.analysis if self.board is not None else None

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Notifications never interpret markup: their text often comes from the input file."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def on_ready(self) -> None:
        """The first frame is on screen: start reading the file.  (Started earlier, the worker's imports of
        torch and scikit-learn hold the interpreter for seconds and delay that first frame.)"""
        self.open_file()

    # ------------------------------------------------------------------ opening

    def _report(self, p) -> None:
        self.board_screen.post_message(ProgressReport(p))

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def open_file(self) -> None:
        """Load and embed in a thread; then find a saved review to offer."""
        try:
            from engine.review_session import ReviewSession
            from engine.session import Session, SessionOptions

            session = Session.open(self.path, self.options or SessionOptions(), progress=self._report,
                                   cancel=self.cancel_token, embedder=self.embedder)
            problem = None
            try:
                found = ReviewSession.find(session, self.review_id)
            except ReviewCorrupt as exc:
                found, problem = None, str(exc)
        except Exception as exc:  # Cancelled, bad input, or a bug: say so and keep the app alive
            self.post_message(self.OpenFailed(*_failure(exc)))
            return
        self.post_message(self.Loaded(session, found, problem))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        """Offer the saved review: resume (or carry it over to the changed file), or set it aside and start
        a new one after a confirmation.  A review nobody worked on is resumed without asking."""
        self._session, found = event.session, event.found
        if event.problem:
            self.push_screen(MessageScreen("The saved review is damaged", event.problem))
        if found is None or (found.problem is not None and not found.same_content):
            if found is not None:
                self.notify(f"An earlier review of this file cannot be carried over: {found.problem}",
                            severity="warning", timeout=12)
            self.start_review(None)
        elif not found.has_decisions() and found.same_content and self.review_id is None:
            self.start_review(None if self.settings_given else found)
        else:
            self.push_screen(resume_question(found), partial(self._resume_or_confirm_new, found))

    def _resume_or_confirm_new(self, found, answer: str) -> None:
        if answer != "new":
            self.start_review(found)
            return
        self.push_screen(confirm_new_review(found, self.path),
                         lambda sure: self.start_review(None) if sure == "new" else
                         self._loaded(self.Loaded(self.session, found, None)))

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def start_review(self, found) -> None:
        """Resume (or carry over) the saved review ``found``, or cluster and start a new one."""
        from engine.review_session import ReviewSession
        from tui.level_board import make_board
        from tui.zoom import opening_level

        session = self.session
        model = self.options.model if self.options is not None else None
        try:
            review = None
            if found is not None:
                try:
                    review = ReviewSession.resume(session, found, model)
                except ReviewCorrupt as exc:
                    self.post_message(self.OpenFailed("The saved review is damaged", str(exc)))
            if review is None:
                review = ReviewSession.start(session, self.settings, model, progress=self._report,
                                             cancel=self.cancel_token)
            clusters = self.options.clusters if self.options is not None else None
            board = make_board(review, opening_level(review, clusters))
        except Exception as exc:  # Cancelled, bad input, or a bug: say so and keep the app alive
            self.post_message(self.OpenFailed(*_failure(exc)))
            return
        freeze_heap()
        self.post_message(ReviewOpened(board, review))

    @on(OpenFailed)
    def _open_failed(self, event: OpenFailed) -> None:
        """Say why the file could not be opened; quitting then exits with status 2 and the same line (a
        cancelled opening is no error).  A damaged review, with the file open, is only said."""
        if event.text is not None:
            self.push_screen(MessageScreen(event.title, event.text))
        if self.board is not None or event.title == "The saved review is damaged":
            return
        if event.text is not None:
            self.open_error = f"{event.title}: {event.text}"
        self.board_screen.show_failure(event.title if event.text is None else f"{event.title}: {event.text}")

    @on(ReviewOpened)
    def _opened(self, event: ReviewOpened) -> None:
        review, session = event.review, event.review.session
        self.board_screen.show_review(event.board, review)
        if self.where:  # asked for on the command line: applied once, when the first review opens
            where, self.where = self.where, None
            self.board_screen.filtering.filter_by(where)
        if review.read_only_reason:
            self.notify(review.read_only_reason, severity="warning", timeout=12)
        if review.notices:
            self.push_screen(MessageScreen("Your review", "\n".join(review.notices), error=False))
        if review.save_status.unsaved:
            self.notify(review.save_status.last_error or "", severity="error", timeout=12)
        for note in opening_notes(session):
            self.notify(note.text, title=note.title, severity=note.severity, timeout=note.timeout)
        if self.settings_given and session.settings_for(self.settings) != review.settings:
            self.push_screen(offer_settings(self.settings, review.settings),
                             lambda answer: self.board_screen.commands.action_recluster(self.settings)
                             if answer == "recluster" else
                             self.notify(f"Kept the review's clustering ({review.settings.describe()}).", timeout=4))

    @work(thread=True, exclusive=True, group="model", exit_on_error=False)
    def preload_model(self) -> None:
        """Load the model's weights in the background when every vector came from the cache."""
        embedder = self.session.embedder if self.session is not None else None
        if embedder is None or embedder.loaded:
            return
        try:
            embedder.load()
        except QtuiError as exc:
            self.notify(f"Search is unavailable: {exc}", severity="error")
            return
        freeze_heap()
        self.board_screen.post_message(StatusChanged())

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def open_review(self, review_id: str) -> None:
        """Save and close the review on screen, then open the saved review ``review_id``."""
        from engine.review_session import ReviewSession
        from tui.level_board import make_board
        from tui.zoom import opening_level

        review = self.review
        review.autosave()
        review.close()
        try:
            found = ReviewSession.find(self.session, review_id)
            chosen = ReviewSession.resume(self.session, found, self.options.model if self.options else None)
        except QtuiError as exc:
            review.store.acquire()  # keep working on the review that was open
            self.post_message(self.OpenFailed("Could not open that review", str(exc)))
            return
        self.post_message(ReviewOpened(make_board(chosen, opening_level(chosen)), chosen))

    # ------------------------------------------------------------------ quitting

    async def action_quit(self) -> None:
        """Quit after a last save; when changes cannot be saved, ask: export elsewhere, stay, or lose them."""
        self.board_screen.save_selection(wait=True)
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
                self.board_screen.commands.action_export()
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
        if self.board_screen is not None:
            self.board_screen.refinement.stop()
            self.board_screen.seeding.stop()
        if self.review is not None:
            self.review.close()

    # ------------------------------------------------------------------ help and the command palette

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.binding_groups()))

    def binding_groups(self) -> list[tuple[str, list[Binding]]]:
        """Every key the app has, by where it works (the help screen shows these)."""
        groups = help_groups()
        groups[0][1].append(Binding("ctrl+p", "", "Command palette (every action by name)"))
        return groups

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        board = self.board_screen
        for action in palette():
            node = {"anywhere": self, "board": board.commands if action.pane else board, "filter": board.filtering,
                    "labelling": board.labelling, "clusters": board.clusters, "members": board.members}[action.where]
            key = key_label(action.keys.split(",")[0]) if action.keys else ""
            yield SystemCommand(action.palette, f"{action.explain or action.description}" + (f" ({key})" if key else ""),
                                partial(self.run_action, action.action, node))


def _failure(exc: Exception) -> tuple[str, str | None]:
    """(title, message) for an opening that stopped: cancelled, bad input, or a bug (traceback logged)."""
    if isinstance(exc, Cancelled):
        return "Cancelled.", None
    if isinstance(exc, QtuiError):
        return "Could not open the file", str(exc)
    from tui.crash import write_crash_log

    return "Internal error", f"{type(exc).__name__}: {exc}\n(traceback in {write_crash_log()})"
