"""The labelling commands on the board: classify the rest (by label, or from the accepted clusters), the
suspects queue, the labels in use and the labels proposed by ``--labels`` / ``--labels-from``.

:class:`LabelCommands` is a container around the panes (inside the review commands), so its keys work
wherever the focus is on the board; the steps its dialogs take run through the review commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.containers import Vertical
from textual.message import Message

from engine.errors import QtuiError
from engine.progress import Cancelled
from tui.actions import bindings
from tui.messages import Busy, ReviewStep
from tui.screens.label_proposals_screen import LabelProposalsScreen
from tui.screens.labels_screen import LabelsScreen
from tui.screens.proposals_screen import ProposalsScreen
from tui.screens.seeds_screen import SeedsScreen
from tui.screens.suspects_screen import SuspectsScreen

if TYPE_CHECKING:
    from tui.screens.board_screen import BoardScreen


class LabelCommands(Vertical):
    """Classify the rest, the suspects queue, the labels list and the proposed labels."""

    BINDINGS = bindings("labelling")

    class ProposalsReady(Message):
        def __init__(self, proposals) -> None:
            super().__init__()
            self.proposals = proposals

    class LabelProposalsReady(Message):
        def __init__(self, proposals) -> None:
            super().__init__()
            self.proposals = proposals

    def __init__(self, board_screen: "BoardScreen") -> None:
        super().__init__(id="labelling")
        self.board_screen = board_screen

    @property
    def review(self):
        return self.board_screen.review

    # ------------------------------------------------------------------ classify the rest

    def action_classify_rest(self) -> None:
        """The named clusters teach a classifier that proposes a label for every other text (by label)."""
        if self.board_screen.commands.ready():
            self.propose()

    @work(thread=True, exclusive=True, group="classify", exit_on_error=False)
    def propose(self) -> None:
        from engine.classify import NotEnoughLabels

        review = self.review
        self.post_message(Busy("classifying the rest by label…"))
        try:
            proposals = review.propose(cancel=self.app.cancel_token)
        except NotEnoughLabels:
            self.notify(f"Name clusters with at least two labels first ({len(review.labels())} in use): the "
                        f"classifier learns the labels from their clusters.", severity="warning", timeout=6)
            return
        except (QtuiError, Cancelled) as exc:
            self.notify(str(exc), severity="warning")
            return
        finally:
            self.post_message(Busy())
        self.post_message(self.LabelProposalsReady(proposals))

    @on(LabelProposalsReady)
    def _show_label_proposals(self, event: LabelProposalsReady) -> None:
        if not len(event.proposals):
            self.notify("No text is left to classify: every text is in a named cluster or decided.", timeout=5)
            return
        texts = self.board_screen.session.corpus.texts
        self.app.push_screen(LabelProposalsScreen(self.review, event.proposals, texts.__getitem__, self.board_screen.commands.run_step))

    def action_classify_accepted(self) -> None:
        """Learn the accepted clusters and propose clusters for the other rows ("none of these" included)."""
        if self.board_screen.commands.ready():
            self.classify()

    @work(thread=True, exclusive=True, group="classify", exit_on_error=False)
    def classify(self) -> None:
        from engine.classify import propose_for_review

        board, session = self.board_screen.board, self.board_screen.session
        self.post_message(Busy("training the classifier on the accepted clusters…"))
        try:
            proposals = propose_for_review(board.state, session.vectors, session.rows)
        except QtuiError as exc:
            self.notify(str(exc), severity="warning")
            return
        finally:
            self.post_message(Busy())
        self.post_message(self.ProposalsReady(proposals))

    @on(ProposalsReady)
    def _show_proposals(self, event: ProposalsReady) -> None:
        proposals, board, review = event.proposals, self.board_screen.board, self.review

        def chosen(threshold: float | None) -> None:
            if threshold is None:
                self.notify("Closed; no proposal was accepted.", timeout=3)
                return
            picked = proposals.above(threshold)
            if not len(picked):
                self.notify("No proposal reaches that confidence.", severity="warning")
                return
            self.post_message(ReviewStep(lambda: review.apply_proposals(picked.rows, picked.cluster_ids,
                                                                        picked.confidence)))

        texts = self.board_screen.session.corpus.texts
        self.app.push_screen(ProposalsScreen(proposals, texts.__getitem__, board.cluster_name), chosen)

    # ------------------------------------------------------------------ suspects and labels

    def action_suspects(self) -> None:
        """The members their neighbours or a classifier put in another label: keep or move them, one key each."""
        if self.board_screen.commands.ready():
            board_screen = self.board_screen
            self.app.push_screen(SuspectsScreen(self.review, board_screen.session.corpus.texts.__getitem__,
                                                lambda c: board_screen.board.name(c), self.board_screen.commands.run_step))

    def action_labels(self) -> None:
        """The labels in use with their texts and clusters; the one chosen shows its largest cluster."""
        board_screen = self.board_screen
        if board_screen.board is None or self.review is None:
            return

        def chosen(cluster: int | None) -> None:
            if cluster is not None and board_screen.clusters.table.select_cluster(cluster):
                board_screen.clusters.table.focus()

        self.app.push_screen(LabelsScreen(self.review.labels(), len(self.review.session.rows)), chosen)

    def action_proposed_labels(self) -> None:
        """The label ``--labels`` / ``--labels-from`` proposes for each cluster; Enter accepts one (a rename)."""
        seeding = self.board_screen.seeding
        if not self.board_screen.commands.ready():
            return
        if not seeding.active:
            self.notify("No labels were given: open the file with --labels labels.txt or --labels-from "
                        "earlier.labeled.csv to have a label proposed for each cluster.", severity="warning",
                        timeout=6)
            return
        if seeding.votes is None:
            self.notify(f"Still working out the labels from {seeding.source}…", timeout=3)
            return
        review = self.review
        self.app.push_screen(SeedsScreen(review, seeding.source, lambda: seeding.proposals(review), self.board_screen.commands.run_step))
