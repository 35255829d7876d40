"""Pick the cluster to move texts to, by typing part of its name (fuzzy), or noise, or a new cluster."""

from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.actions import bindings
from tui.formatting import fit
from tui.screens.modal import Modal
from tui.widgets.page_safe_option_list import PageSafeOptionList

NEW = "new"
NOISE = "noise"


class MoveScreen(Modal[str | None]):
    """Returns a cluster id as text, ``"noise"``, ``"new"``, or None when cancelled."""

    BINDINGS = bindings("move")

    DEFAULT_CSS = """
    MoveScreen { align: center middle; }
    MoveScreen > Vertical { width: 80; max-width: 95%; height: 80%; border: round $primary; background: $panel;
                            padding: 0 1; }
    MoveScreen OptionList { height: 1fr; }
    MoveScreen #move-hint { color: $text-muted; }
    """

    def __init__(self, count: int, find: Callable[[str], list[tuple[int, str, int]]], exclude: int | None) -> None:
        """``find(query)`` gives (cluster id, name, size) of the clusters matching ``query``, best first."""
        super().__init__()
        self.count = count
        self.find = find
        self.exclude = exclude

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Move {self.count:,} text{'s' * (self.count != 1)} to…"
            yield Input(placeholder="type part of a cluster's name or its number", id="move-query")
            yield PageSafeOptionList(id="move-options")
            yield Static("Enter moves · ↓ to the list · Esc cancels", id="move-hint")

    def on_mount(self) -> None:
        self._fill("")

    def _fill(self, query: str) -> None:
        options = self.query_one("#move-options", OptionList)
        options.clear_options()
        for cid, name, size in self.find(query):
            if cid != self.exclude:
                options.add_option(Option(Text(f"#{cid:<4} {fit(name, 50)}  ({size:,})"), id=str(cid)))
        options.add_option(Option("→ a new cluster", id=NEW))
        options.add_option(Option("→ unclustered (noise)", id=NOISE))
        options.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value.strip())

    def on_input_submitted(self) -> None:
        options = self.query_one("#move-options", OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_to_list(self) -> None:
        self.query_one("#move-options", OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
