"""Classify the rest by label: the classifier's proposals, reviewed one by one, per label or by confidence.

The named clusters teach the classifier (:meth:`engine.review_session.ReviewSession.propose`); every text
of an unnamed cluster or of noise gets its likeliest label.  On the left, the labels with their proposals
(all of them, and how many reach the threshold); on the right, the proposals of the highlighted label (or
of all) that reach it.  Each accept or reject is a review step (saved, undoable with ctrl+z here too) and
the lists keep what no decision has covered since.  Proposals name labels, not clusters, so they stay valid
after a re-clustering.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from engine.review import CLUSTER
from tui.actions import bindings
from tui.formatting import fit
from tui.screens.review_dialog import ReviewDialog
from tui.widgets.member_list import MemberList
from tui.widgets.page_safe_option_list import PageSafeOptionList
from tui.widgets.threshold_row import ThresholdRow

if TYPE_CHECKING:
    from engine.review_labels import LabelProposals
    from engine.review_session import Outcome, ReviewSession

DEFAULT_THRESHOLD = 0.8
ALL = "*all*"


class LabelProposalsScreen(ReviewDialog):
    """Reviews ``proposals`` of ``review``; each decision runs through ``run_step`` (the board's)."""

    BINDINGS = bindings("proposals")

    DEFAULT_CSS = """
    LabelProposalsScreen { align: center middle; }
    LabelProposalsScreen > Vertical { width: 150; max-width: 98%; height: 92%; border: round $primary;
                                      background: $panel; padding: 0 1; }
    LabelProposalsScreen #proposals-summary { height: auto; }
    LabelProposalsScreen #proposals-panes { height: 1fr; }
    LabelProposalsScreen #proposals-left { width: 1fr; min-width: 24; max-width: 44; height: 1fr; }
    LabelProposalsScreen #proposals-head { height: 1; color: $text-muted; text-style: bold; }
    LabelProposalsScreen #proposals-labels { height: 1fr; border: none; padding: 0; }
    LabelProposalsScreen MemberList { width: 3fr; height: 1fr; }
    LabelProposalsScreen #proposals-hint { height: auto; color: $text-muted; }
    """

    def __init__(self, review: "ReviewSession", proposals: "LabelProposals", text_of: Callable[[int], str],
                 run_step: Callable[..., "Outcome | None"]) -> None:
        super().__init__(review, run_step)
        self.all = proposals.ranked()
        self.text_of = text_of
        self.open = self.all  # the proposals no decision has covered since
        self.threshold = DEFAULT_THRESHOLD
        self.label: str = ALL  # the label whose proposals are listed
        self.label_ids: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Classify the rest"
            yield Static(self.all.describe(), id="proposals-summary", markup=False)
            yield ThresholdRow("confidence at least", self.threshold, id="proposals-filter")
            with Horizontal(id="proposals-panes"):
                with Vertical(id="proposals-left"):
                    yield Static("", id="proposals-head", markup=False)
                    yield PageSafeOptionList(id="proposals-labels")
                yield MemberList(id="proposals-list")
            yield Static("y accept · n reject (kept where it is) · a every proposal of the label · ctrl+s all shown · "
                         "+/- threshold · ^z undo · Esc", id="proposals-hint", markup=False)

    @property
    def list(self) -> MemberList:
        return self.query_one("#proposals-list", MemberList)

    def on_mount(self) -> None:
        self._refresh()
        self.query_one("#proposals-labels", OptionList).focus()

    # ------------------------------------------------------------------ what is shown

    def _refresh(self) -> None:
        """Keep the open proposals, recount the labels, list the highlighted label's proposals."""
        source = self.review.state.source
        self.open = self.all.only(self.all.rows[source[self.all.rows] == CLUSTER]) if len(self.all) else self.all
        above = self.open.confidence >= self.threshold
        counts = self.open.counts()
        shown = self.open.above(self.threshold).counts()
        options = self.query_one("#proposals-labels", OptionList)
        keep = self.label
        options.clear_options()
        self.label_ids = [ALL] + list(counts)
        cells = max(4, (options.size.width or 24) - 15)
        self.query_one("#proposals-head", Static).update(f" ≥{self.threshold:.2f}    all label")
        options.add_option(Option(self._line("(all)", len(self.open), int(above.sum()), cells), id=ALL))
        for name, n in counts.items():
            options.add_option(Option(self._line(name, n, shown.get(name, 0), cells), id=name))
        self.label = keep if keep in self.label_ids else ALL
        options.highlighted = self.label_ids.index(self.label)
        self._fill()

    @staticmethod
    def _line(name: str, total: int, shown: int, cells: int) -> Text:
        """One label on the left: its proposals at the threshold, all of them, its name (never wrapped)."""
        return Text(f"{shown:>6,} {total:>6,} {fit(name, cells)}", no_wrap=True, overflow="ellipsis")

    def _picked(self) -> "LabelProposals":
        """The proposals listed: the highlighted label's (or all), at the threshold."""
        picked = self.open if self.label == ALL else self.open.of_label(self.label)
        return picked.above(self.threshold)

    def _fill(self) -> None:
        picked, lst = self._picked(), self.list
        keep = lst.cursor
        lst.empty_message = "No proposal reaches this confidence." if len(self.open) else "No proposals left."
        lst.set_rows(picked.rows, self.text_of, scores=picked.confidence, tags=picked.labels)
        lst.cursor = min(keep, max(0, len(picked) - 1))
        n_labels = len(set(picked.labels))
        self.query_one(ThresholdRow).show_count(
            f"{len(picked):,} of {len(self.open):,} shown · {n_labels} label"
            f"{'s' * (n_labels != 1)}")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None and event.option.id != self.label:
            self.label = event.option.id
            self.list.clear_marks()
            self.list.cursor = 0
            self._fill()

    def on_option_list_option_selected(self) -> None:
        self.list.focus()

    def on_resize(self) -> None:
        self._refresh()  # the labels' names are cut to the width of their list

    def on_threshold_row_changed(self, event: ThresholdRow.Changed) -> None:
        self.threshold = event.value
        self._refresh()

    def action_threshold(self, step: float) -> None:
        self.query_one(ThresholdRow).step(step)

    # ------------------------------------------------------------------ decisions

    def before_step(self) -> None:
        self.list.clear_marks()

    def after_step(self) -> None:
        summary = self.all.describe() + (f" · {self.last_message}" if self.last_message else "")
        self.query_one("#proposals-summary", Static).update(summary)
        self._refresh()


    def _chosen(self) -> "LabelProposals | None":
        """The marked proposals, else the highlighted one (None when there is none)."""
        lst = self.list
        rows = lst.selected_rows()
        return self._picked().only(rows) if len(rows) else None

    def action_accept_one(self) -> None:
        chosen, review = self._chosen(), self.review
        if chosen is not None:
            self.step(lambda: review.accept_proposals(chosen))

    def action_reject_one(self) -> None:
        chosen, review = self._chosen(), self.review
        if chosen is not None:
            self.step(lambda: review.reject_proposals(chosen))

    def action_accept_label(self) -> None:
        """Accept every open proposal of the highlighted label, whatever its confidence."""
        if self.label == ALL:
            self.notify("Highlight a label on the left first (a accepts all of its proposals).", severity="warning",
                        timeout=4)
            return
        chosen, review = self.open.of_label(self.label), self.review
        if len(chosen):
            self.step(lambda: review.accept_proposals(chosen))

    def action_accept_shown(self) -> None:
        """Accept every proposal listed (the highlighted label's or all, at the threshold)."""
        chosen, review = self._picked(), self.review
        if not len(chosen):
            self.notify("No proposal reaches that confidence.", severity="warning")
            return
        self.step(lambda: review.accept_proposals(chosen))
