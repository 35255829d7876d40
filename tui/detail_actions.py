"""The detail pane in the app: the text under the members cursor, its fields and its nearest texts.

A mixin of :class:`tui.app.QtuiApp`.  The nearest texts are searched in a thread worker; the pane waits
up to :data:`NEIGHBOURS_WAIT` for them so that it paints once per move, and while the members list is
refilled from another pane (a search typed, a move in the clusters) it follows once the keys rest.
"""

from __future__ import annotations

import numpy as np
from textual import work
from textual.css.query import NoMatches
from textual.worker import get_current_worker

from tui.widgets.detail_view import DetailView
from tui.widgets.member_list import MemberList

NEIGHBOURS = 8
#: When the members list refills while another pane has the focus (typing a search, moving in the
#: clusters), the detail pane shows its first text once the keys rest this long: each key then
#: repaints the results or members only, and holding j does not render a detail per cluster passed.
DETAIL_REST_DELAY = 0.2
#: The detail pane waits this long for its nearest texts (a search of a few ms in a worker) to show
#: both in one paint; when they are later it shows the text first and adds them when they come.
NEIGHBOURS_WAIT = 0.1


class DetailActions:
    """Shows the highlighted member in the detail pane (mixed into the app)."""

    def _on_members_cursor(self) -> None:
        """The members cursor moved or the list was refilled (watched by the app: called in the same call)."""
        members = self.query_one("#members", MemberList)
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        if self.focused is not members:
            self._detail_timer = self.set_timer(DETAIL_REST_DELAY, self._show_current_detail)
            return
        self._show_detail(members.current_row)

    def _show_current_detail(self) -> None:
        self._detail_timer = None
        try:
            self._show_detail(self.query_one("#members", MemberList).current_row)
        except NoMatches:  # the app is closing
            pass

    def _show_detail(self, row: int) -> None:
        """The detail pane for corpus ``row`` (its text, fields and nearest texts; -1 clears it)."""
        detail = self.query_one("#detail-view", DetailView)
        b = self.board
        if row < 0 or self.session is None or b is None:
            self._pending_detail = None
            detail.clear()
            return
        corpus = self.session.corpus
        cid = int(b.labels[row])
        state = b.state
        fields = [("id", corpus.ids[row]), ("line", str(int(corpus.lines[row]))),
                  ("cluster", f"#{cid} {b.name(cid)}" if cid >= 0 else b.name(cid)),
                  ("score", "–" if np.isnan(b.scores[row]) else f"{b.scores[row]:.3f} (cosine to the centre)"),
                  ("label source", state.source_names(np.array([row]))[0])]
        for col in corpus.extra_columns:
            value = corpus.frame.get_column(col)[row]
            fields.append((col, "" if value is None else str(value)))
        # shown with its nearest texts in one paint when they come within NEIGHBOURS_WAIT (a few ms)
        self._pending_detail = (row, corpus.texts[row], fields)
        if self._neighbours_timer is not None:
            self._neighbours_timer.stop()
        self._neighbours_timer = self.set_timer(NEIGHBOURS_WAIT, self._show_pending_detail)
        self.find_neighbours(row)
        self._remember_selection()

    def _show_pending_detail(self, neighbours: list | None = None) -> None:
        """Show the detail waiting for its nearest texts (with them, or with a placeholder when late)."""
        if self._neighbours_timer is not None:
            self._neighbours_timer.stop()
            self._neighbours_timer = None
        if self._pending_detail is None:
            return
        _, text, fields = self._pending_detail
        self._pending_detail = None
        try:
            self.query_one("#detail-view", DetailView).show(text, fields, neighbours)
        except NoMatches:  # the app is closing
            pass

    @work(thread=True, exclusive=True, group="neighbours", exit_on_error=False)
    def find_neighbours(self, row: int) -> None:
        session, board = self.session, self.board
        if session is None or board is None:
            return
        rows, scores = session.similar_to_row(row, NEIGHBOURS)
        items = [(float(s), int(board.labels[r]), session.corpus.texts[r]) for r, s in zip(rows, scores)]
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._show_neighbours, row, items)

    def _show_neighbours(self, row: int, items: list) -> None:
        if row != self.query_one("#members", MemberList).current_row:
            return
        if self._pending_detail is not None and self._pending_detail[0] == row:
            self._show_pending_detail(items)  # the text, its fields and its neighbours in one paint
        else:
            self.query_one("#detail-view", DetailView).show_neighbours(items)
        self.neighbours_shown_for = row
