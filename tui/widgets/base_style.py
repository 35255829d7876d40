"""The Rich style of a line-drawn widget, computed once until its styles change.

``Widget.rich_style`` walks every ancestor to blend backgrounds and colours, and a line-drawn list would
ask for it once per line.
"""

from __future__ import annotations

from rich.style import Style


class BaseStyleCache:
    """Mixin for a widget: :attr:`base_style` is its ``rich_style``, kept until Textual restyles it."""

    _base_style: Style | None = None

    @property
    def base_style(self) -> Style:
        """This widget's Rich style (background and colour blended over its ancestors')."""
        if self._base_style is None:
            self._base_style = self.rich_style
        return self._base_style

    def notify_style_update(self) -> None:
        self._base_style = None
        super().notify_style_update()
