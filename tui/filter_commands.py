"""The row filter's commands on the board: ``f`` asks for a SQL WHERE over the file's columns (and clears
it), ``C`` compares the filtered rows with the rest; the columns' statistics are read once per file.

:class:`FilterCommands` is the container around the panes and the search bar inside the review commands,
so its keys work wherever the focus is on the board; it owns the :class:`~tui.board_filter.BoardFilter`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.containers import Vertical

from tui.actions import bindings
from tui.board_filter import BoardFilter
from tui.messages import StatusChanged
from tui.screens.prompt_screen import PromptScreen

if TYPE_CHECKING:
    from engine.review_session import ReviewSession
    from tui.screens.board_screen import BoardScreen


class FilterCommands(Vertical):
    """Filter the board's rows by their columns, compare the filter with the rest."""

    BINDINGS = bindings("filter")

    def __init__(self, board_screen: "BoardScreen") -> None:
        super().__init__(id="filtering")
        self.board_screen = board_screen
        #: The row filter; made when a review opens.
        self.filter: BoardFilter | None = None

    def follow(self, review: "ReviewSession") -> None:
        """A review is open: filter its file's rows (a new file starts unfiltered)."""
        if self.filter is None or self.filter.corpus is not review.session.corpus:
            self.filter = BoardFilter(review.session.corpus)
            self.board_screen.clusters.columns = self.board_screen.detail.columns = self.filter

    def action_filter_rows(self) -> None:
        """Ask for a SQL WHERE over the columns and show only the rows it matches; with a filter on, clear it."""
        flt = self.filter
        if self.board_screen.board is None or flt is None:
            return
        if flt.active:
            self.set_filter(None, None)
            return
        found: dict = {}

        def check(value: str) -> str | None:
            if not value:
                return None  # empty: no filter
            mask, problem = flt.check(value)
            found[value] = mask
            return problem

        def chosen(value: str | None) -> None:
            if value:
                self.set_filter(value, found.get(value))

        columns = ", ".join(["text"] + list(flt.corpus.extra_columns))
        self.app.push_screen(PromptScreen("Show only the rows where (SQL)", flt.last_where,
                                          hint=f"columns: {columns} · e.g. rating <= 2 AND product = 'X5 Pro', "
                                               f"text LIKE '%battery%', text ~ '(?i)refund' · Enter applies · "
                                               f"f or Esc on the clusters clears it", check=check), chosen)

    def clear(self) -> bool:
        """Clear the filter; False when there was none."""
        if self.filter is None or not self.filter.active:
            return False
        self.set_filter(None, None)
        return True

    @work(thread=True, exclusive=True, group="columns-read", exit_on_error=False)
    def read_columns(self) -> None:
        """Encode the file's columns for their statistics (once per file), then show the statistic chosen."""
        try:
            self.filter.build_profiler()
            self.filter.baseline(None, None)
        except Exception as exc:  # the columns are an extra: say so, keep the review going
            self.notify(f"The file's columns could not be read for statistics: {exc}", severity="warning")
            return
        self.post_message(StatusChanged())

    def action_compare(self) -> None:
        """The filtered rows against the rest: the clusters they fall in more than the other rows do."""
        from engine.compare import compare_clusters
        from engine.errors import QtuiError
        from tui.screens.compare_screen import CompareScreen

        board, flt = self.board_screen.board, self.filter
        if board is None or flt is None:
            return
        if not flt.active:
            self.notify("Filter the rows first (f): this compares them with the rest.", timeout=4)
            return
        try:
            table = compare_clusters(board.state.labels, flt.within)
        except QtuiError as exc:
            self.notify(str(exc), severity="warning")
            return
        clusters = self.board_screen.clusters.table

        def chosen(key: str | None) -> None:
            if key is not None and clusters.select_cluster(int(key)):
                clusters.focus()

        self.app.push_screen(CompareScreen(table, board.name, flt.where), chosen)

    def filter_by(self, where: str) -> None:
        """Show only the rows ``where`` selects (``--where``); a message says why when it cannot be used."""
        mask, problem = self.filter.check(where)
        if problem:
            from tui.screens.message_screen import MessageScreen

            self.filter.last_where = where
            self.app.push_screen(MessageScreen("The filter cannot be used", f"where {where!r}: {problem}. Every "
                                               f"row is shown; f asks for another."))
            return
        self.set_filter(where, mask)

    def set_filter(self, where: str | None, mask) -> None:
        """Show only the rows of ``mask`` (None: every row again); sizes, members and search follow."""
        screen = self.board_screen
        self.filter.set(where, mask)
        if mask is not None and self.filter.profiler is not None:
            self.filter.baseline(where, mask)  # once per filter: the columns tab then profiles a cluster on the spot
        screen.install(screen.board.filtered(mask, where))
        screen.members.filter_changed(mask)
        self.notify(f"Showing {self.filter.describe()}; f clears it" if mask is not None else
                    "Filter cleared: every row is shown.", timeout=3)
