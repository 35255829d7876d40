"""The clusters pane: the list of clusters and the decisions taken on them (name, accept, reject, merge,
split, sort, filter, go to), and the statistic of a column shown per cluster.  Each decision is posted to
the board screen as a :class:`ReviewStep`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical

from tui.actions import bindings
from tui.messages import ReviewStep
from tui.panes import check_parts, may_change, parts_wanted, run_step
from tui.screens.name_screen import NameScreen
from tui.screens.pick_screen import PickScreen
from tui.screens.prompt_screen import PromptScreen
from tui.stat_column import StatColumn
from tui.widgets.border_titles import set_border_titles
from tui.widgets.cluster_table import ClusterTable
from tui.zoom import describe_level

if TYPE_CHECKING:
    from engine.review_session import ReviewSession
    from tui.board import Board
    from tui.board_filter import BoardFilter
    from tui.label_seeding import LabelSeeding


class ClustersPane(Vertical):
    """The clusters of the board and the keys that decide about them."""

    BINDINGS = bindings("clusters", pane=True)

    def __init__(self) -> None:
        super().__init__(id="left")
        self.board: Board | None = None
        self.review: ReviewSession | None = None
        self.table = ClusterTable(id="clusters")
        #: The file's columns and filter (set by the board screen), and the statistic shown per cluster.
        self.columns: BoardFilter | None = None
        self.stat: StatColumn | None = None
        self.seeding: LabelSeeding | None = None  # the labels the person started with, if any

    def compose(self) -> ComposeResult:
        yield self.table

    def on_mount(self) -> None:
        set_border_titles(self.table, "Clusters")

    def show(self, board: "Board", review: "ReviewSession", keep: int | None) -> None:
        """Fill the list from ``board``, the cursor on cluster ``keep`` where it is still shown."""
        self.board, self.review = board, review
        lines = board.lines()
        proposed = self.seeding.proposals(review) if self.seeding is not None and board.level == 0 else {}
        for line in lines:
            p = proposed.get(line.id)
            if p is not None and not line.named:  # the proposal stands in for the keyword suggestion
                line.name = f"≈ {p.label} {p.confidence:.0%}" + line.name[len(board.name(line.id)):]
        self.table.show(self._with_stat(board, lines), keep=keep)
        set_border_titles(self.table, "Clusters" if board.level == 0 else describe_level(board).capitalize())
        self.show_subtitle()

    def _with_stat(self, board: "Board", lines: list) -> list:
        """``lines`` with the chosen statistic of each cluster (among the filter's rows)."""
        profiler = self.columns.profiler if self.columns is not None else None
        if self.stat is None or profiler is None:
            return lines
        values = self.stat.values(profiler, board.labels, board.within)
        for line in lines:
            line.stat, line.stat_text = values.get(line.id, (float("nan"), ""))
        return lines

    def action_choose_stat(self) -> None:
        """Pick a statistic of a column (mean rating, share of a product, trend over the dates) to show per cluster."""
        profiler = self.columns.profiler if self.columns is not None else None
        if self.board is None:
            return
        if profiler is None:
            self.notify("The file's columns are still being read; try again in a moment.", timeout=3)
            return
        choices = [StatColumn(c) for c in profiler.stat_choices()]
        if not choices:
            self.notify("This file has no columns to count besides its text.", severity="warning", timeout=4)
            return
        lines = [(str(i), c.describe()) for i, c in enumerate(choices)] + [("none", "no statistic column")]
        current = next((str(i) for i, c in enumerate(choices) if self.stat is not None and c == self.stat), None)

        def chosen(key: str | None) -> None:
            if key is None:
                return
            self.set_stat(None if key == "none" else choices[int(key)])

        self.app.push_screen(PickScreen("Show a statistic per cluster (s sorts by it)", lines, current=current),
                             chosen)

    def set_stat(self, stat: StatColumn | None) -> None:
        """Show ``stat`` as a column of the clusters (None: none) and sort by it."""
        self.stat = stat
        table = self.table
        table.set_stat(stat.title if stat else "", stat.width if stat else 0, stat.sorts if stat else ())
        if stat is not None:
            table.sort_key = stat.sorts[0]
            table.post_message(table.Sorted())
        if self.board is not None:
            self.table.show(self._with_stat(self.board, self.board.lines()), keep=table.current_cluster)
        self.show_subtitle()

    def show_subtitle(self) -> None:
        table = self.table
        n = len(table.marked)
        shown = f"{table.filter_text!r}: {table.row_count} shown (F) · " if table.filter_text else ""
        set_border_titles(table, subtitle=f"{n} marked · M merges · a/x accept/reject" if n
                          else f"{shown}sorted by {_sort_name(table.sort_key, self.stat)} (s)")

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
        keywords, is filled in to accept or edit; the labels in use are offered to join one.  At another zoom
        level it names the group, which every cluster in it inherits unless it has its own name."""
        cid = self._current()
        if cid is None:
            return
        review, board = self.review, self.board
        if board.level != 0:
            node = board.nodes[cid]

            def chosen_node(value: str | None) -> None:
                if value is not None:
                    self.post_message(ReviewStep(lambda: review.rename_node(node.key, value, label=node.label)))

            self.app.push_screen(PromptScreen(f"Name the group “{node.label}” ({node.size:,} texts; every cluster "
                                              f"in it takes the name)", node.name or node.inherited or node.suggested,
                                              hint="Enter keeps it · empty clears it · Esc cancels"), chosen_node)
            return
        proposed = self.seeding.proposals(review).get(cid) if self.seeding is not None else None
        current = review.state.name(cid)
        if current:
            why = "its name"
        elif proposed is not None:
            current, why = proposed.label, (f"proposed from {self.seeding.source}: {proposed.confidence:.0%} of "
                                            f"its texts")
        else:
            current, why = board.suggested(cid), "suggested from the keywords"

        def rename(value: str):
            return lambda: review.rename(cid, value)

        def chosen(value: str | None) -> None:
            if value is not None:
                self.post_message(ReviewStep(rename(value)))

        self.app.push_screen(NameScreen(f"Name cluster #{cid}", current, review.labels(),
                                        hint=f"Enter keeps it ({why}) · ↓ picks a label in use: the cluster joins "
                                             f"it · empty clears the name · Esc cancels"), chosen)

    def _set_status(self, status: str) -> None:
        if not may_change(self, self.review):
            return
        ids = self._targets()
        if not ids:
            return
        review, table, board = self.review, self.table, self.board
        # on to the next cluster (review is a walk down the list), and the message says so
        following = table.next_cluster() if not table.marked and status != "unreviewed" else None
        if board.level != 0:  # groups of a zoom level: decided as tree nodes, inherited below
            keys = [board.key(g) for g in ids]
            label = board.name(ids[0]) if len(ids) == 1 else None
            self.post_message(ReviewStep(lambda: review.set_node_status(keys, status, label=label)))
            table.clear_marks()
            if following is not None:
                table.select_cluster(following)
            return

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

    def _at_own_clusters(self, what: str) -> bool:
        """Merging and splitting change the review's own clusters: at another zoom level, say so and refuse."""
        if self.board is not None and self.board.level != 0:
            self.notify(f"{what} works on the review's own clusters (level 0): - or + goes back there.",
                        severity="warning", timeout=4)
            return False
        return True

    def action_merge_clusters(self) -> None:
        """Merge the marked clusters (Space marks) into the largest of them."""
        if not may_change(self, self.review) or not self._at_own_clusters("Merging"):
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
        if cid is None or not self._at_own_clusters("Splitting"):
            return

        def chosen(value: str | None) -> None:
            if value is not None:
                self.split(cid, parts_wanted(value))

        self.app.push_screen(PromptScreen(f"Split cluster #{cid} ({self.board.size(cid):,} texts) into how many "
                                          f"parts?", "", hint="a number, or empty for auto · Enter splits · Esc "
                                                              "cancels", check=check_parts), chosen)

    @work(thread=True, exclusive=True, group="split", exit_on_error=False)
    def split(self, cid: int, k: int | None) -> None:
        review = self.review
        run_step(self, f"splitting #{cid}…", lambda: review.split(cid, k))

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
            elif board.level != 0:  # a group's own or inherited name, else the group of a cluster so named
                text = value.casefold()
                found = [n.index for n in board.nodes if text in n.label.casefold()][:1] or \
                    [board.group_of(c) for c in board.state.find_clusters(value, board.view.suggested, limit=1)]
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


def _sort_name(key: str, stat: StatColumn | None) -> str:
    if key in ("growing", "shrinking"):
        return f"{key} fastest"
    if key == "stat" and stat is not None:
        return stat.describe()
    return key
