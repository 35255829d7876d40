"""A one-line prompt (e.g. the export path) with a default value, and optionally a check that keeps it open."""

from __future__ import annotations

from typing import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from tui.actions import bindings
from tui.screens.modal import Modal


class PromptScreen(Modal[str | None]):
    """Asks for one value; Enter returns it (stripped, possibly ""), Esc returns None.

    With ``check`` (value -> one line saying what is wrong, or None), Enter on a value it finds wrong shows
    that line under the input and the prompt stays open."""

    BINDINGS = bindings("prompt")

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical { width: 90; max-width: 95%; height: auto; border: round $primary;
                              background: $panel; padding: 1 2; }
    PromptScreen #prompt-hint { color: $text-muted; margin-top: 1; }
    PromptScreen #prompt-error { color: $error; margin-top: 1; display: none; }
    PromptScreen #prompt-error.-shown { display: block; }
    """

    def __init__(self, title: str, value: str = "", hint: str = "Enter to confirm · Esc to cancel",
                 check: Callable[[str], str | None] | None = None) -> None:
        super().__init__()
        self.check = check
        self.error = Static("", id="prompt-error", markup=False)
        self.title_text = title
        self.value = value
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Input(self.value, id="prompt-input")
            yield self.error
            yield Static(self.hint, id="prompt-hint", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        problem = self.check(value) if self.check is not None else None
        if problem:
            self.error.update(problem)
            self.error.add_class("-shown")
            return
        self.dismiss(value)  # "" is an answer (clear, auto); Esc gives None

    def action_cancel(self) -> None:
        self.dismiss(None)
