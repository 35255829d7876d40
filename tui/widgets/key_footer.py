"""The footer: the keys that work in the focused pane and anywhere, with what they do, on one line.

It shows what Textual's Footer shows (same theme colours, a click presses the key), but as one widget
that repaints its line when the bindings change.  Textual's Footer re-composes a widget per key on
every focus change (a mount, a restyle and a layout on each Tab between panes).
"""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

from tui.actions import ACTIONS
from tui.widgets.base_style import BaseStyleCache


class FooterItem(NamedTuple):
    """One key shown in the footer."""

    key: str
    display: str
    description: str
    enabled: bool


#: The keys that work anywhere on the board, by their place in the actions table.
BOARD_WIDE = {a.action: i for i, a in enumerate(ACTIONS) if a.where in ("anywhere", "board", "filter", "labelling")}


class KeyFooter(BaseStyleCache, Widget):
    """The bindings of the focused widget, its ancestors and the app (those with ``show=True``)."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        background: $footer-background;
        .key-footer--key { color: $footer-key-foreground; background: $footer-key-background; text-style: bold; }
        .key-footer--description { color: $footer-description-foreground;
                                   background: $footer-description-background; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[FooterItem] = []
        self.palette: FooterItem | None = None
        self._spans: list[tuple[int, int, FooterItem]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        items, seen, palette = [], set(), None
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            if binding.key == self.app.COMMAND_PALETTE_BINDING:
                if self.app.ENABLE_COMMAND_PALETTE:
                    palette = FooterItem(binding.key, self.app.get_key_display(binding), binding.description, enabled)
            elif binding.show and binding.action not in seen:  # one entry per action, like Footer
                seen.add(binding.action)
                items.append((BOARD_WIDE.get(binding.action, -1), len(items),
                              FooterItem(binding.key, self.app.get_key_display(binding), binding.description, enabled)))
        # the pane's own keys first, then the keys that work anywhere, in the table's order
        items = [item for *_, item in sorted(items)]
        if items != self.items or palette != self.palette:
            self.items, self.palette = items, palette
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.base_style
        if y != 0:
            return Strip.blank(width, base)
        key_style = base + self.get_component_rich_style("key-footer--key")
        text_style = base + self.get_component_rich_style("key-footer--description")
        dim = Style(dim=True)
        tail = self._item_cells(self.palette) if self.palette else 0
        segments, spans, x = [], [], 0
        for item in self.items:
            cells = self._item_cells(item)
            if x + cells > width - tail:
                break
            segments += self._item_segments(item, key_style, text_style, dim)
            spans.append((x, x + cells, item))
            x += cells
        if self.palette and x + tail <= width:
            segments.append(Segment(" " * (width - x - tail), base))
            spans.append((width - tail, width, self.palette))
            segments += self._item_segments(self.palette, key_style, text_style, dim)
        self._spans = spans
        return Strip(segments).adjust_cell_length(width, base)

    @staticmethod
    def _item_cells(item: FooterItem) -> int:
        return cell_len(item.display) + cell_len(item.description) + 3

    @staticmethod
    def _item_segments(item: FooterItem, key_style: Style, text_style: Style, dim: Style) -> list[Segment]:
        extra = Style() if item.enabled else dim
        return [Segment(f" {item.display} ", key_style + extra), Segment(f"{item.description} ", text_style + extra)]

    def on_click(self, event) -> None:
        """A click on a key presses it (a disabled one rings the bell)."""
        for start, end, item in self._spans:
            if start <= event.x < end:
                if item.enabled:
                    self.app.simulate_key(item.key.split(",")[0])
                else:
                    self.app.bell()
                return
