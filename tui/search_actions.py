"""Live search in the app: texts like a typed phrase (latest query wins), and more like this.

A mixin of :class:`tui.app.QtuiApp`.  Queries are embedded and searched in
thread workers; while one runs, only the newest of the queries typed meanwhile
is kept and runs next, so results never lag behind the keyboard.
"""

from __future__ import annotations

import numpy as np
from textual import work
from textual.worker import get_current_worker

from tui.formatting import fit
from tui.widgets.border_titles import set_border_titles
from tui.widgets.member_list import MemberList
from tui.widgets.query_bar import QueryBar

SEARCH_RESULTS = 200
#: The members pane's title while it shows search results (the query itself is in the search bar
#: above; a title that changed with every keystroke repainted the whole pane each time).
SEARCH_TITLE = "Texts like the search"


class SearchActions:
    """Search bar and "more like this" (mixed into the app)."""

    def on_query_bar_query(self, event: QueryBar.Query) -> None:
        if not event.query:
            self._pending_query = None
            self.leave_results()
            return
        if self._query_running:
            self._pending_query = event.query  # latest wins: run when the current search is done
        else:
            self._start_search(event.query)

    def _start_search(self, query: str) -> None:
        self._query_running = True
        self._pending_query = None
        self.search(query, next(self._query_seq))

    @work(thread=True, group="query", exit_on_error=False)
    def search(self, query: str, seq: int) -> None:
        """Embed ``query`` with the model's query prompt and show the nearest texts."""
        session = self.session
        try:
            if session is None:
                return
            rows, scores = session.search_text(query, SEARCH_RESULTS)
            self.call_from_thread(self._search_done, query, seq, rows, scores)
        except Exception as exc:
            self.call_from_thread(self._search_done, query, seq, None, None)
            self.call_from_thread(self.notify, f"Search failed: {exc}", severity="error")

    def _search_done(self, query: str, seq: int, rows, scores) -> None:
        self._query_running = False
        pending = self._pending_query
        current = self.query_one("#query", QueryBar).value.strip()
        if rows is not None and current:
            self._results_back.clear()
            self._show_results(SEARCH_TITLE, rows, scores)
            self.last_query_shown = (seq, query)
        if pending and pending != query:
            self._start_search(pending)

    def _show_results(self, title: str, rows: np.ndarray, scores: np.ndarray) -> None:
        if self.board is None:
            return
        self.search_mode = title
        lst = self.query_one("#members", MemberList)
        lst.empty_message = "No similar texts."
        lst.set_rows(rows, self._text_of, scores=scores, clusters=self.board.labels[rows])
        set_border_titles(self.query_one("#members"), title,
                          f"{len(rows):,} most similar · Esc returns to the cluster")

    def leave_results(self) -> None:
        """Back from search or "more like this" results to the members of the selected cluster."""
        self._results_back.clear()
        if self.search_mode is not None:
            cid, self.selected_cluster = self.selected_cluster, None
            self._select_cluster(cid)

    def action_more_like_this(self) -> None:
        """Show the texts most similar to the selected member (searched in a worker, like the search bar)."""
        row = self.query_one("#members", MemberList).current_row
        if self.session is not None and row >= 0:
            self.more_like(row)

    @work(thread=True, exclusive=True, group="more-like", exit_on_error=False)
    def more_like(self, row: int) -> None:
        session = self.session
        rows, scores = session.similar_to_row(row, SEARCH_RESULTS)
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._show_more_like, session.corpus.texts[row], rows, scores)

    def back_to_earlier_results(self) -> bool:
        """Esc after "more like this" from results: show those results again (False when there were none)."""
        if not self._results_back:
            return False
        title, rows, scores = self._results_back.pop()
        self._show_results(title, rows, scores)
        self.query_one("#members", MemberList).focus()
        return True

    def _show_more_like(self, text: str, rows: np.ndarray, scores: np.ndarray) -> None:
        lst = self.query_one("#members", MemberList)
        if self.search_mode is not None:  # from results: Esc comes back to them
            self._results_back.append((self.search_mode, lst.rows.copy(),
                                       None if lst.scores is None else lst.scores.copy()))
        self._show_results(f"Texts like “{fit(text, 40)}”", rows, scores)
        self.query_one("#members", MemberList).focus()
