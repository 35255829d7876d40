"""Zooming the board between the clustering tree's levels: `+` coarser, `-` finer, a tree node or a number of
clusters; the level views are built in a worker (the next ones ahead, so a step repaints from kept views).

:class:`Zoom` is a widget without a face on the board; the board it builds comes back as a
:class:`~tui.messages.BoardReady` with the group to select, which the board screen installs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.widget import Widget
from textual.worker import get_current_worker

from tui.messages import BoardReady

if TYPE_CHECKING:
    from tui.screens.board_screen import BoardScreen


def describe_level(board) -> str:
    """'level +2 · 12 groups of 77' (the review's own clusters at level 0: '77 clusters')."""
    clusters = len(board.view.ids)
    if board.level == 0:
        return f"{clusters} clusters"
    return f"level {board.level:+d} · {board.n_clusters} groups of {clusters}"


def opening_level(review, clusters: int | None = None) -> int:
    """The level a review opens at: the one nearest ``clusters`` (``qtui open --clusters N``), else the one
    it was left at."""
    levels = review.levels()
    if levels is None:
        return 0
    if clusters:
        return levels.level_nearest(clusters)
    level = review.state.ui.get("level", 0)
    return levels.clamp(level) if isinstance(level, int) else 0


class Zoom(Widget):
    """Moves the board screen's board to another level of the review's tree."""

    DEFAULT_CSS = "Zoom { display: none; }"

    def __init__(self, board_screen: "BoardScreen") -> None:
        super().__init__()
        self.board_screen = board_screen

    def _levels(self):
        review = self.board_screen.review
        levels = review.levels() if review is not None and self.board_screen.board is not None else None
        if levels is None and review is not None:
            self.notify("This clustering has no tree: there are no broader or finer levels to zoom to.",
                        severity="warning", timeout=4)
        return levels

    def step(self, delta: int) -> None:
        """One level coarser (``delta`` 1) or finer (-1), keeping the text under the members cursor in view."""
        levels = self._levels()
        if levels is None:
            return
        level = self.board_screen.board.level
        target = levels.clamp(level + delta)
        if target == level:
            self.notify(f"Already the {'broadest' if delta > 0 else 'finest'} level "
                        f"({describe_level(self.board_screen.board)}).", timeout=3)
            return
        self.go(target)

    def to_clusters(self, clusters: int) -> None:
        """Show the level nearest ``clusters`` groups (no re-clustering)."""
        levels = self._levels()
        if levels is not None:
            target = levels.level_nearest(clusters)
            self.notify(f"The tree's level nearest {clusters} clusters: {levels.count_at(target)} groups "
                        f"(level {target:+d}).", timeout=4)
            self.go(target)

    def go(self, level: int, key: tuple | None = None) -> None:
        """Show ``level``, the cursor on the group with ``key`` (a tree node or cluster), else on the group of
        the text under the members cursor (else of the first text of the group selected)."""
        screen = self.board_screen
        row = screen.members.members.current_row
        if row < 0 and screen.selected_cluster is not None:
            first = screen.board.members(screen.selected_cluster)
            row = int(first[0]) if len(first) else -1
        self.build(level, key, row)

    @work(thread=True, exclusive=True, group="view", exit_on_error=False)
    def build(self, level: int, key: tuple | None, row: int) -> None:
        from tui.level_board import make_board

        screen = self.board_screen
        board = make_board(screen.review, level, view=screen.board.view)
        select = None
        if key is not None:
            select = board.level_view.find(key) if board.level != 0 else key[1] if key[0] == "cluster" else None
        if select is None and row >= 0:
            select = int(board.labels[row])
        if not get_current_worker().is_cancelled:
            screen.post_message(BoardReady(board, select=select, level_changed=True))

    @work(thread=True, exclusive=True, group="zoom-ahead", exit_on_error=False)
    def look_ahead(self, level: int) -> None:
        """Build the levels next to ``level`` (their keywords are kept), so that `+`/`-` repaints at once."""
        review = self.board_screen.review
        levels = review.levels() if review is not None else None
        if levels is None:
            return
        for near in (level + 1, level - 1):
            if levels.clamp(near) == near and near != 0 and not get_current_worker().is_cancelled:
                review.level_view(near)
