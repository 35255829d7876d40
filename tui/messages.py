"""The messages workers and panes send to the board screen and the app (workers post them from their
threads; ``post_message`` is thread-safe), each handled with ``@on`` where its state lives."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from textual.message import Message

if TYPE_CHECKING:
    from engine.progress import Progress
    from engine.review_session import Outcome
    from tui.board import Board


class ReviewStep(Message):
    """Run ``step`` (a ReviewSession call returning an Outcome, or None) and show what it did."""

    def __init__(self, step: "Callable[[], Outcome | None]") -> None:
        super().__init__()
        self.step = step


class Busy(Message):
    """What runs in the background, for the status line ('' when nothing does)."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.text = text


class ProgressReport(Message):
    """Progress of a long step (reading, embedding, clustering) for the loading panel or status line."""

    def __init__(self, progress: "Progress") -> None:
        super().__init__()
        self.progress = progress


class BoardReady(Message):
    """A board recomputed in a worker, ready to show (``select``: the cluster or group to put the cursor on;
    ``level_changed``: it shows another zoom level, whose group ids mean other groups)."""

    def __init__(self, board: "Board", select: int | None = None, level_changed: bool = False) -> None:
        super().__init__()
        self.board, self.select, self.level_changed = board, select, level_changed


class ReviewOpened(Message):
    """A review is open (started, resumed or switched to): show its board."""

    def __init__(self, board: "Board", review) -> None:
        super().__init__()
        self.board = board
        self.review = review


class StatusChanged(Message):
    """Something the status line shows changed (the model's weights are loaded)."""

