"""The query bar: type any text to see the most similar texts of the whole corpus, live."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input

DEBOUNCE_SECONDS = 0.15


class QueryBar(Input):
    """An input that posts :class:`QueryBar.Settled` once typing pauses for a moment."""

    BINDINGS = [Binding("escape", "clear_query", "Clear search")]

    class Settled(Message):
        """The settled query text (may be empty: the search was cleared)."""

        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    def __init__(self, **kwargs) -> None:
        super().__init__(placeholder="find texts like… (type any phrase · Enter to browse the results · Esc clears)", **kwargs)
        self._timer: Timer | None = None

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_SECONDS, self._settle)

    def _settle(self) -> None:
        self._timer = None
        self.post_message(self.Settled(self.value.strip()))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.post_message(self.Settled(self.value.strip()))
        self.app.action_focus_members()

    def action_clear_query(self) -> None:
        self.value = ""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.post_message(self.Settled(""))
        self.app.action_focus_members()
