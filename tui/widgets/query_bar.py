"""The query bar: type any text to see the most similar texts of the whole corpus, live.

Every change is posted at once; the app runs one search at a time and, when
typing outpaces it, only the newest text (latest wins), so results follow the
keyboard without a fixed delay and without a queue of stale searches.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class QueryBar(Input):
    """An input that posts :class:`QueryBar.Query` with the current text on every change."""

    BINDINGS = [Binding("escape", "clear_query", "Clear search")]

    class Query(Message):
        """The query text now (empty: the search was cleared)."""

        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    def __init__(self, **kwargs) -> None:
        super().__init__(placeholder="find texts like… (type any phrase · Enter to browse the results · Esc clears)",
                         **kwargs)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Query(self.value.strip()))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.app.action_focus_members()

    def action_clear_query(self) -> None:
        self.value = ""
        self.app.action_focus_members()
