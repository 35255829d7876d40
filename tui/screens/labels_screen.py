"""The labels in use: each name with its texts and clusters; Enter goes to the label's largest cluster."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from engine.label_names import Label
from tui.actions import bindings
from tui.formatting import fit, pad
from tui.screens.modal import Modal
from tui.widgets.page_safe_option_list import PageSafeOptionList

#: Cluster ids listed per label before "…".
IDS_SHOWN = 8


def label_line(label: Label, name_cells: int) -> Text:
    """One label: its name, texts and clusters (largest first)."""
    ids = label.cluster_ids
    shown = " ".join(f"#{c}" for c in ids[:IDS_SHOWN]) + (" …" if len(ids) > IDS_SHOWN else "")
    n = len(ids)
    return Text(f"{pad(label.name, name_cells)} {label.rows:>7,}  {n:>3} cluster{'s' * (n != 1)}{' ' * (n == 1)}  "
                f"{shown}", no_wrap=True, overflow="ellipsis")


class LabelsScreen(Modal[int | None]):
    """Returns the largest cluster of the label chosen, or None."""

    BINDINGS = bindings("labels")

    DEFAULT_CSS = """
    LabelsScreen { align: center middle; }
    LabelsScreen > Vertical { width: 100; max-width: 98%; height: 80%; border: round $primary;
                              background: $panel; padding: 0 1; }
    LabelsScreen #labels-head { color: $text-muted; text-style: bold; }
    LabelsScreen #labels-list { height: 1fr; border: none; padding: 0; }
    LabelsScreen #labels-hint { color: $text-muted; }
    """

    def __init__(self, labels: list[Label], total: int) -> None:
        super().__init__()
        self.labels = labels
        self.total = total
        self.name_cells = min(40, max([len(lab.name) for lab in labels] + [10]))

    def compose(self) -> ComposeResult:
        labelled = sum(lab.rows for lab in self.labels)
        with Vertical() as box:
            n = len(self.labels)
            box.border_title = f"{n} label{'s' * (n != 1)} · {labelled:,} of {self.total:,} texts"
            yield Static(fit(f"{pad('label', self.name_cells)}   texts  clusters", 200), id="labels-head",
                         markup=False)
            options = PageSafeOptionList(id="labels-list")
            for i, lab in enumerate(self.labels):
                options.add_option(Option(label_line(lab, self.name_cells), id=str(i)))
            yield options
            yield Static("Enter goes to the label's largest cluster · Esc closes · n on a cluster names it: a "
                         "name in use joins that label" if self.labels else
                         "No label yet: n on a cluster names it, and a name is a label. Esc closes.",
                         id="labels-hint", markup=False)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.labels:
            options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.labels[int(event.option.id)].cluster)

    def action_cancel(self) -> None:
        self.dismiss(None)
