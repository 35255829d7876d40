"""The query bar: type any text to see the most similar texts of the whole corpus, live.

Every change is posted at once; the app runs one search at a time and, when
typing outpaces it, only the newest text (latest wins), so results follow the
keyboard without a fixed delay and without a queue of stale searches.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.widgets import Input

from tui.actions import bindings


class QueryBar(Input):
    """An input that posts :class:`QueryBar.Query` with the current text on every change."""

    BINDINGS = bindings("search")

    #: Input sets its virtual size (the text's width) on every keystroke, and Textual's own reactive
    #: then lays out the whole screen, which re-sizes every scrollable pane and repaints their
    #: scrollbars on each keystroke.  The bar is one line of fixed size, so a repaint is all a new width
    #: needs.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    class Query(Message):
        """The query text now (empty: the search was cleared)."""

        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    class Browse(Message):
        """Enter or Esc: the person goes on to the results (or back to the members)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(placeholder="find texts like… (type any phrase · Enter to browse the results · Esc clears)",
                         **kwargs)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Query(self.value.strip()))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Browse())

    def action_clear_query(self) -> None:
        self.value = ""
        self.post_message(self.Browse())
