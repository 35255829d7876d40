"""The one line both filtered-list dialogs share: "<label> at least [0.80]", a count beside it, +/- steps."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label, Static


class ThresholdRow(Horizontal):
    """A threshold the person types or steps with +/-; posts :class:`ThresholdRow.Changed` with a valid value."""

    DEFAULT_CSS = """
    ThresholdRow { height: 1; margin-bottom: 1; }
    ThresholdRow Label { width: auto; padding-right: 1; }
    ThresholdRow Input { width: 10; border: none; height: 1; padding: 0; }
    ThresholdRow #threshold-count { width: 1fr; padding-left: 2; color: $text-muted; }
    """

    class Changed(Message):
        """The threshold is now ``value`` (within the row's bounds)."""

        def __init__(self, value: float) -> None:
            super().__init__()
            self.value = value

    def __init__(self, label: str, value: float, low: float = 0.0, high: float = 1.0, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label, self.value, self.low, self.high = label, value, low, high
        self._count = ""

    def compose(self) -> ComposeResult:
        yield Label(self.label)
        yield Input(f"{self.value:.2f}", id="threshold-input")
        yield Static(self._count, id="threshold-count", markup=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        try:
            value = float(event.value)
        except ValueError:
            return
        if self.low <= value <= self.high and value != self.value:
            self.value = value
            self.post_message(self.Changed(value))

    def step(self, delta: float) -> None:
        """Raise or lower the threshold by ``delta`` (the input shows it, and Changed follows)."""
        value = round(min(self.high, max(self.low, self.value + delta)), 2)
        self.query_one("#threshold-input", Input).value = f"{value:.2f}"

    def show_count(self, text: str) -> None:
        """The line beside the threshold (how many items it lets through); kept until it is composed."""
        self._count = text
        if self.is_mounted and self.children:
            self.query_one("#threshold-count", Static).update(text)
