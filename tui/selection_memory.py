"""Saving where the person is (cluster, text, tab, sort) with the review once the cursor rests, so that a
reopen returns there."""

from __future__ import annotations

from typing import Callable

from textual import work
from textual.timer import Timer
from textual.widget import Widget

from engine.errors import QtuiError

#: The selection is saved once the cursor rests this long.
UI_SAVE_DELAY = 0.6


class SelectionMemory(Widget):
    """A widget without a face that saves the selection given by ``values()`` (None: nothing to save)."""

    DEFAULT_CSS = "SelectionMemory { display: none; }"

    def __init__(self, values: Callable[[], "tuple[object, dict] | None"]) -> None:
        super().__init__()
        self._values = values
        self._timer: Timer | None = None

    def remember(self) -> None:
        """Save once the cursor rests (each call restarts the wait)."""
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(UI_SAVE_DELAY, self.save)

    def save(self, wait: bool = False) -> None:
        """Save now: in a thread (a save waits for the disk, and keys must not), or here with ``wait``."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        found = self._values()
        if found is None:
            return
        review, values = found
        if wait:
            try:
                review.set_ui(**values)
            except QtuiError as exc:
                self.notify(str(exc), severity="error")
        else:
            self._write(review, values)

    @work(thread=True, group="save-ui", exit_on_error=False)
    def _write(self, review, values: dict) -> None:
        try:
            review.set_ui(**values)
        except QtuiError as exc:
            self.notify(str(exc), severity="error")
