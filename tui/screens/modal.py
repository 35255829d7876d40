"""The base of the app's dialogs: a modal screen that closes once."""

from __future__ import annotations

from typing import TypeVar

from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen

ResultType = TypeVar("ResultType")


class Modal(ModalScreen[ResultType]):
    """A ModalScreen whose ``dismiss`` does nothing unless it is the screen on top.

    Keys arrive faster than a dialog closes: a second Enter or Esc queued for it
    would otherwise run its callback again (an action applied twice) and pop
    whatever screen is on top by then (the main screen, or another dialog).
    """

    def dismiss(self, result: ResultType | None = None) -> AwaitComplete:
        if not self.is_attached or self.app.screen is not self:
            return AwaitComplete()
        return super().dismiss(result)
