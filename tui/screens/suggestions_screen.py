"""Merge suggestions: the closest sibling clusters of the tree, listed as "likely one topic", to merge one pair."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from engine.display_text import safe_text
from tui.actions import bindings
from tui.formatting import fit
from tui.screens.modal import Modal


class SuggestionsScreen(Modal[int | None]):
    """Lists the pairs (closest first) with their names and sizes; Enter returns the chosen pair's index."""

    BINDINGS = bindings("suggestions")

    DEFAULT_CSS = """
    SuggestionsScreen { align: center middle; }
    SuggestionsScreen > Vertical { width: 110; max-width: 98%; height: auto; max-height: 90%;
                                   border: round $primary; background: $panel; padding: 0 1; }
    SuggestionsScreen OptionList { height: auto; max-height: 20; border: none; }
    SuggestionsScreen .hint { color: $text-muted; }
    """

    def __init__(self, pairs: list, name, size) -> None:
        """``pairs``: :class:`~engine.review_tree.SuggestedMerge` items; ``name``/``size`` of a review cluster."""
        super().__init__()
        self.pairs = pairs
        self.cluster_name, self.cluster_size = name, size

    def _line(self, pair) -> str:
        """One pair on one line: the two names share what the terminal's width leaves beside the numbers."""
        room = max(10, (min(self.app.size.width, 140) - 40) // 2)

        def one(c: int) -> str:
            return f"#{c} {fit(self.cluster_name(c), room)} ({self.cluster_size(c):,})"

        return safe_text(f"{pair.distance:.2f}  {one(pair.a)} + {one(pair.b)}")

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Likely one topic: sibling clusters of the tree, the tree's first merges first"
            yield OptionList(*[Option(self._line(p), id=str(i)) for i, p in enumerate(self.pairs)])
            yield Static("Enter merges the pair (into the larger; ctrl+z undoes) · Esc closes", classes="hint",
                         markup=False)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)
