"""The name prompt: type a cluster's name, or pick a label in use (fuzzy) so the cluster joins that label."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from engine.label_names import Label, match_labels
from tui.actions import bindings
from tui.formatting import fit
from tui.screens.modal import Modal
from tui.widgets.page_safe_option_list import PageSafeOptionList

#: Labels the prompt offers at most.
OFFERED = 9


class NameScreen(Modal[str | None]):
    """Returns the name typed or the label picked (stripped, possibly "" to clear), or None when cancelled."""

    BINDINGS = bindings("name")

    DEFAULT_CSS = """
    NameScreen { align: center middle; }
    NameScreen > Vertical { width: 90; max-width: 95%; height: auto; max-height: 90%; border: round $primary;
                            background: $panel; padding: 0 1; }
    NameScreen #name-labels { height: auto; max-height: 11; border: none; padding: 0; }
    NameScreen #prompt-hint { color: $text-muted; }
    """

    def __init__(self, title: str, value: str, labels: list[Label], hint: str) -> None:
        super().__init__()
        self.title_text, self.value, self.labels, self.hint = title, value, labels, hint
        self.offered: list[Label] = []

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Input(self.value, id="prompt-input")
            yield PageSafeOptionList(id="name-labels")
            yield Static(self.hint, id="prompt-hint", markup=False)

    def on_mount(self) -> None:
        self._fill(self.value)
        self.query_one("#prompt-input", Input).focus()

    def _fill(self, query: str) -> None:
        """Offer the labels in use that match ``query`` (the largest ones when none does)."""
        self.offered = match_labels(query, self.labels, limit=OFFERED) or self.labels[:OFFERED]
        options = self.query_one("#name-labels", OptionList)
        options.clear_options()
        for i, lab in enumerate(self.offered):
            n = len(lab.cluster_ids)
            options.add_option(Option(Text(f"{fit(lab.name, 50)}  ({lab.rows:,} texts, {n} cluster{'s' * (n != 1)})",
                                           no_wrap=True, overflow="ellipsis"), id=str(i)))
        options.display = bool(self.offered)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())  # "" clears the name; Esc gives None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.offered[int(event.option.id)].name)

    def action_to_list(self) -> None:
        options = self.query_one("#name-labels", OptionList)
        if self.offered:
            options.highlighted = 0
            options.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
