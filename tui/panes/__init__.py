"""The board's panes: composite widgets that own their state, timers and workers."""

from __future__ import annotations

from textual.widget import Widget


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
