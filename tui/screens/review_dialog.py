"""The base of the dialogs worked over the board (suspects, proposals by label, proposed labels): each key runs
a review step at once, the dialog stays open and shows what is left."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from tui.screens.modal import Modal

if TYPE_CHECKING:
    from engine.review_session import Outcome, ReviewSession


class ReviewDialog(Modal[None]):
    """Runs steps of ``review`` through ``run_step`` (the board's, quiet: the message goes on the dialog, not
    in a toast over it); a subclass shows what is left in :meth:`after_step`."""

    def __init__(self, review: "ReviewSession", run_step: Callable[..., "Outcome | None"]) -> None:
        super().__init__()
        self.review, self.run_step = review, run_step
        self.last_message = ""  # what the last step did

    def on_mount(self) -> None:
        self.app.clear_notifications()  # the board's toasts would cover the dialog, which says what it does

    def step(self, step: Callable[[], "Outcome | None"]) -> None:
        """Run ``step`` on the board, then show what is left."""
        self.before_step()
        outcome = self.run_step(step, quiet=True)
        self.last_message = outcome.message if outcome is not None else ""
        self.after_step()

    def before_step(self) -> None:
        """What to clear before a step (marks)."""

    def after_step(self) -> None:
        """Show the dialog's list as the review is now."""

    def action_undo(self) -> None:
        """Undo the last step of the review (one of this dialog's, or an earlier one)."""
        if not self.review.can_undo():
            self.notify("Nothing to undo.", timeout=2)
            return
        self.step(self.review.undo)

    def action_close(self) -> None:
        self.dismiss(None)
