"""Refining a static first view: embed with the full model in the background, cluster, then switch the
board to the refined clusters, carrying the review over (without asking while nothing is reviewed).

:class:`Refinement` is a widget without a face on the board; its worker reports progress as
:class:`Refinement.Status` messages for the status line and hands the finished plan back as a message.
Search uses the full vectors as soon as they are embedded, before any switch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.message import Message
from textual.widget import Widget
from textual.worker import get_current_worker

from engine.errors import QtuiError
from engine.first_view import vectors_status
from engine.progress import Cancelled, CancelToken, Progress
from tui.messages import ReviewStep
from tui.screens.choice_screen import ChoiceScreen

if TYPE_CHECKING:
    from engine.review_session import ReclusterPlan, ReviewSession


class Refinement(Widget):
    """Embeds a static board's rows with the full model and offers the refined clusters."""

    DEFAULT_CSS = "Refinement { display: none; }"

    class Status(Message):
        """The words for the vectors the board shows, e.g. 'static vectors · refining 34%…'."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Ready(Message):
        def __init__(self, plan: "ReclusterPlan") -> None:
            super().__init__()
            self.plan = plan

    def __init__(self) -> None:
        super().__init__()
        self.review: ReviewSession | None = None
        self.plan: ReclusterPlan | None = None  # refined clusters not switched to yet
        self._token = CancelToken()
        self.running = False

    def follow(self, review: "ReviewSession") -> None:
        """A review is on the board: refine it when its vectors are static (once per review)."""
        if review is self.review:
            return
        self.stop()
        self.review, self.plan = review, None
        self.post_message(self.Status(vectors_status(review.session.static)))
        if review.session.static:
            self.start()

    def start(self) -> None:
        """Start (or, after :meth:`stop`, resume through the embedding cache) the refinement."""
        review = self.review
        if review is None or not review.session.static or self.running:
            if review is not None and not review.session.static:
                self.notify("The board already shows the full model's vectors.", timeout=3)
            return
        self._token = CancelToken()
        self.running = True
        self.refine(review, self._token)

    def stop(self) -> None:
        """Stop refining; what is embedded stays cached, and :meth:`start` goes on from there."""
        if self.running:
            self._token.cancel()

    @work(thread=True, exclusive=True, group="refine", exit_on_error=False)
    def refine(self, review: "ReviewSession", token: CancelToken) -> None:
        worker, shown = get_current_worker(), [""]

        def report(p: Progress) -> None:
            text = vectors_status(True, p)
            if text != shown[0] and not worker.is_cancelled:
                shown[0] = text
                self.post_message(self.Status(text))

        try:
            full = review.session.refined(progress=report, cancel=token)
            plan = review.refine_plan(full, progress=report, cancel=token)
        except Cancelled:
            self.post_message(self.Status("static vectors · refining stopped (the palette's 'Refine' goes on)"))
            return
        except QtuiError as exc:
            self.notify(f"The full model's clusters could not be made: {exc}", severity="error")
            self.post_message(self.Status("static vectors"))
            return
        finally:
            self.running = False
        if not worker.is_cancelled:
            self.post_message(self.Ready(plan))

    @on(Ready)
    def _ready(self, event: Ready) -> None:
        review, plan = self.review, event.plan
        if review is None or plan.session is None or review.session is plan.session:
            return
        if review.switch_without_asking:
            self.switch(plan)
            return
        self.plan = plan
        self.post_message(self.Status(vectors_status(True, ready=True)))
        self.offer()

    def offer(self) -> None:
        """Ask whether to switch to the refined clusters (ctrl+z undoes a switch)."""
        plan = self.plan
        if plan is None:
            self.notify("No refined clusters are waiting." if not self.running else
                        "The full model's clusters are still being made.", timeout=3)
            return
        answers = [("switch", "Switch, carrying the review over (ctrl+z undoes)"), ("keep", "Keep the static view")]
        self.app.push_screen(ChoiceScreen(f"Refined clusters are ready (full model: {plan.analysis.n_clusters} "
                                          f"clusters)", "\n".join(plan.describe()) + "\n\nThe palette's 'Switch to "
                                          "the refined clusters' asks again later.", answers, cancel="keep"),
                             lambda answer: self.switch(plan) if answer == "switch" else None)

    def switch(self, plan: "ReclusterPlan") -> None:
        """Move the review onto the full vectors: one step, undoable."""
        review = self.review
        self.plan = None
        self.post_message(ReviewStep(lambda: review.adopt(plan)))
