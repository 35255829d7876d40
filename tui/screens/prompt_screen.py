"""A one-line prompt (e.g. the export path) with a default value."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from tui.actions import bindings
from tui.screens.modal import Modal


class PromptScreen(Modal[str | None]):
    """Asks for one value; Enter returns it (stripped, possibly ""), Esc returns None."""

    BINDINGS = bindings("prompt")

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical { width: 90; max-width: 95%; height: auto; border: round $primary;
                              background: $panel; padding: 1 2; }
    PromptScreen #prompt-hint { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, title: str, value: str = "", hint: str = "Enter to confirm · Esc to cancel") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Input(self.value, id="prompt-input")
            yield Static(self.hint, id="prompt-hint", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())  # "" is an answer (clear, auto); Esc gives None

    def action_cancel(self) -> None:
        self.dismiss(None)
