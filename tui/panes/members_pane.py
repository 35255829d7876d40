"""The members pane: the texts of the selected cluster, or the results of a search or "more like this",
and the decisions taken on texts (move, noise).

A query is searched by words and by meaning (engine/hybrid_search.py), among the rows of the board's filter,
in thread workers; while one runs only the newest query typed meanwhile is kept and runs next, so results
never lag behind the keyboard.  Each result says how it matched; "mark all matching" shows and marks every
row holding the words, so one move applies to all of them.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.worker import get_current_worker

from tui.actions import bindings
from tui.formatting import fit
from tui.messages import ReviewStep
from tui.panes import may_change, on_screen
from tui.screens.move_screen import NEW, MoveScreen
from tui.widgets.border_titles import set_border_titles
from tui.widgets.member_list import MemberList

if TYPE_CHECKING:
    from engine.review_session import ReviewSession
    from engine.session import Session
    from tui.board import Board

SEARCH_RESULTS = 200
#: The pane's title while it shows search results (the query itself is in the search bar; a title that
#: changed with every keystroke repainted the whole pane each time).
SEARCH_TITLE = "Texts like the search"


class MembersPane(Vertical):
    """Members of one cluster or search results, and the keys that move texts."""

    BINDINGS = bindings("members", pane=True)

    class Results(Message):
        """Search results ready (``found``, a HybridResult, None when the search failed)."""

        def __init__(self, query: str, seq: int, found) -> None:
            super().__init__()
            self.query, self.seq, self.found = query, seq, found

    class MoreLike(Message):
        def __init__(self, text: str, rows: np.ndarray, scores: np.ndarray) -> None:
            super().__init__()
            self.text, self.rows, self.scores = text, rows, scores

    def __init__(self) -> None:
        super().__init__(id="middle")
        self.session: Session | None = None
        self.review: ReviewSession | None = None
        self.board: Board | None = None
        self.cluster_id: int | None = None
        #: The title of the results shown, None while the members of :attr:`cluster_id` are shown.
        self.search_mode: str | None = None
        self._results_back: list[tuple] = []  # results that "more like this" replaced, for Esc
        self._query = ""  # the newest query typed
        self._query_seq = itertools.count(1)
        self._query_running = False
        self._pending_query: str | None = None
        self.last_query_shown: tuple[int, str] | None = None
        #: The board's row filter (a bool mask per corpus row; None: every row): searches keep to it.
        self.within: np.ndarray | None = None
        self._hybrid = None  # the HybridSearch of the session, built in the first search's worker
        self.word_rows: np.ndarray | None = None  # every row the words of the results shown match
        self.members = MemberList(id="members")

    def compose(self) -> ComposeResult:
        yield self.members

    def on_mount(self) -> None:
        set_border_titles(self.members, "Members")

    def _text_of(self, row: int) -> str:
        return self.session.corpus.texts[row]

    # ------------------------------------------------------------------ the members of a cluster

    def show_cluster(self, board: "Board", session: "Session", review: "ReviewSession", cluster_id: int,
                     keep_row: int | None = None) -> None:
        """Show the members of ``cluster_id`` (closest to the centre first), leaving any results."""
        self.board, self.session, self.review = board, session, review
        self.cluster_id = cluster_id
        self.search_mode = None
        self._results_back.clear()
        members = board.members(cluster_id)
        lst = self.members
        lst.empty_message = "No texts in this cluster."
        lst.set_rows(members, self._text_of, scores=board.scores[members], keep_row=keep_row)
        order = "closest to the centre first" if board.level == 0 else "most central first"
        set_border_titles(lst, fit(f"Members of {board.tag(cluster_id)} {board.name(cluster_id)}".replace("  ", " ")
                                   .strip(), 60),
                          f"{len(members):,} · {order}" if cluster_id >= 0 else f"{len(members):,}")

    def leave_results(self) -> None:
        """Back from search or "more like this" results to the members of the cluster."""
        self._results_back.clear()
        if self.search_mode is not None and self.board is not None and self.cluster_id is not None:
            self.show_cluster(self.board, self.session, self.review, self.cluster_id)

    @on(MemberList.MarksChanged)
    def _marks_changed(self, event: MemberList.MarksChanged) -> None:
        n = len(self.members.marked)
        set_border_titles(self.members, subtitle=f"{n:,} marked · v moves · d sends to noise" if n else
                          f"{len(self.members.rows):,}")

    # ------------------------------------------------------------------ search

    def query_changed(self, query: str) -> None:
        """The search bar now holds ``query``: search it (the newest wins), or leave results when empty."""
        self._query = query
        if not query:
            self._pending_query = None
            self.leave_results()
        elif self._query_running:
            self._pending_query = query  # run when the current search is done
        else:
            self._start_search(query)

    def _start_search(self, query: str) -> None:
        self._query_running = True
        self._pending_query = None
        self.search(query, next(self._query_seq))

    @work(thread=True, group="query", exit_on_error=False)
    def search(self, query: str, seq: int) -> None:
        """Search ``query`` by words and meaning (the meaning part embeds it with the model's query prompt)."""
        try:
            if self._hybrid is None:
                from engine.hybrid_search import HybridSearch

                self._hybrid = HybridSearch.from_session(self.session)
            found = self._hybrid.search(query, SEARCH_RESULTS, within=self.within)
        except Exception as exc:
            self.notify(f"Search failed: {exc}", severity="error")
            found = None
        self.post_message(self.Results(query, seq, found))

    @on(Results)
    def _results(self, event: Results) -> None:
        self._query_running = False
        pending = self._pending_query
        found = event.found
        if found is not None and self._query:
            self._results_back.clear()
            self.word_rows = found.word_rows
            words = len(found.word_rows)
            exact = "exact: " if found.query.exact else ""
            note = f"{len(found):,} shown · {exact}{words:,} hold the words (w marks all)" if words else \
                f"{len(found):,} like it · no text holds the words"
            self._show_results(SEARCH_TITLE, found.rows, found.cosines, how=found.how,
                               subtitle=f"{note} · Esc returns")
            self.last_query_shown = (event.seq, event.query)
        if pending and pending != event.query:
            self._start_search(pending)

    def _show_results(self, title: str, rows: np.ndarray, scores: np.ndarray, how: list[str] | None = None,
                      subtitle: str | None = None) -> None:
        if self.board is None:
            return
        self.search_mode = title
        lst = self.members
        lst.empty_message = "No text matches." if how is not None else "No similar texts."
        lst.set_rows(rows, self._text_of, scores=scores, clusters=self.board.labels[rows], how=how)
        set_border_titles(lst, title, subtitle or f"{len(rows):,} most similar · Esc returns to the cluster")

    def filter_changed(self, within: np.ndarray | None) -> None:
        """The board's row filter changed: searches keep to it, and the results shown are searched again."""
        self.within = within
        if self.search_mode == SEARCH_TITLE and self._query:
            self.query_changed(self._query)

    def action_mark_word_hits(self) -> None:
        """Show every row holding the words of the search, all marked: one move or noise applies to all."""
        rows = self.word_rows
        if self.search_mode != SEARCH_TITLE or rows is None or not len(rows):
            self.notify("Search for words first (/): this marks every text that holds them.", timeout=3)
            return
        if self._hybrid is not None:
            mask = np.zeros(len(self.board.labels), dtype=bool)
            mask[rows] = True
            rows = self._hybrid.keywords.ranked(mask)
        self._show_results(SEARCH_TITLE, rows, np.full(len(rows), np.nan, dtype=np.float32),
                           how=["word"] * len(rows), subtitle=f"all {len(rows):,} holding the words · Esc returns")
        self.members.set_marks(set(rows.tolist()))
        self.members.focus()

    def back_to_earlier_results(self) -> bool:
        """Esc after "more like this" from results: show those results again (False when there were none)."""
        if not self._results_back:
            return False
        title, rows, scores = self._results_back.pop()
        self._show_results(title, rows, scores)
        self.members.focus()
        return True

    def action_more_like_this(self) -> None:
        """Show the texts most similar to the selected member (searched in a worker, like the search bar)."""
        row = self.members.current_row
        if self.session is not None and row >= 0:
            self.more_like(row)

    @work(thread=True, exclusive=True, group="more-like", exit_on_error=False)
    def more_like(self, row: int) -> None:
        session = self.session
        rows, scores = session.similar_to_row(row, SEARCH_RESULTS)
        if not get_current_worker().is_cancelled:
            self.post_message(self.MoreLike(session.corpus.texts[row], rows, scores))

    @on(MoreLike)
    def _more_like(self, event: MoreLike) -> None:
        lst = self.members
        if self.search_mode is not None:  # from results: Esc comes back to them
            self._results_back.append((self.search_mode, lst.rows.copy(),
                                       None if lst.scores is None else lst.scores.copy()))
        self._show_results(f"Texts like “{fit(event.text, 40)}”", event.rows, event.scores)
        lst.focus()

    # ------------------------------------------------------------------ decisions on texts

    def _rows_to_change(self) -> np.ndarray | None:
        """The marked rows (or the one under the cursor), when the person can see them and may change them."""
        if not may_change(self, self.review) or self.board is None:
            return None
        if not on_screen(self.members):
            self.notify("The members pane is not on screen: Tab or Enter shows it, then act on what you see.",
                        severity="warning", timeout=4)
            return None
        return self.members.selected_rows()

    def action_move_members(self) -> None:
        """Move the marked members (or the one under the cursor) to a cluster picked by name."""
        rows = self._rows_to_change()
        if rows is None:
            return
        board = self.board
        labels = board.state.labels  # texts move between the review's own clusters, at any zoom level
        rows = rows[labels[rows] != -2] if len(rows) else rows
        if not len(rows):
            return
        here = int(labels[rows[0]])

        def find(query: str) -> list[tuple[int, str, int]]:
            ids = board.state.find_clusters(query, board.view.suggested, limit=50) if query else \
                sorted(board.view.ids.tolist(), key=lambda c: -board.cluster_size(c))[:50]
            return [(c, board.cluster_name(c), board.cluster_size(c)) for c in ids]

        def chosen(target: str | None) -> None:
            if target is None:
                return
            review = self.review
            self.members.clear_marks()
            if target == NEW:
                self.post_message(ReviewStep(lambda: review.new_cluster(rows)))
            elif target == "noise":
                self.post_message(ReviewStep(lambda: review.to_noise(rows)))
            else:
                self.post_message(ReviewStep(lambda: review.move(rows, int(target))))

        self.app.push_screen(MoveScreen(len(rows), find, exclude=here), chosen)

    def action_members_to_noise(self) -> None:
        """Send the marked members (or the one under the cursor) to the unclustered group."""
        rows = self._rows_to_change()
        if rows is None:
            return
        rows = rows[(self.board.state.labels[rows] >= 0)] if len(rows) else rows
        if not len(rows):
            return
        self.members.clear_marks()
        review = self.review
        self.post_message(ReviewStep(lambda: review.to_noise(rows)))
