"""Classify the rest: the classifier's proposals, filtered by confidence, accepted or rejected in bulk."""

from __future__ import annotations

from typing import Callable

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from tui.actions import bindings
from tui.screens.modal import Modal
from tui.widgets.member_list import MemberList

DEFAULT_THRESHOLD = 0.8


class ProposalsScreen(Modal[float | None]):
    """Shows proposals at or above a confidence; returns that threshold to accept them, None to reject."""

    BINDINGS = bindings("proposals")

    DEFAULT_CSS = """
    ProposalsScreen { align: center middle; }
    ProposalsScreen > Vertical { width: 120; max-width: 98%; height: 90%; border: round $primary;
                                 background: $panel; padding: 0 1; }
    ProposalsScreen #proposals-summary { height: auto; margin-bottom: 1; }
    ProposalsScreen #proposals-filter { height: 1; margin-bottom: 1; }
    ProposalsScreen #proposals-filter Label { width: auto; padding-right: 1; }
    ProposalsScreen #proposals-filter Input { width: 10; border: none; height: 1; padding: 0; }
    ProposalsScreen #proposals-count { width: 1fr; padding-left: 2; color: $text-muted; }
    ProposalsScreen MemberList { height: 1fr; }
    ProposalsScreen #proposals-hint { color: $text-muted; }
    """

    def __init__(self, proposals, text_of: Callable[[int], str], name_of: Callable[[int], str]) -> None:
        super().__init__()
        order = np.argsort(-proposals.confidence, kind="stable")
        self.rows = proposals.rows[order]
        self.cluster_ids = proposals.cluster_ids[order]
        self.confidence = proposals.confidence[order]
        self.summary = proposals.describe()
        self.text_of = text_of
        self.name_of = name_of
        self.threshold = DEFAULT_THRESHOLD

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Classify the rest"
            yield Static(self.summary, id="proposals-summary", markup=False)
            with Horizontal(id="proposals-filter"):
                yield Label("confidence at least")
                yield Input(f"{self.threshold:.2f}", id="proposals-threshold")
                yield Static("", id="proposals-count", markup=False)
            yield MemberList(id="proposals-list")
            yield Static("Ctrl+S accepts every proposal shown · Esc closes without accepting any · "
                         "+/- change the threshold · "
                         "the # column is the proposed cluster", id="proposals-hint", markup=False)

    def on_mount(self) -> None:
        self._refresh()
        self.query_one("#proposals-list", MemberList).focus()

    def _refresh(self) -> None:
        keep = self.confidence >= self.threshold
        lst = self.query_one("#proposals-list", MemberList)
        lst.empty_message = "No proposal reaches this confidence."
        lst.set_rows(self.rows[keep], self.text_of, scores=self.confidence[keep], clusters=self.cluster_ids[keep])
        shown = int(keep.sum())
        clusters = len(set(self.cluster_ids[keep].tolist()))
        self.query_one("#proposals-count", Static).update(
            f"{shown:,} of {len(self.rows):,} proposals shown, into {clusters} clusters")

    def on_input_changed(self, event: Input.Changed) -> None:
        try:
            value = float(event.value)
        except ValueError:
            return
        self.threshold = min(1.0, max(0.0, value))
        self._refresh()

    def action_threshold(self, step: float) -> None:
        self.threshold = round(min(1.0, max(0.0, self.threshold + step)), 2)
        self.query_one("#proposals-threshold", Input).value = f"{self.threshold:.2f}"

    def action_accept(self) -> None:
        self.dismiss(self.threshold)

    def action_reject(self) -> None:
        self.dismiss(None)
