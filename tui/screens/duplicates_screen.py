"""Near-duplicate groups at a cosine threshold the person can change; collapse them into one cluster each."""

from __future__ import annotations

from typing import Callable

import numpy as np
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from tui.actions import bindings
from tui.formatting import fit
from tui.screens.modal import Modal
from tui.widgets.member_list import MemberList
from tui.widgets.page_safe_option_list import PageSafeOptionList
from tui.widgets.threshold_row import ThresholdRow

DEFAULT_THRESHOLD = 0.95


class DuplicatesScreen(Modal[list[np.ndarray] | None]):
    """Returns the groups to collapse (each into the cluster most of its rows are in), or None."""

    BINDINGS = bindings("duplicates")

    class Found(Message):
        """The groups at the threshold asked for, from the search worker."""

        def __init__(self, found) -> None:
            super().__init__()
            self.found = found

    DEFAULT_CSS = """
    DuplicatesScreen { align: center middle; }
    DuplicatesScreen > Vertical { width: 140; max-width: 98%; height: 90%; border: round $primary;
                                  background: $panel; padding: 0 1; }
    DuplicatesScreen #dup-panes { height: 1fr; }
    DuplicatesScreen #dup-groups { width: 2fr; height: 1fr; }
    DuplicatesScreen #dup-members { width: 3fr; height: 1fr; }
    DuplicatesScreen #dup-hint { color: $text-muted; }
    """

    def __init__(self, finder, text_of: Callable[[int], str], labels: np.ndarray) -> None:
        super().__init__()
        self.finder = finder
        self.text_of = text_of
        self.labels = labels
        self.threshold = DEFAULT_THRESHOLD
        self.groups: list[np.ndarray] = []
        self.collapse: set[int] = set()

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Near duplicates"
            yield ThresholdRow("cosine at least", self.threshold, low=0.5, id="dup-filter")
            with Horizontal(id="dup-panes"):
                yield PageSafeOptionList(id="dup-groups")
                yield MemberList(id="dup-members")
            yield Static("c collapses the group into the cluster most of it is in · C all groups · "
                         "Ctrl+S applies · Esc closes without changes", id="dup-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(ThresholdRow).show_count("searching…")
        self.search(self.threshold)

    @work(thread=True, exclusive=True, group="duplicates", exit_on_error=False)
    def search(self, threshold: float) -> None:
        found = self.finder.groups(threshold)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Found(found))

    @on(Found)
    def _show(self, event: Found) -> None:
        found = event.found
        self.groups = found.groups
        self.collapse = set()
        self.query_one(ThresholdRow).show_count(f"{found.describe()} · {found.seconds:.2f} s")
        options = self.query_one("#dup-groups", OptionList)
        options.clear_options()
        for i, group in enumerate(self.groups):
            options.add_option(Option(self._label(i), id=str(i)))
        if self.groups:
            options.highlighted = 0
            options.focus()
        else:
            self.query_one("#dup-members", MemberList).set_rows(np.empty(0, np.int64), self.text_of)

    def _label(self, i: int) -> Text:
        """One line per group, cut with "…" at the list's width (never wrapped): mark, size, spread, text."""
        group = self.groups[i]
        clusters = len(set(self.labels[group].tolist()))
        mark = "✓ " if i in self.collapse else "  "
        spread = f"in {clusters} clusters · " if clusters > 1 else ""
        return Text(f"{mark}{len(group):>4} × {spread}{fit(self.text_of(int(group[0])), 200)}", no_wrap=True,
                    overflow="ellipsis")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is None or int(event.option.id) >= len(self.groups):
            return  # an option of the groups a newer search replaced (its event arrived after them)
        group = self.groups[int(event.option.id)]
        lst = self.query_one("#dup-members", MemberList)
        lst.set_rows(group, self.text_of, clusters=self.labels[group])

    def on_threshold_row_changed(self, event: ThresholdRow.Changed) -> None:
        self.threshold = event.value
        self.query_one(ThresholdRow).show_count("searching…")
        self.search(event.value)

    def action_threshold(self, step: float) -> None:
        self.query_one(ThresholdRow).step(step)

    def action_collapse(self) -> None:
        options = self.query_one("#dup-groups", OptionList)
        i = options.highlighted
        if i is None or not self.groups:
            return
        self.collapse.symmetric_difference_update({i})
        options.replace_option_prompt_at_index(i, self._label(i))

    def action_collapse_all(self) -> None:
        self.collapse = set(range(len(self.groups)))
        options = self.query_one("#dup-groups", OptionList)
        for i in range(len(self.groups)):
            options.replace_option_prompt_at_index(i, self._label(i))

    def action_apply(self) -> None:
        self.dismiss([self.groups[i] for i in sorted(self.collapse)] or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
