"""The commands that act on the whole review: undo/redo, re-cluster (the whole file, or the rows of the
filter), merge suggestions, near duplicates, export and earlier reviews, and running every review step the
panes post.

:class:`ReviewCommands` is the container around the panes and the search bar, so its keys work wherever
the focus is on the board; every :class:`ReviewStep` a pane or worker posts bubbles up to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from textual import on, work
from textual.containers import Vertical
from textual.message import Message
from textual.worker import get_current_worker

from engine.clustering import ClusterSettings
from engine.errors import QtuiError, show_path
from engine.progress import Cancelled, Progress
from tui.actions import bindings
from tui.messages import Busy, ProgressReport, ReviewStep
from tui.panes import check_parts, may_change, parts_wanted, run_step
from tui.screens.choice_screen import ChoiceScreen
from tui.screens.duplicates_screen import DuplicatesScreen
from tui.screens.message_screen import MessageScreen
from tui.screens.prompt_screen import PromptScreen
from tui.screens.recluster_screen import ReclusterScreen
from tui.screens.reviews_screen import ReviewsScreen
from tui.screens.suggestions_screen import SuggestionsScreen

if TYPE_CHECKING:
    from engine.review_session import Outcome, ReclusterPlan
    from tui.screens.board_screen import BoardScreen


class ReviewCommands(Vertical):
    """Runs review steps; undo/redo, re-cluster, classify the rest, near duplicates, export, earlier reviews."""

    BINDINGS = bindings("board", pane=True)

    class ReclusterReady(Message):
        def __init__(self, plan: "ReclusterPlan", xy: np.ndarray) -> None:
            super().__init__()
            self.plan, self.xy = plan, xy

    class Failed(Message):
        """A command in a worker failed: say so in a dialog."""

        def __init__(self, title: str, text: str) -> None:
            super().__init__()
            self.title, self.text = title, text

    def __init__(self, board_screen: "BoardScreen") -> None:
        super().__init__(id="desk")
        self.board_screen = board_screen
        self._duplicates = None  # the near-duplicate finder of the vectors on screen, built on first use

    @property
    def review(self):
        return self.board_screen.review

    def ready(self) -> bool:
        """Whether the review on the board takes changes (when it does not, the reason is said)."""
        return self.board_screen.board is not None and may_change(self, self.review)

    @on(ReviewStep)
    def do(self, event: ReviewStep) -> None:
        event.stop()
        self.run_step(event.step)

    def run_step(self, step, quiet: bool = False) -> "Outcome | None":
        """Run a review step, say what it did (``quiet``: only a failure; the caller shows the message), refresh
        the panes; a failed save stays on the status line.  The dialogs that stay open over the board (suspects,
        proposals) call it to update their lists at once."""
        try:
            outcome: Outcome | None = step()
        except QtuiError as exc:
            self.notify(str(exc), severity="error")
            return None
        if outcome is None:
            return None
        status = self.review.save_status
        if status.unsaved:
            self.notify(f"{outcome.message}. Not saved: {status.last_error}", severity="error", timeout=8)
        elif not quiet:
            self.notify(outcome.message, timeout=4)
        self.board_screen.refresh_board(outcome.recompute, select=outcome.cluster)
        return outcome

    # ------------------------------------------------------------------ undo / redo

    def action_undo(self) -> None:
        """Undo the last step (a re-clustering included); the cursor goes to what it changed."""
        self._undo_redo("undo")

    def action_redo(self) -> None:
        self._undo_redo("redo")

    def _undo_redo(self, which: str) -> None:
        if not self.ready():
            return
        review = self.review
        if not (review.can_undo() if which == "undo" else review.can_redo()):
            self.notify(f"Nothing to {which}.", timeout=2)
            return
        self.post_message(ReviewStep(getattr(review, which)))

    # ------------------------------------------------------------------ re-clustering with carry-over

    def action_recluster(self, settings: ClusterSettings | None = None) -> None:
        """Ask for clustering options (``settings`` given: offer those) and cluster again."""
        board = self.board_screen.board
        if board is None:
            return
        if settings is not None:
            self.recluster(settings)
            return
        def chosen(answer: ClusterSettings | int | None) -> None:
            if isinstance(answer, int):
                self.board_screen.zoom.to_clusters(answer)
            elif answer is not None:
                self.recluster(answer)

        self.app.push_screen(ReclusterScreen(board.analysis.clustering.settings, self.review.levels() is not None),
                             chosen)

    @work(thread=True, exclusive=True, group="cluster", exit_on_error=False)
    def recluster(self, settings: ClusterSettings) -> None:
        """Cluster again in the background; the current clusters stay usable meanwhile."""
        from engine.projection import layout_rows

        review, worker = self.review, get_current_worker()

        def report(p) -> None:
            if not worker.is_cancelled:
                self.post_message(ProgressReport(p))

        try:
            plan = review.cluster_again(settings, progress=report, cancel=self.app.cancel_token)
            report(Progress("map", 0, 1))
            xy = layout_rows(plan.analysis, cancel=self.app.cancel_token)
        except Cancelled:
            return
        except QtuiError as exc:
            self.notify(str(exc), severity="error")
            return
        finally:
            self.post_message(Busy())
        if not worker.is_cancelled:
            self.post_message(self.ReclusterReady(plan, xy))

    @on(ReclusterReady)
    def _offer_recluster(self, event: ReclusterReady) -> None:
        """Show what carrying the review over would do; adopt it on a yes (ctrl+z undoes it)."""
        plan = event.plan
        self.board_screen.detail.remember_map(plan.analysis, event.xy)
        if plan.preview is None:
            self.adopt(plan, True)
            return
        answers = [("apply", "Use it, carrying the review over")]
        if plan.preview.uncarried:
            n = len(plan.preview.uncarried)
            answers = [("apply", f"Use it, keeping the {n} cluster{'s' * (n != 1)} as they were"),
                       ("drop", "Use it, letting them follow the new clusters")]
        answers.append(("keep", "Keep the clusters I have"))
        settings = plan.analysis.clustering.settings

        def chosen(answer: str) -> None:
            if answer in ("apply", "drop"):
                self.adopt(plan, answer == "apply")
            else:
                self.notify("Kept the current clusters and review.", timeout=3)

        self.app.push_screen(ChoiceScreen(f"New clustering: {plan.analysis.n_clusters} clusters "
                                          f"({settings.describe()})", "\n".join(plan.describe()) +
                                          "\n\nctrl+z undoes the re-clustering.", answers, cancel="keep"), chosen)

    @work(thread=True, exclusive=True, group="view", exit_on_error=False)
    def adopt(self, plan: "ReclusterPlan", pin: bool) -> None:
        """Make ``plan``'s clustering the one in effect (one undoable step) and show it."""
        review = self.review
        try:
            outcome = review.adopt(plan, pin=pin)
        except QtuiError as exc:
            self.notify(str(exc), severity="error")
            return
        self._duplicates = None
        review.view()  # computed here, off the UI thread
        self.post_message(ReviewStep(lambda: outcome))

    # ------------------------------------------------------------------ re-clustering the filter's rows

    def action_recluster_filter(self) -> None:
        """Cluster only the rows of the filter again: their sub-clusters become new clusters (one undoable step)."""
        flt = self.board_screen.filtering.filter
        if not self.ready():
            return
        if flt is None or not flt.active:
            self.notify("Filter the rows first (f): this re-clusters only the rows it matches.", timeout=4)
            return
        n = int(flt.within.sum())

        def chosen(value: str | None) -> None:
            if value is None:
                return
            k, seed = parts_wanted(value), self.review.settings.seed
            self.recluster_filter(flt.within, ClusterSettings("auto", seed=seed) if k is None else
                                  ClusterSettings("kmeans", k=k, seed=seed))

        self.app.push_screen(PromptScreen(f"Re-cluster the {n:,} rows where {flt.where} into how many clusters?", "",
                                          hint="a number, or empty for auto · their new clusters replace theirs in "
                                               "the whole review, unnamed and unreviewed · ctrl+z undoes it · Esc "
                                               "cancels", check=check_parts), chosen)

    @work(thread=True, exclusive=True, group="split", exit_on_error=False)
    def recluster_filter(self, within: np.ndarray, settings: ClusterSettings) -> None:
        review = self.review
        run_step(self, f"re-clustering {int(within.sum()):,} rows…",
                 lambda: review.recluster_rows(within, settings, cancel=self.app.cancel_token))

    # ------------------------------------------------------------------ near duplicates

    def action_near_duplicates(self) -> None:
        """Show groups of near-identical texts; collapse a group into one cluster."""
        board, session = self.board_screen.board, self.board_screen.session
        if board is None:
            return
        from engine.duplicates import DuplicateFinder

        if self._duplicates is None:
            self._duplicates = DuplicateFinder(session.vectors, session.rows)

        def chosen(groups) -> None:
            if groups and self.ready():
                review = self.review
                self.post_message(ReviewStep(lambda: review.collapse_duplicates(groups)))

        self.app.push_screen(DuplicatesScreen(self._duplicates, session.corpus.texts.__getitem__, board.state.labels),
                             chosen)

    # ------------------------------------------------------------------ export

    def action_export(self) -> None:
        """Ask where to export; never over the input, and over another existing file only after a yes."""
        if self.board_screen.board is None or self.review is None:
            return
        path = self.app.path
        default = path.with_name(f"{path.name.split('.')[0]}.labeled.csv")

        def chosen(value: str | None) -> None:
            if not value:
                return
            from engine.export_guard import ExportExists

            target = Path(value).expanduser()
            try:
                self.review.check_export(target, [path])
            except ExportExists:
                self.app.push_screen(ChoiceScreen("Replace the file?", f"{show_path(target)} exists. Write the "
                                                  f"export over it?", [("no", "Choose another name"),
                                                                       ("yes", "Replace it")], cancel="no"),
                                     lambda answer: self.export(target, True) if answer == "yes" else
                                     self.action_export())
                return
            except QtuiError as exc:
                self.app.push_screen(MessageScreen("Not exported", str(exc)))
                return
            self.export(target, False)

        self.app.push_screen(PromptScreen("Export the review to (.csv, .tsv, .jsonl or .parquet)", str(default)),
                             chosen)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export(self, path: Path, overwrite: bool = False) -> None:
        review = self.review
        try:
            written = review.export(path, overwrite=overwrite)
        except QtuiError as exc:
            self.post_message(self.Failed("Export failed", str(exc)))
            return
        self.notify(f"Exported {len(review.session.corpus):,} rows to {show_path(written)}"
                    + (" (replaced the file that was there)" if overwrite else ""))

    @on(Failed)
    def _failed(self, event: Failed) -> None:
        self.app.push_screen(MessageScreen(event.title, event.text))

    # ------------------------------------------------------------------ the static first view

    def action_refine(self) -> None:
        """Embed with the full model in the background (goes on where a stopped refinement left off)."""
        self.board_screen.refinement.start()

    def action_stop_refining(self) -> None:
        self.board_screen.refinement.stop()

    def action_switch_refined(self) -> None:
        """Offer the refined clusters again (after 'Keep the static view')."""
        self.board_screen.refinement.offer()

    # ------------------------------------------------------------------ merge suggestions

    def action_merge_suggestions(self) -> None:
        """List the closest sibling clusters of the tree ("likely one topic"); Enter merges a pair (undoable)."""
        board = self.board_screen.board
        if not self.ready():
            return
        review = self.review
        if review.levels() is None:
            self.notify("This clustering has no tree: no merge suggestions.", severity="warning", timeout=4)
            return
        pairs = review.merge_suggestions(20)
        if not pairs:
            self.notify("No two clusters are siblings in the tree any more.", timeout=4)
            return

        def chosen(index: int | None) -> None:
            if index is not None:
                self.post_message(ReviewStep(lambda: review.merge_suggested(pairs[index])))

        self.app.push_screen(SuggestionsScreen(pairs, board.cluster_name, board.cluster_size), chosen)

    # ------------------------------------------------------------------ earlier reviews

    def action_earlier_reviews(self) -> None:
        """List the saved reviews of this file and open the one chosen (the current one is set aside)."""
        review = self.review
        if review is None:
            return
        corpus = review.session.corpus
        found = review.saved_reviews(corpus.path, corpus.fingerprint)
        current = review.store.info()
        current_id = current.review_id if current is not None else None
        lines = [(f.review_id, f"{'current' if not f.info.set_aside else 'set aside'}"
                               f"{'' if f.same_content else ', earlier version of the file'}: {f.info.describe()}")
                 for f in found]
        if len(lines) < 2:
            self.notify("This is the only saved review of this file.", timeout=4)
            return
        self.app.push_screen(ReviewsScreen(lines, current_id),
                             lambda review_id: self.app.open_review(review_id)
                             if review_id and review_id != current_id else None)
