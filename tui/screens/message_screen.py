"""A modal message (errors, notices) that the user dismisses with Enter or Esc."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from tui.actions import bindings
from engine.display_text import safe_text
from tui.screens.modal import Modal


class MessageScreen(Modal[None]):
    """Shows ``title`` and ``message``; Enter, Esc or q closes it."""

    BINDINGS = bindings("message")

    DEFAULT_CSS = """
    MessageScreen { align: center middle; }
    MessageScreen > Vertical { width: 80; max-width: 95%; height: auto; border: round $error;
                               background: $panel; padding: 1 2; }
    MessageScreen.-notice > Vertical { border: round $primary; }
    MessageScreen #message-title { text-style: bold; margin-bottom: 1; }
    MessageScreen #message-hint { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, title: str, message: str, *, error: bool = True, hint: str = "Enter or Esc closes") -> None:
        super().__init__(classes="" if error else "-notice")
        self.title_text = title
        self.message = message
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe_text(self.title_text), id="message-title", markup=False)
            yield Static(safe_text(self.message, one_line=False), id="message-body", markup=False)
            yield Static(self.hint, id="message-hint", markup=False)
