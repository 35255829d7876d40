"""The clusters pane: the list of clusters and the decisions taken on them (name, accept, reject, merge,
split, sort, filter, go to).  Each decision is posted to the board screen as a :class:`ReviewStep`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical

from engine.errors import QtuiError
from tui.actions import bindings
from tui.messages import Busy, ReviewStep
from tui.panes import may_change
from tui.screens.name_screen import NameScreen
from tui.screens.prompt_screen import PromptScreen
from tui.widgets.border_titles import set_border_titles
from tui.widgets.cluster_table import ClusterTable

if TYPE_CHECKING:
    from engine.review_session import ReviewSession
    from tui.board import Board
    from tui.label_seeding import LabelSeeding


class ClustersPane(Vertical):
    """The clusters of the board and the keys that decide about them."""

    BINDINGS = bindings("clusters", pane=True)

    def __init__(self) -> None:
        super().__init__(id="left")
        self.board: Board | None = None
        self.review: ReviewSession | None = None
        self.table = ClusterTable(id="clusters")
        self.seeding: LabelSeeding | None = None  # the labels the person started with, if any

    def compose(self) -> ComposeResult:
        yield self.table

    def on_mount(self) -> None:
        set_border_titles(self.table, "Clusters")

    def show(self, board: "Board", review: "ReviewSession", keep: int | None) -> None:
        """Fill the list from ``board``, the cursor on cluster ``keep`` where it is still shown."""
        self.board, self.review = board, review
        lines = board.lines()
        proposed = self.seeding.proposals(review) if self.seeding is not None else {}
        for line in lines:
            p = proposed.get(line.id)
            if p is not None and not line.named:  # the proposal stands in for the keyword suggestion
                line.name = f"≈ {p.label} {p.confidence:.0%}" + line.name[len(board.name(line.id)):]
        self.table.show(lines, keep=keep)
        self.show_subtitle()

    def show_subtitle(self) -> None:
        table = self.table
        n = len(table.marked)
        shown = f"{table.filter_text!r}: {table.row_count} shown (F) · " if table.filter_text else ""
        set_border_titles(table, subtitle=f"{n} marked · M merges · a/x accept/reject" if n
                          else f"{shown}sorted by {table.sort_key} (s)")

    @on(ClusterTable.MarksChanged)
    @on(ClusterTable.Sorted)
    def _marks_or_sort(self) -> None:
        self.show_subtitle()

    def _targets(self) -> list[int]:
        """Marked clusters, else the one under the cursor (real clusters only)."""
        table = self.table
        if table.marked:
            return sorted(table.marked)
        cid = table.current_cluster
        return [cid] if cid is not None and cid >= 0 else []

    def _current(self) -> int | None:
        """The real cluster under the cursor, when the review takes changes."""
        cid = self.table.current_cluster
        return cid if may_change(self, self.review) and cid is not None and cid >= 0 else None

    # ------------------------------------------------------------------ decisions

    def action_name_cluster(self) -> None:
        """Name the selected cluster: the label proposed for it (``--labels``), else the suggestion from its
        keywords, is filled in to accept or edit; the labels in use are offered to join one."""
        cid = self._current()
        if cid is None:
            return
        review = self.review
        proposed = self.seeding.proposals(review).get(cid) if self.seeding is not None else None
        current = review.state.name(cid)
        if current:
            why = "its name"
        elif proposed is not None:
            current, why = proposed.label, (f"proposed from {self.seeding.source}: {proposed.confidence:.0%} of "
                                            f"its texts")
        else:
            current, why = self.board.suggested(cid), "suggested from the keywords"

        def chosen(value: str | None) -> None:
            if value is not None:
                self.post_message(ReviewStep(lambda: review.rename(cid, value)))

        self.app.push_screen(NameScreen(f"Name cluster #{cid}", current, review.labels(),
                                        hint=f"Enter keeps it ({why}) · ↓ picks a label in use: the cluster joins "
                                             f"it · empty clears the name · Esc cancels"), chosen)

    def _set_status(self, status: str) -> None:
        if not may_change(self, self.review):
            return
        ids = self._targets()
        if not ids:
            return
        review, table = self.review, self.table
        # on to the next cluster (review is a walk down the list), and the message says so
        following = table.next_cluster() if not table.marked and status != "unreviewed" else None

        def step():
            outcome = review.set_status(ids, status)
            if following is not None:
                outcome.message += f"; on to #{following}"
                outcome.cluster = following
            return outcome

        self.post_message(ReviewStep(step))
        table.clear_marks()

    def action_accept_cluster(self) -> None:
        """Accept the selected (or marked) clusters, then move on to the next."""
        self._set_status("accepted")

    def action_reject_cluster(self) -> None:
        """Reject the selected (or marked) clusters, then move on to the next."""
        self._set_status("rejected")

    def action_unreview_cluster(self) -> None:
        """Clear the decision on the selected (or marked) clusters."""
        self._set_status("unreviewed")

    def action_merge_clusters(self) -> None:
        """Merge the marked clusters (Space marks) into the largest of them."""
        if not may_change(self, self.review):
            return
        ids = sorted(self.table.marked)
        if len(ids) < 2:
            self.notify("Mark two or more clusters with Space first, then merge them.", severity="warning")
            return
        review = self.review
        into = max(ids, key=review.state.size)
        self.table.clear_marks()
        self.post_message(ReviewStep(lambda: review.merge(ids, into=into)))

    def action_split_cluster(self) -> None:
        """Split the selected cluster: cluster only its members again, into k parts or automatically."""
        cid = self._current()
        if cid is None:
            return

        def chosen(value: str | None) -> None:
            if value is None:
                return
            value = value.strip().lower()
            if value in ("", "auto"):
                self.split(cid, None)
            elif value.isdigit() and int(value) >= 2:
                self.split(cid, int(value))
            else:
                self.notify("Give a number of parts (2 or more), or leave it empty for auto.", severity="error")

        self.app.push_screen(PromptScreen(f"Split cluster #{cid} ({self.board.size(cid):,} texts) into how many "
                                          f"parts?", "", hint="a number, or empty for auto · Enter splits · Esc "
                                                              "cancels"), chosen)

    @work(thread=True, exclusive=True, group="split", exit_on_error=False)
    def split(self, cid: int, k: int | None) -> None:
        review = self.review
        self.post_message(Busy(f"splitting #{cid}…"))
        try:
            outcome = review.split(cid, k)
        except QtuiError as exc:
            self.notify(str(exc), severity="error")
            return
        finally:
            self.post_message(Busy())
        self.post_message(ReviewStep(lambda: outcome))

    # ------------------------------------------------------------------ finding a cluster

    def action_sort_clusters(self) -> None:
        """Cycle the sort: size, cohesion, name."""
        self.table.action_cycle_sort()

    def action_filter_clusters(self) -> None:
        """Show only some clusters: part of a name or number, or unreviewed / accepted / rejected / new."""
        if self.board is None:
            return
        table = self.table

        def chosen(value: str | None) -> None:
            if value is not None:
                table.set_filter(value)
                self.show_subtitle()

        self.app.push_screen(PromptScreen("Filter the clusters", table.filter_text,
                                          hint="part of a name or a number, or: unreviewed · accepted · rejected · "
                                               "new (reviewed clusters with new rows) · empty shows all · Esc "
                                               "cancels"), chosen)

    def go_to(self) -> None:
        """Ask for a cluster by its number or (part of) its name and move there."""
        board = self.board
        if board is None:
            return

        def chosen(value: str | None) -> None:
            if not value:
                return
            if value.lstrip("#").isdigit():
                found = [int(value.lstrip("#"))]
            else:
                found = board.state.find_clusters(value, board.view.suggested, limit=1)
            if not found or not self.table.select_cluster(found[0]):
                self.notify(f"No cluster matches “{value}”.", severity="warning", timeout=3)
                return
            self.table.focus()

        self.app.push_screen(PromptScreen("Go to cluster (its number, or part of its name)", "",
                                          hint="Enter goes there · Esc cancels"), chosen)

    def next_unreviewed(self, step: int) -> bool:
        """Move to the next (or previous) cluster without a decision, in the order shown."""
        if self.board is None:
            return False
        target = self.table.next_matching(step, "unreviewed")
        if target is None:
            self.notify("Every cluster shown has a decision.", timeout=3)
            return False
        self.table.select_cluster(target)
        self.table.focus()
        return True
