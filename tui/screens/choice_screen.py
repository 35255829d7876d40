"""A question with a few answers (resume a review? apply a re-clustering?), each on a button and a key."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from tui.actions import bindings
from engine.display_text import safe_text
from tui.screens.modal import Modal


class ChoiceScreen(Modal[str]):
    """Returns the key of the chosen answer; Esc returns ``cancel`` (the last answer unless given)."""

    BINDINGS = bindings("choice")

    DEFAULT_CSS = """
    ChoiceScreen { align: center middle; }
    ChoiceScreen > Vertical { width: 90; max-width: 95%; height: auto; max-height: 90%; border: round $primary;
                              background: $panel; padding: 1 2; }
    ChoiceScreen #choice-body { height: auto; max-height: 20; }
    ChoiceScreen #choice-buttons { height: auto; margin-top: 1; align-horizontal: right; }
    ChoiceScreen #choice-buttons Button { margin-left: 2; }
    """

    def __init__(self, title: str, message: str, answers: list[tuple[str, str]], cancel: str | None = None) -> None:
        """``answers`` are (key, label); the first is the default (Enter)."""
        super().__init__()
        self.title_text = title
        self.message = message
        self.answers = answers
        self.cancel_key = cancel or answers[-1][0]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            with VerticalScroll(id="choice-body"):
                yield Static(safe_text(self.message, one_line=False), markup=False)
            with Horizontal(id="choice-buttons"):
                for i, (key, label) in enumerate(self.answers):
                    yield Button(label, id=f"answer-{key}", variant="primary" if i == 0 else "default")

    def on_mount(self) -> None:
        self.query_one(f"#answer-{self.answers[0][0]}", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss((event.button.id or "").removeprefix("answer-"))

    def action_cancel(self) -> None:
        self.dismiss(self.cancel_key)
