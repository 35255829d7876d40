"""The review loop in the app: name, accept/reject, merge, split, move, noise, undo/redo, classify, duplicates.

A mixin of :class:`tui.app.QtuiApp`.  Every step goes through the app's
:class:`~engine.review_session.ReviewSession` (``self.review``), which saves it
at once and says what it did; the panes are then refreshed from a recomputed
view.  Slow steps (split, classifier, duplicate search, re-clustering) run in
workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.worker import get_current_worker

from engine.clustering import ClusterSettings
from engine.errors import QtuiError
from engine.progress import Cancelled
from tui.screens.choice_screen import ChoiceScreen
from tui.screens.duplicates_screen import DuplicatesScreen
from tui.screens.message_screen import MessageScreen
from tui.screens.move_screen import NEW, MoveScreen
from tui.screens.prompt_screen import PromptScreen
from tui.screens.proposals_screen import ProposalsScreen
from tui.screens.reviews_screen import ReviewsScreen
from tui.widgets.cluster_table import ClusterTable
from tui.widgets.member_list import MemberList

if TYPE_CHECKING:
    from engine.review_session import Outcome, ReviewSession
    from tui.board import Board


class ReviewActions:
    """Review actions of the app (mixed into QtuiApp, which provides ``board``, ``review`` and the panes)."""

    board: "Board | None"
    review: "ReviewSession | None"

    # ------------------------------------------------------------------ helpers

    def _review_ready(self) -> bool:
        if self.board is None or self.session is None or self.review is None:
            return False
        if self.review.read_only:
            reason = self.review.read_only_reason or "opened read-only"
            self.notify(f"No changes here: this review is {reason.removeprefix('opened ')}.", severity="warning")
            return False
        return True

    def _members_shown(self) -> "MemberList | None":
        """The members pane, when the person can see it (else a word on how to show it, and None)."""
        lst = self.query_one("#members", MemberList)
        if self.pane_visible(lst):
            return lst
        self.notify("The members pane is not on screen: Tab or Enter shows it, then act on what you see.",
                    severity="warning", timeout=4)
        return None

    def _do(self, step) -> None:
        """Run ``step()`` (a ReviewSession call returning an Outcome), say what it did, refresh the panes.
        A failed save is shown in the status line until a save succeeds."""
        try:
            outcome: Outcome = step()
        except QtuiError as exc:
            self.notify(str(exc), severity="error")
            return
        if outcome is None:
            return
        if outcome.cluster is not None:
            self._select_after_refresh = outcome.cluster
        status = self.review.save_status
        if status.unsaved:
            self.notify(f"{outcome.message}. Not saved: {status.last_error}", severity="error", timeout=8)
        else:
            self.notify(outcome.message, timeout=4)
        self.refresh_board(outcome.recompute)

    def _target_clusters(self) -> list[int]:
        """Marked clusters, else the one under the cursor (real clusters only)."""
        table = self.query_one("#clusters", ClusterTable)
        if table.marked:
            return sorted(table.marked)
        cid = table.current_cluster
        return [cid] if cid is not None and cid >= 0 else []

    # ------------------------------------------------------------------ cluster decisions

    def action_name_cluster(self) -> None:
        """Name the selected cluster; the suggestion from its keywords is filled in to accept or edit."""
        if not self._review_ready():
            return
        cid = self.query_one("#clusters", ClusterTable).current_cluster
        if cid is None or cid < 0:
            return
        review = self.review
        current = review.state.name(cid) or self.board.suggested(cid)

        def chosen(value: str | None) -> None:
            if value is not None:
                self._do(lambda: review.rename(cid, value))

        self.push_screen(PromptScreen(f"Name cluster #{cid}", current,
                                      hint="Enter keeps it (suggested from the keywords) · empty clears it · "
                                           "Esc cancels"), chosen)

    def _set_status(self, status: str) -> None:
        if not self._review_ready():
            return
        ids = self._target_clusters()
        if not ids:
            return
        review = self.review
        table = self.query_one("#clusters", ClusterTable)
        # on to the next cluster (review is a walk down the list), and the message says so
        following = table.next_cluster() if not table.marked and status != "unreviewed" else None

        def step():
            outcome = review.set_status(ids, status)
            if following is not None:
                outcome.message += f"; on to #{following}"
                outcome.cluster = following
            return outcome

        self._do(step)
        table.clear_marks()

    def action_accept_cluster(self) -> None:
        """Accept the selected (or marked) clusters."""
        self._set_status("accepted")

    def action_reject_cluster(self) -> None:
        """Reject the selected (or marked) clusters."""
        self._set_status("rejected")

    def action_unreview_cluster(self) -> None:
        """Mark the selected (or marked) clusters unreviewed again."""
        self._set_status("unreviewed")

    def action_merge_clusters(self) -> None:
        """Merge the marked clusters (Space marks) into the largest of them."""
        if not self._review_ready():
            return
        table = self.query_one("#clusters", ClusterTable)
        ids = sorted(table.marked)
        if len(ids) < 2:
            self.notify("Mark two or more clusters with Space first, then merge them.", severity="warning")
            return
        review = self.review
        into = max(ids, key=review.state.size)
        table.clear_marks()
        self._do(lambda: review.merge(ids, into=into))

    def action_split_cluster(self) -> None:
        """Split the selected cluster: cluster only its members again, into k parts or automatically."""
        if not self._review_ready():
            return
        cid = self.query_one("#clusters", ClusterTable).current_cluster
        if cid is None or cid < 0:
            return

        def chosen(value: str | None) -> None:
            if value is None:
                return
            value = value.strip().lower()
            if value in ("", "auto"):
                self.split_worker(cid, None)
            elif value.isdigit() and int(value) >= 2:
                self.split_worker(cid, int(value))
            else:
                self.notify("Give a number of parts (2 or more), or leave it empty for auto.", severity="error")

        self.push_screen(PromptScreen(f"Split cluster #{cid} ({self.board.size(cid):,} texts) into how many parts?",
                                      "", hint="a number, or empty for auto · Enter splits · Esc cancels"), chosen)

    @work(thread=True, exclusive=True, group="split", exit_on_error=False)
    def split_worker(self, cid: int, k: int | None) -> None:
        review = self.review
        self.call_from_thread(self._set_status_line, f"splitting #{cid}…")
        try:
            outcome = review.split(cid, k)
        except QtuiError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            self.call_from_thread(self._set_status_line)
            return
        self.call_from_thread(self._do, lambda: outcome)

    # ------------------------------------------------------------------ member decisions

    def action_move_members(self) -> None:
        """Move the marked members (or the one under the cursor) to a cluster picked by name."""
        if not self._review_ready() or self._members_shown() is None:
            return
        rows = self.query_one("#members", MemberList).selected_rows()
        rows = rows[self.board.labels[rows] != -2] if len(rows) else rows
        if not len(rows):
            return
        board = self.board
        here = int(board.labels[rows[0]])

        def find(query: str) -> list[tuple[int, str, int]]:
            ids = board.state.find_clusters(query, board.view.suggested, limit=50) if query else \
                sorted(board.view.ids.tolist(), key=lambda c: -board.size(c))[:50]
            return [(c, board.name(c), board.size(c)) for c in ids]

        def chosen(target: str | None) -> None:
            if target is None:
                return
            review = self.review
            self.query_one("#members", MemberList).clear_marks()
            if target == NEW:
                self._do(lambda: review.new_cluster(rows))
            elif target == "noise":
                self._do(lambda: review.to_noise(rows))
            else:
                self._do(lambda: review.move(rows, int(target)))

        self.push_screen(MoveScreen(len(rows), find, exclude=here), chosen)

    def action_members_to_noise(self) -> None:
        """Send the marked members (or the one under the cursor) to the unclustered group."""
        if not self._review_ready() or self._members_shown() is None:
            return
        lst = self.query_one("#members", MemberList)
        rows = lst.selected_rows()
        rows = rows[(self.board.labels[rows] >= 0)] if len(rows) else rows
        if not len(rows):
            return
        lst.clear_marks()
        review = self.review
        self._do(lambda: review.to_noise(rows))

    # ------------------------------------------------------------------ undo / redo

    def action_undo(self) -> None:
        """Undo the last step (a re-clustering included); the cursor goes to what it changed."""
        self._undo_redo("undo")

    def action_redo(self) -> None:
        """Redo the last undone step."""
        self._undo_redo("redo")

    def _undo_redo(self, which: str) -> None:
        if not self._review_ready():
            return
        review = self.review
        if not (review.can_undo() if which == "undo" else review.can_redo()):
            self.notify(f"Nothing to {which}.", timeout=2)
            return
        self._do(getattr(review, which))

    # ------------------------------------------------------------------ classify the rest

    def action_classify_rest(self) -> None:
        """Learn the accepted clusters and propose labels for the other rows."""
        if self._review_ready():
            self.classify_worker()

    @work(thread=True, exclusive=True, group="classify", exit_on_error=False)
    def classify_worker(self) -> None:
        from engine.classify import propose_for_review

        board, session = self.board, self.session
        self.call_from_thread(self._set_status_line, "training the classifier on the accepted clusters…")
        try:
            proposals = propose_for_review(board.state, session.vectors, session.rows)
        except QtuiError as exc:
            self.call_from_thread(self.notify, str(exc), severity="warning")
            self.call_from_thread(self._set_status_line)
            return
        self.call_from_thread(self._set_status_line)
        self.call_from_thread(self._show_proposals, proposals)

    def _show_proposals(self, proposals) -> None:
        board = self.board

        def chosen(threshold: float | None) -> None:
            if threshold is None:
                self.notify("Closed; no proposal was accepted.", timeout=3)
                return
            picked = proposals.above(threshold)
            if not len(picked):
                self.notify("No proposal reaches that confidence.", severity="warning")
                return
            review = self.review
            self._do(lambda: review.apply_proposals(picked.rows, picked.cluster_ids, picked.confidence))

        self.push_screen(ProposalsScreen(proposals, self._text_of, board.name), chosen)

    # ------------------------------------------------------------------ near duplicates

    def action_near_duplicates(self) -> None:
        """Show groups of near-identical texts; collapse a group into one cluster."""
        if self.board is None or self.session is None:
            return
        from engine.duplicates import DuplicateFinder

        if self._duplicates is None:
            self._duplicates = DuplicateFinder(self.session.vectors, self.session.rows)
        board = self.board

        def chosen(groups) -> None:
            if groups and self._review_ready():
                review = self.review
                self._do(lambda: review.collapse_duplicates(groups))

        self.push_screen(DuplicatesScreen(self._duplicates, self._text_of, board.labels), chosen)

    # ------------------------------------------------------------------ re-clustering with carry-over

    @work(thread=True, exclusive=True, group="cluster", exit_on_error=False)
    def recluster(self, settings: ClusterSettings) -> None:
        """Cluster again in the background; the current clusters stay usable meanwhile."""
        review = self.review
        if review is None:
            return
        worker = get_current_worker()

        def report(p) -> None:
            if not worker.is_cancelled:
                self.call_from_thread(self._show_progress, p)

        try:
            plan = review.cluster_again(settings, progress=report, cancel=self.cancel_token)
            xy = self._layout_map(plan.analysis, report)
        except Cancelled:
            return
        except QtuiError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        if not worker.is_cancelled:
            self.call_from_thread(self._offer_recluster, plan, xy)

    def _offer_recluster(self, plan, xy) -> None:
        """Show what carrying the review over would do; adopt it on a yes (ctrl+z undoes it)."""
        self._maps[id(plan.analysis)] = xy
        self._set_status_line()
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

        self.push_screen(ChoiceScreen(f"New clustering: {plan.analysis.n_clusters} clusters ({settings.describe()})",
                                      "\n".join(plan.describe()) + "\n\nctrl+z undoes the re-clustering.", answers,
                                      cancel="keep"), chosen)

    @work(thread=True, exclusive=True, group="view", exit_on_error=False)
    def adopt(self, plan, pin: bool) -> None:
        """Make ``plan``'s clustering the one in effect (one undoable step) and show it."""
        review = self.review
        try:
            outcome = review.adopt(plan, pin=pin)
        except QtuiError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        self._duplicates = None
        review.view()  # computed here, off the UI thread
        self.call_from_thread(self._do, lambda: outcome)

    # ------------------------------------------------------------------ earlier reviews

    def action_earlier_reviews(self) -> None:
        """List the saved reviews of this file and open the one chosen (the current one is set aside)."""
        if self.review is None or self.session is None:
            return
        corpus = self.session.corpus
        found = self.review.saved_reviews(corpus.path, corpus.fingerprint)
        current = self.review.store.info()
        current_id = current.review_id if current is not None else None
        lines = [(f.review_id, f"{'current' if not f.info.set_aside else 'set aside'}"
                               f"{'' if f.same_content else ', earlier version of the file'}: {f.info.describe()}")
                 for f in found]
        if len(lines) < 2:
            self.notify("This is the only saved review of this file.", timeout=4)
            return

        def chosen(review_id: str | None) -> None:
            if review_id and review_id != current_id:
                self.open_review(review_id)

        self.push_screen(ReviewsScreen(lines, current_id), chosen)

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def open_review(self, review_id: str) -> None:
        """Save and close the review on screen, then open the saved review ``review_id``."""
        from engine.review_session import ReviewSession

        review = self.review
        review.autosave()
        review.close()
        try:
            found = ReviewSession.find(self.session, review_id)
            chosen = ReviewSession.resume(self.session, found, self.options.model if self.options else None)
        except QtuiError as exc:
            review.store.acquire()  # keep working on the review that was open
            self.call_from_thread(self.push_screen, MessageScreen("Could not open that review", str(exc)))
            return
        board = self._make_board(chosen)
        self.call_from_thread(self._opened, board, chosen)

    def _review_problem(self, title: str, exc: Exception) -> None:
        self.push_screen(MessageScreen(title, str(exc)))
