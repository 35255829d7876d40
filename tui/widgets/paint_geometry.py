"""The width and first row of a line-drawn list, looked up once a paint instead of once a line.

``scrollable_content_region`` finds the widget's region on the screen; a list drawn line by line would ask
for it on every line.
"""

from __future__ import annotations

from textual.geometry import Region
from textual.strip import Strip


class PaintGeometry:
    """Mixin for a ScrollView drawn by ``render_line``: :attr:`paint_geometry` during a paint."""

    _paint: tuple[int, int] | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        self._paint = (self.scrollable_content_region.width, self.scroll_offset.y)
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    @property
    def paint_geometry(self) -> tuple[int, int]:
        """(content width, first row shown): fixed for the paint being drawn, else looked up now."""
        return self._paint if self._paint is not None else (self.scrollable_content_region.width,
                                                            self.scroll_offset.y)
