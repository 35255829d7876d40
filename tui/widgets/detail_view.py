"""The detail pane: the full text of one row, its original columns and its nearest neighbours.

Drawn by :class:`tui.widgets.rendered_view.RenderedView`: a cursor move re-renders this pane only.
"""

from __future__ import annotations

import math

from rich.console import Group
from rich.table import Table
from rich.text import Text

from engine.display_text import safe_text
from tui.formatting import fit
from tui.widgets.rendered_view import RenderedView

MAX_TEXT_CHARS = 20_000
PLACEHOLDER = "Select a text to see it here."
#: A neighbour's text is cut to this many cells first (then to the pane's width when drawn).
NEIGHBOUR_CELLS = 400


class DetailView(RenderedView):
    """Scrollable detail of the selected member: text, fields, nearest texts."""

    def on_mount(self) -> None:
        self.clear()

    def show(self, text: str, fields: list[tuple[str, str]], neighbours: list | None = None) -> None:
        """Show ``text`` in full (control characters escaped), its ``fields`` (name, value) and, if given,
        its ``neighbours`` (as for :meth:`show_neighbours`; else a placeholder until they come)."""
        body = safe_text(text[:MAX_TEXT_CHARS], one_line=False)
        if len(text) > MAX_TEXT_CHARS:
            body += f"\n… ({len(text) - MAX_TEXT_CHARS:,} more characters)"
        table = Table.grid(padding=(0, 1))
        table.add_column(style="dim", no_wrap=True)
        table.add_column(overflow="fold")
        for name, value in fields:
            table.add_row(safe_text(name), Text(safe_text(value)))
        self._text = Text(body or "(empty text)")
        self._fields = table
        below = Text("Nearest texts: …", style="dim") if neighbours is None else self._neighbour_lines(neighbours)
        self.set_parts((self._text, 1), (table, 1), (below, 0), scroll_home=True)

    def show_neighbours(self, items: list[tuple[float, int, str]]) -> None:
        """Show nearest neighbours as (cosine, cluster id, text), one line each, cut to the pane's width
        when drawn (the pane may be hidden, and so have no width, when they arrive)."""
        self.set_parts((self._text, 1), (self._fields, 1), (self._neighbour_lines(items), 0))

    @staticmethod
    def _neighbour_lines(items: list[tuple[float, int, str]]) -> Group:
        lines = [Text("Nearest texts in the whole corpus", style="bold")]
        if not items:
            lines.append(Text("none (empty text)", style="dim"))
        for score, cid, text in items:
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append("–    " if math.isnan(score) else f"{score:4.2f} ", style="dim")
            line.append(f"{'#' + str(cid) if cid >= 0 else '–':>5} ", style="bold")
            line.append(fit(text, NEIGHBOUR_CELLS))
            lines.append(line)
        return Group(*lines)

    def clear(self, message: str = PLACEHOLDER) -> None:
        self._text, self._fields = Text(message, style="dim"), Text("")
        self.set_parts((self._text, 1))
