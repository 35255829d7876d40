"""Resizing a line-drawn ScrollView's content without laying out the whole screen."""

from __future__ import annotations

from textual.geometry import Size
from textual.scroll_view import ScrollView


def set_virtual_size(view: ScrollView, size: Size) -> None:
    """Set ``view``'s virtual size and update its scrollbars.

    Assigning ``virtual_size`` asks Textual for a layout of the whole screen (on every cursor move for the
    detail pane and every keystroke for search results), although the pane's own size does not change.  A scrollbar that appears or disappears still lays the screen out.
    """
    if size == view.virtual_size:
        return
    view.set_reactive(ScrollView.virtual_size, size)
    view._scroll_update(size)  # noqa: SLF001 - what the reactive's watcher does, minus the layout
    view.refresh()
