"""Progress reporting and cooperative cancellation for long engine steps.

Every long step in the engine takes an optional ``progress`` callback and an
optional :class:`CancelToken`.  The callback receives :class:`Progress`
snapshots; the token is checked between units of work and raises
:class:`Cancelled` once cancellation was requested.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional


class Cancelled(Exception):
    """Raised inside a long step when its :class:`CancelToken` was cancelled."""


@dataclass(frozen=True)
class Progress:
    """One snapshot of a long step: which stage, how far, how fast."""

    stage: str
    done: int
    total: int
    rate: float = 0.0  # units per second since the stage started
    eta: float | None = None  # seconds left, None when unknown
    message: str = ""

    @property
    def fraction(self) -> float:
        """Share of the stage that is done, in [0, 1]."""
        return 1.0 if self.total <= 0 else min(1.0, self.done / self.total)


ProgressCallback = Callable[[Progress], None]


class CancelToken:
    """A thread-safe flag that a UI sets and a worker checks."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the step holding this token to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancellation was requested."""
        if self._event.is_set():
            raise Cancelled()


def check(cancel: Optional[CancelToken]) -> None:
    """Raise :class:`Cancelled` if ``cancel`` is set; a ``None`` token never cancels."""
    if cancel is not None:
        cancel.check()


class StageMeter:
    """Turns ``advance(n)`` calls into :class:`Progress` reports with rate and ETA.

    Reports are throttled to at most one every ``interval`` seconds (plus the
    first and the last), so a fast loop does not flood a UI.
    """

    def __init__(
        self,
        stage: str,
        total: int,
        callback: Optional[ProgressCallback],
        *,
        interval: float = 0.1,
        message: str = "",
    ) -> None:
        self.stage = stage
        self.total = total
        self.done = 0
        self.message = message
        self._callback = callback
        self._interval = interval
        self._start = time.perf_counter()
        self._last = 0.0
        self.report(force=True)

    def advance(self, n: int = 1, message: str | None = None) -> None:
        """Count ``n`` more units done and report if enough time passed."""
        self.done += n
        if message is not None:
            self.message = message
        self.report(force=self.done >= self.total)

    def report(self, force: bool = False) -> None:
        if self._callback is None:
            return
        now = time.perf_counter()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        elapsed = now - self._start
        rate = self.done / elapsed if elapsed > 0 and self.done else 0.0
        left = max(0, self.total - self.done)
        eta = left / rate if rate > 0 else None
        self._callback(Progress(self.stage, self.done, self.total, rate, eta, self.message))
