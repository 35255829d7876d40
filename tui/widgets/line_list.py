"""The base of the two line-drawn lists (clusters, members): a cursor, marks, paging and clicks.

Only the visible lines are ever drawn (``render_line``), so 100k items cost what 40 do.  A subclass says how
many items it has, what key an item is marked by, and how to draw a line; it may keep header lines on top.
"""

from __future__ import annotations

from textual.geometry import Region
from textual.reactive import reactive
from textual.scroll_view import ScrollView

from tui.widgets.base_style import BaseStyleCache
from tui.widgets.paint_geometry import PaintGeometry


class LineList(PaintGeometry, BaseStyleCache, ScrollView, can_focus=True):
    """A cursor over items drawn one line each, below :attr:`HEADER` header lines, with a set of marks."""

    #: Lines above the first item (the clusters table has its column titles there).
    HEADER = 0

    #: The cursor's index among the items.  The app watches it (``App.watch``), so what follows a move is
    #: decided in the key's own call; a message would arrive after the move's paint.
    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)  # watch_cursor repaints two lines

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.marked: set[int] = set()

    # ------------------------------------------------------------------ what a subclass provides

    @property
    def item_count(self) -> int:
        """How many items the list holds (a subclass counts its own)."""
        return 0

    def mark_key(self, index: int) -> int | None:
        """What item ``index`` is marked by (a corpus row, a cluster id), or None when it cannot be marked."""
        return None

    def marks_changed(self) -> None:
        """Tell the app the marks changed (a subclass posts its own message)."""

    # ------------------------------------------------------------------ cursor

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, self.item_count - 1)) if self.item_count else 0

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line_at(old)
        self.refresh_line_at(new)
        self.scroll_to_cursor()

    def scroll_to_cursor(self) -> None:
        """Scroll the least that shows the cursor's line."""
        top, visible = self.scroll_offset.y, max(1, self.size.height - self.HEADER)
        if self.cursor < top:
            top = self.cursor
        elif self.cursor >= top + visible:
            top = self.cursor - visible + 1
        if top != self.scroll_offset.y:
            self.scroll_to(0, top, animate=False, immediate=True)

    def refresh_line_at(self, index: int) -> None:
        """Repaint item ``index`` if it is on screen."""
        y = index - self.scroll_offset.y + self.HEADER
        if self.HEADER <= y < self.size.height:
            # a line of the pane: ScrollView.refresh_line takes a line of the whole list and would take the
            # scroll away a second time, repainting the wrong line of a scrolled list
            self.refresh(Region(0, y, self.size.width, 1))

    def action_cursor(self, delta: int) -> None:
        self.cursor += delta

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(1, self.size.height - self.HEADER - 1)

    def action_jump(self, index: int) -> None:
        self.cursor = index if index >= 0 else self.item_count - 1

    def on_click(self, event) -> None:
        index = event.y - self.HEADER + self.scroll_offset.y
        if event.y >= self.HEADER and 0 <= index < self.item_count:
            self.cursor = index

    # ------------------------------------------------------------------ marks

    def action_toggle_mark(self) -> None:
        """Mark or unmark the item under the cursor, then move down."""
        key = self.mark_key(self.cursor) if self.item_count else None
        if key is None:
            return
        self.marked.symmetric_difference_update({key})
        self.refresh_line_at(self.cursor)
        self.marks_changed()
        self.cursor += 1

    def set_marks(self, keys: set[int]) -> None:
        """Mark exactly ``keys``."""
        if keys != self.marked:
            self.marked = set(keys)
            self.refresh()
            self.marks_changed()

    def clear_marks(self) -> None:
        self.set_marks(set())
