"""A scrollable pane that shows Rich renderables, rendered to lines once per change and drawn line by line.

The detail, keywords and metrics panes are built on it.  Textual's auto-height Static lays out the
whole screen on every update, which each cursor or cluster move would pay.  Here a
new content costs one render of itself, and a pane that is not on screen (a hidden tab) renders when
it is next shown; a part shown again (the detail's text when its nearest texts arrive) keeps its
lines.  A pane whose content takes work to gather (the metrics) passes a builder to
:meth:`RenderedView.set_builder`, which runs only when the pane is drawn.
"""

from __future__ import annotations

from typing import Callable

from rich.console import RenderableType
from rich.padding import Padding
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.widgets.virtual_size import set_virtual_size


class RenderedView(ScrollView, can_focus=True):
    """Renderables stacked top to bottom, each padded by one cell left and right."""

    DEFAULT_CSS = """
    RenderedView { overflow-x: hidden; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.parts: list[tuple[RenderableType, int]] = []  # (renderable, blank lines below it)
        self._builder: Callable[[], list[tuple[RenderableType, int]]] | None = None
        self._lines: list[Strip] = []
        self._part_lines: dict[int, tuple] = {}  # id(part) -> (part, (below, width, style), its lines)
        self._width = -1
        self._stale = True

    def set_parts(self, *parts: tuple[RenderableType, int], scroll_home: bool = False) -> None:
        """Show ``parts``: (renderable, blank lines after it) pairs; empty Texts are left out."""
        self.parts = list(parts)
        self._builder = None
        self._changed(scroll_home)

    def set_builder(self, builder: Callable[[], list[tuple[RenderableType, int]]], scroll_home: bool = False) -> None:
        """Show what ``builder()`` returns (as for :meth:`set_parts`), built when the pane is next drawn."""
        self._builder = builder
        self._changed(scroll_home)

    def _changed(self, scroll_home: bool) -> None:
        if scroll_home:
            self.scroll_to(0, 0, animate=False, immediate=True)
        if self.is_on_screen:
            self._render_parts()
        else:
            self._stale = True

    @property
    def plain(self) -> str:
        """What the pane shows, as plain text (one line per screen line)."""
        if self._stale:
            self._render_parts()
        return "\n".join(strip.text.rstrip() for strip in self._lines)

    def _render_parts(self) -> None:
        if self._builder is not None:
            self.parts, self._builder = list(self._builder()), None
        width = self.scrollable_content_region.width
        self._width, self._stale = width, False
        if width <= 0:
            self._lines = []
            return
        console = self.app.console
        options = console.options.update(width=width, height=None, highlight=False)
        style = self.rich_style
        lines: list[Strip] = []
        kept: dict[int, tuple] = {}
        for part, below in self.parts:
            if isinstance(part, Text) and not part.plain:
                continue
            key = (below, width, style)
            hit = self._part_lines.get(id(part))
            if hit is not None and hit[0] is part and hit[1] == key:
                strips = hit[2]
            else:
                rendered = console.render_lines(Padding(part, (0, 1, below, 1)), options, style=style, pad=True)
                strips = [Strip(line, width) for line in rendered]
            kept[id(part)] = (part, key, strips)
            lines.extend(strips)
        self._part_lines = kept
        self._lines = lines
        set_virtual_size(self, Size(width, len(lines)))
        self.refresh()
        # lines taller than the pane bring a scrollbar, which narrows it without a resize: lay out again then
        self.call_after_refresh(self._check_width)

    def _check_width(self) -> None:
        if not self._stale and self._width != self.scrollable_content_region.width and self.is_on_screen:
            self._render_parts()

    def on_show(self) -> None:
        if self._stale or self._width != self.scrollable_content_region.width:
            self._render_parts()

    def on_resize(self) -> None:
        if self._width != self.scrollable_content_region.width:
            self._render_parts()

    def render_line(self, y: int) -> Strip:
        index = y + self.scroll_offset.y
        width = self.scrollable_content_region.width
        if 0 <= index < len(self._lines) and self._width == width:
            return self._lines[index]
        return Strip.blank(width, self.rich_style)
