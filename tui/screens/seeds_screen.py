"""The labels proposed per cluster from ``--labels`` / ``--labels-from``: accept one with Enter (a rename)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from engine.label_names import label_key
from tui.actions import bindings
from tui.formatting import fit, pad
from tui.screens.review_dialog import ReviewDialog
from tui.widgets.page_safe_option_list import PageSafeOptionList

if TYPE_CHECKING:
    from engine.label_seeds import ClusterLabel
    from engine.review_session import Outcome, ReviewSession


class SeedsScreen(ReviewDialog):
    """Lists the clusters whose name is not their proposed label, most confident first; Enter accepts."""

    BINDINGS = bindings("seeds")

    DEFAULT_CSS = """
    SeedsScreen { align: center middle; }
    SeedsScreen > Vertical { width: 110; max-width: 98%; height: 85%; border: round $primary;
                             background: $panel; padding: 0 1; }
    SeedsScreen #seeds-status { height: auto; color: $text-muted; }
    SeedsScreen #seeds-head { color: $text-muted; text-style: bold; }
    SeedsScreen #seeds-list { height: 1fr; border: none; padding: 0; }
    SeedsScreen #seeds-hint { height: auto; color: $text-muted; }
    """

    def __init__(self, review: "ReviewSession", source: str,
                 proposals: Callable[[], "dict[int, ClusterLabel]"],
                 run_step: Callable[..., "Outcome | None"]) -> None:
        super().__init__(review, run_step)
        self.source, self.proposals = source, proposals
        self.listed: list[ClusterLabel] = []

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Labels proposed from {self.source}"
            yield Static("", id="seeds-status", markup=False)
            yield Static(f"   # {'texts':>6}  conf.  {pad('proposed label', 32)} now", id="seeds-head", markup=False)
            yield PageSafeOptionList(id="seeds-list")
            yield Static("Enter names the cluster with it (a label in use: it joins) · ^z undo · Esc",
                         id="seeds-hint", markup=False)

    def on_mount(self) -> None:
        self._refresh()
        self.query_one(OptionList).focus()

    def _refresh(self) -> None:
        state, options = self.review.state, self.query_one(OptionList)
        keep = options.highlighted or 0
        self.listed = sorted((p for p in self.proposals().values()
                              if label_key(state.name(p.cluster_id) or "") != label_key(p.label)),
                             key=lambda p: (-p.confidence, p.cluster_id))
        sizes = state.sizes()
        options.clear_options()
        for i, p in enumerate(self.listed):
            now = state.name(p.cluster_id) or "–"
            options.add_option(Option(Text(f"{p.cluster_id:>4} {sizes.get(p.cluster_id, 0):>6,}  {p.confidence:>4.0%}  "
                                           f"{pad(p.label, 32)} {fit(now, 40)}", no_wrap=True,
                                           overflow="ellipsis"), id=str(i)))
        if not self.listed:
            options.add_option(Option("Every cluster carries its proposed label.", disabled=True))
        else:
            options.highlighted = min(keep, len(self.listed) - 1)

    def after_step(self) -> None:
        self.query_one("#seeds-status", Static).update(self.last_message)
        self._refresh()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_accept()

    def action_accept(self) -> None:
        options = self.query_one(OptionList)
        i = options.highlighted
        if i is None or i >= len(self.listed):
            return
        p, review = self.listed[i], self.review
        self.step(lambda: review.rename(p.cluster_id, p.label))
