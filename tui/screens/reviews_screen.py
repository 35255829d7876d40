"""The saved reviews of the file (current, set aside, of earlier versions), to open one of them."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.actions import bindings
from engine.display_text import safe_text
from tui.screens.modal import Modal


class ReviewsScreen(Modal[str | None]):
    """Lists ``(review id, line)`` pairs; Enter returns the chosen id, Esc returns None."""

    BINDINGS = bindings("reviews")

    DEFAULT_CSS = """
    ReviewsScreen { align: center middle; }
    ReviewsScreen > Vertical { width: 110; max-width: 98%; height: auto; max-height: 90%;
                               border: round $primary; background: $panel; padding: 0 1; }
    ReviewsScreen OptionList { height: auto; max-height: 20; border: none; }
    ReviewsScreen #reviews-hint { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, reviews: list[tuple[str, str]], current: str | None) -> None:
        super().__init__()
        self.reviews = reviews
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Saved reviews of this file"
            yield OptionList(*[Option(safe_text(("▶ " if rid == self.current else "  ") + line), id=rid)
                               for rid, line in self.reviews])
            yield Static("Enter opens the review (the one open now is set aside, still listed) · Esc closes",
                         id="reviews-hint", markup=False)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
