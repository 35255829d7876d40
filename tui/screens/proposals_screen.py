"""Classify the rest from accepted clusters: the classifier's proposals, filtered by confidence, accepted or rejected in bulk."""

from __future__ import annotations

from typing import Callable

import numpy as np
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from tui.actions import bindings
from tui.screens.modal import Modal
from tui.widgets.member_list import MemberList
from tui.widgets.threshold_row import ThresholdRow

DEFAULT_THRESHOLD = 0.8


class ProposalsScreen(Modal[float | None]):
    """Shows proposals at or above a confidence; returns that threshold to accept them, None to reject."""

    BINDINGS = bindings("accepted-proposals")

    DEFAULT_CSS = """
    ProposalsScreen { align: center middle; }
    ProposalsScreen > Vertical { width: 120; max-width: 98%; height: 90%; border: round $primary;
                                 background: $panel; padding: 0 1; }
    ProposalsScreen #proposals-summary { height: auto; margin-bottom: 1; }
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
            box.border_title = "Classify the rest from accepted clusters"
            yield Static(self.summary, id="proposals-summary", markup=False)
            yield ThresholdRow("confidence at least", self.threshold, id="proposals-filter")
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
        self.query_one(ThresholdRow).show_count(f"{shown:,} of {len(self.rows):,} proposals shown, into "
                                                f"{clusters} cluster{'s' * (clusters != 1)}")

    def on_threshold_row_changed(self, event: ThresholdRow.Changed) -> None:
        self.threshold = event.value
        self._refresh()

    def action_threshold(self, step: float) -> None:
        self.query_one(ThresholdRow).step(step)

    def action_accept(self) -> None:
        self.dismiss(self.threshold)

    def action_reject(self) -> None:
        self.dismiss(None)
