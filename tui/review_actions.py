"""The review loop in the app: name, accept/reject, merge, split, move, noise, undo/redo, classify, duplicates.

A mixin of :class:`tui.app.QtuiApp`.  Every action changes the
:class:`~engine.review.ReviewState`, which the review store saves at once
(atomically); the panes are then refreshed from a recomputed view.  Slow
steps (split, classifier, duplicate search, re-clustering) run in workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from textual import work
from textual.worker import get_current_worker

from engine.clustering import NOISE, ClusterSettings
from engine.errors import QtuiError
from engine.progress import Cancelled
from tui.screens.choice_screen import ChoiceScreen
from tui.screens.duplicates_screen import DuplicatesScreen
from tui.screens.message_screen import MessageScreen
from tui.screens.move_screen import NEW, MoveScreen
from tui.screens.prompt_screen import PromptScreen
from tui.screens.proposals_screen import ProposalsScreen
from tui.widgets.cluster_table import ClusterTable
from tui.widgets.member_list import MemberList

if TYPE_CHECKING:
    from tui.board import Board


class ReviewActions:
    """Review actions of the app (mixed into QtuiApp, which provides ``board``, ``session`` and the panes)."""

    board: "Board | None"

    # ------------------------------------------------------------------ helpers

    def _review_ready(self) -> bool:
        if self.board is None or self.session is None:
            return False
        if self.board.state.read_only:
            reason = (self.store.read_only_reason if self.store is not None else None) or "opened read-only"
            self.notify(f"No changes here: this review is {reason.removeprefix('opened ')}.", severity="warning")
            return False
        return True

    def _do(self, describe: str, change, recompute: bool = True) -> None:
        """Run ``change()`` on the review, report problems in one line, refresh the panes."""
        from engine.review_store import ReviewSaveError

        try:
            change()
        except ReviewSaveError as exc:  # the change is made, only not saved yet: show it
            self.notify(str(exc), severity="error")
            self.refresh_board(recompute)
            return
        except QtuiError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(describe, timeout=3)
        self.refresh_board(recompute)

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
        state = self.board.state
        current = state.name(cid) or self.board.suggested(cid)

        def chosen(value: str | None) -> None:
            if value is not None:
                self._do(f"Cluster {cid} named “{value}”", lambda: state.rename(cid, value), recompute=False)

        self.push_screen(PromptScreen(f"Name cluster #{cid}", current,
                                      hint="Enter keeps the name (the suggestion comes from the keywords) · Esc cancels"),
                         chosen)

    def _set_status(self, status: str) -> None:
        if not self._review_ready():
            return
        ids = self._target_clusters()
        if not ids:
            return
        state = self.board.state
        table = self.query_one("#clusters", ClusterTable)
        what = f"cluster {ids[0]}" if len(ids) == 1 else f"{len(ids)} clusters"
        self._do(f"Marked {what} {status}", lambda: state.set_status(ids, status), recompute=False)
        if table.marked:
            table.clear_marks()
        elif status != "unreviewed":
            table.action_cursor_down()  # on to the next cluster: review is a walk down the list

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
        state = self.board.state
        into = max(ids, key=state.size)
        table.clear_marks()
        self._select_after_refresh = into
        self._do(f"Merged {len(ids)} clusters into #{into}", lambda: state.merge(ids, into=into))

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
        from engine.split import split_parts

        board, session = self.board, self.session
        rows = board.state.members(cid)
        positions = np.array([session.position(r) for r in rows.tolist()], dtype=np.int64)
        keep = positions >= 0
        rows, positions = rows[keep], positions[keep]
        self.call_from_thread(self._set_status_line, f"splitting #{cid}…")
        try:
            parts, confidence = split_parts(session.vectors[positions], k, seed=board.analysis.clustering.settings.seed)
        except QtuiError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        n_parts = len(set(parts[parts >= 0].tolist()))
        if n_parts < 2:
            self.call_from_thread(self.notify, f"Cluster {cid} does not split: its texts form one group.",
                                  severity="warning")
            self.call_from_thread(self._set_status_line)
            return
        self.call_from_thread(self._do, f"Split cluster {cid} into {n_parts}",
                              lambda: board.state.split(cid, parts, rows=rows, confidence=confidence))

    # ------------------------------------------------------------------ member decisions

    def action_move_members(self) -> None:
        """Move the marked members (or the one under the cursor) to a cluster picked by name."""
        if not self._review_ready():
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
            state = board.state
            lst = self.query_one("#members", MemberList)
            lst.clear_marks()
            n = len(rows)
            if target == NEW:
                self._do(f"Made a new cluster of {n} text{'s' * (n != 1)}", lambda: state.new_cluster(rows))
            elif target == "noise":
                self._do(f"Sent {n} text{'s' * (n != 1)} to noise", lambda: state.to_noise(rows))
            else:
                self._do(f"Moved {n} text{'s' * (n != 1)} to #{target}", lambda: state.move(rows, int(target)))

        self.push_screen(MoveScreen(len(rows), find, exclude=here), chosen)

    def action_members_to_noise(self) -> None:
        """Send the marked members (or the one under the cursor) to the unclustered group."""
        if not self._review_ready():
            return
        lst = self.query_one("#members", MemberList)
        rows = lst.selected_rows()
        rows = rows[(self.board.labels[rows] >= 0)] if len(rows) else rows
        if not len(rows):
            return
        lst.clear_marks()
        state = self.board.state
        self._do(f"Sent {len(rows)} text{'s' * (len(rows) != 1)} to noise", lambda: state.to_noise(rows))

    # ------------------------------------------------------------------ undo / redo

    def action_undo(self) -> None:
        """Undo the last review action."""
        if self._review_ready():
            state = self.board.state
            if not state.can_undo:
                self.notify("Nothing to undo.", timeout=2)
                return
            action = state.undo()
            self.notify(f"Undid: {action.describe()}", timeout=3)
            self.refresh_board(True)

    def action_redo(self) -> None:
        """Redo the last undone review action."""
        if self._review_ready():
            state = self.board.state
            if not state.can_redo:
                self.notify("Nothing to redo.", timeout=2)
                return
            action = state.redo()
            self.notify(f"Redid: {action.describe()}", timeout=3)
            self.refresh_board(True)

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
                self.notify("Proposals rejected; nothing changed.", timeout=3)
                return
            picked = proposals.above(threshold)
            if not len(picked):
                self.notify("No proposal reaches that confidence.", severity="warning")
                return
            self._do(f"Accepted {len(picked):,} proposals (confidence ≥ {threshold:.2f})",
                     lambda: board.state.apply_proposals(picked.rows, picked.cluster_ids, picked.confidence))

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
            if not groups or not self._review_ready():
                return
            from engine.review import MOVED

            rows, labels = [], []
            for group in groups:
                current = board.labels[group]
                real = current[current >= 0]
                target = int(np.bincount(real).argmax()) if len(real) else NOISE
                move = group[current != target]
                rows.append(move)
                labels.append(np.full(len(move), target, dtype=np.int64))
            rows_all = np.concatenate(rows) if rows else np.empty(0, np.int64)
            if not len(rows_all):
                self.notify("Those groups are each in one cluster already.", timeout=3)
                return
            labels_all = np.concatenate(labels)
            note = f"collapse {len(groups)} near-duplicate group{'s' * (len(groups) != 1)}"
            self._do(f"Collapsed {len(groups)} groups ({len(rows_all)} texts moved)",
                     lambda: board.state.assign(rows_all, labels_all, np.full(len(rows_all), MOVED, np.int8),
                                                np.ones(len(rows_all), np.float32), note=note))

        self.push_screen(DuplicatesScreen(self._duplicates, self._text_of, board.labels), chosen)

    # ------------------------------------------------------------------ re-clustering with carry-over

    @work(thread=True, exclusive=True, group="cluster", exit_on_error=False)
    def recluster(self, settings: ClusterSettings) -> None:
        """Cluster again in the background; the current clusters stay usable meanwhile."""
        session = self.session
        if session is None:
            return
        worker = get_current_worker()

        def report(p) -> None:
            if not worker.is_cancelled:
                self.call_from_thread(self._show_progress, p)

        try:
            analysis, xy = self._cluster_and_map(session, settings, report)
        except Cancelled:
            return
        except QtuiError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        if worker.is_cancelled:
            return
        from engine.carry_over import carry_over

        state = self.board.state if self.board is not None else None
        result = None
        if state is not None and (state.done or state.names or state.statuses):
            result = carry_over(state, analysis.labels, analysis.confidence)
        self.call_from_thread(self._offer_recluster, analysis, xy, result)

    def _offer_recluster(self, analysis, xy, result) -> None:
        if result is None:
            self._adopt_clustering(analysis, xy, None)
            return
        lines = result.describe()
        message = "\n".join(lines if isinstance(lines, list) else [str(lines)])

        def chosen(answer: str) -> None:
            if answer == "apply":
                self._adopt_clustering(analysis, xy, result.state)
            else:
                self.notify("Kept the current clusters and review.", timeout=3)
                self._set_status_line()

        self.push_screen(ChoiceScreen(f"New clustering: {analysis.n_clusters} clusters "
                                      f"({analysis.clustering.settings.describe()})", message,
                                      [("apply", "Use it, carrying the review over"), ("keep", "Keep the current")]),
                         chosen)

    def _review_problem(self, title: str, exc: Exception) -> None:
        self.push_screen(MessageScreen(title, str(exc)))
