"""The board's panes: composite widgets that own their state, timers and workers."""

from __future__ import annotations

from typing import Callable

from textual.widget import Widget

from engine.errors import QtuiError
from engine.progress import Cancelled
from tui.messages import Busy, ReviewStep


def may_change(pane: Widget, review) -> bool:
    """Whether ``review`` takes changes; when it is read-only, ``pane`` says why and it is False."""
    if review is None:
        return False
    if review.read_only:
        reason = review.read_only_reason or "opened read-only"
        pane.notify(f"No changes here: this review is {reason.removeprefix('opened ')}.", severity="warning")
        return False
    return True


def on_screen(widget: Widget) -> bool:
    """Whether ``widget`` is on screen whole: actions never change what the person cannot see."""
    region = widget.region
    return widget.display and region.area > 0 and widget.screen.region.contains_region(region) and \
        all(node.display for node in widget.ancestors if hasattr(node, "display"))


def check_parts(value: str) -> str | None:
    """What is wrong with an answer to "into how many parts?" (a number of 2 or more, or empty for auto)."""
    value = value.strip().lower()
    if value in ("", "auto") or (value.isdigit() and int(value) >= 2):
        return None
    return "give a number of parts (2 or more), or leave it empty for auto"


def parts_wanted(value: str) -> int | None:
    """The number of parts an answer :func:`check_parts` accepted asks for (None: auto)."""
    value = value.strip().lower()
    return None if value in ("", "auto") else int(value)


def run_step(node: Widget, busy: str, step: Callable) -> None:
    """From a worker: say ``busy`` on the status line, run ``step`` (a slow review call giving an Outcome) and
    post it as a :class:`ReviewStep`; a refusal is said, a cancel does nothing."""
    node.post_message(Busy(busy))
    try:
        outcome = step()
    except Cancelled:
        return
    except QtuiError as exc:
        node.notify(str(exc), severity="error")
        return
    finally:
        node.post_message(Busy())
    node.post_message(ReviewStep(lambda: outcome))
