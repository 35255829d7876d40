"""A list to pick one line from (a statistic to show, a cluster to go to), with an optional heading line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from engine.display_text import safe_text
from tui.actions import bindings
from tui.screens.modal import Modal


class PickScreen(Modal[str | None]):
    """Lists ``(key, line)`` pairs under ``title`` (and ``heading``, for columns); Enter returns the chosen key,
    Esc returns None."""

    BINDINGS = bindings("pick")

    DEFAULT_CSS = """
    PickScreen { align: center middle; }
    PickScreen > Vertical { width: 100; max-width: 98%; height: auto; max-height: 90%;
                            border: round $primary; background: $panel; padding: 0 1; }
    PickScreen OptionList { height: auto; max-height: 24; border: none; padding: 0; }
    PickScreen #pick-heading { color: $text-muted; text-style: bold; }
    PickScreen #pick-hint { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, title: str, lines: list[tuple[str, str]], hint: str = "Enter chooses · Esc closes",
                 heading: str = "", current: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines
        self.hint = hint
        self.heading = heading
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            if self.heading:
                yield Static(self.heading, id="pick-heading", markup=False)
            yield OptionList(*[Option(safe_text(line), id=key) for key, line in self.lines], id="pick-list")
            yield Static(self.hint, id="pick-hint", markup=False)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.current is not None:
            keys = [key for key, _ in self.lines]
            if self.current in keys:
                options.highlighted = keys.index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
