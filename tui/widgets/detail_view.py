"""The detail pane: the full text of one row, its original columns and its nearest neighbours."""

from __future__ import annotations

import math

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from engine.display_text import safe_text
from tui.formatting import fit

MAX_TEXT_CHARS = 20_000


class DetailView(VerticalScroll, can_focus=True):
    """Scrollable detail of the selected member."""

    DEFAULT_CSS = """
    DetailView > Static { width: 1fr; height: auto; }
    DetailView > #detail-text { padding: 0 1 1 1; }
    DetailView > #detail-fields { padding: 0 1 1 1; }
    DetailView > #detail-neighbours { padding: 0 1; }
    """

    def compose(self):
        yield Static(Text("Select a text to see it here.", style="dim"), id="detail-text")
        yield Static("", id="detail-fields")
        yield Static("", id="detail-neighbours")

    def show(self, text: str, fields: list[tuple[str, str]]) -> None:
        """Show ``text`` in full (control characters escaped) and its ``fields`` (name, value)."""
        body = safe_text(text[:MAX_TEXT_CHARS], one_line=False)
        if len(text) > MAX_TEXT_CHARS:
            body += f"\n… ({len(text) - MAX_TEXT_CHARS:,} more characters)"
        self.query_one("#detail-text", Static).update(Text(body or "(empty text)"))
        table = Table.grid(padding=(0, 1))
        table.add_column(style="dim", no_wrap=True)
        table.add_column(overflow="fold")
        for name, value in fields:
            table.add_row(safe_text(name), Text(safe_text(value)))
        self.query_one("#detail-fields", Static).update(table)
        self.query_one("#detail-neighbours", Static).update(Text("Nearest texts: …", style="dim"))
        self.scroll_home(animate=False)

    def show_neighbours(self, items: list[tuple[float, int, str]], width: int | None = None) -> None:
        """Show nearest neighbours as (cosine, cluster id, text)."""
        width = width or max(20, self.size.width - 4)
        lines = [Text("Nearest texts in the whole corpus", style="bold")]
        if not items:
            lines.append(Text("none (empty text)", style="dim"))
        for score, cid, text in items:
            line = Text()
            line.append("–    " if math.isnan(score) else f"{score:4.2f} ", style="dim")
            line.append(f"{'#' + str(cid) if cid >= 0 else '–':>5} ", style="bold")
            line.append(fit(text, max(10, width - 11)))
            lines.append(line)
        self.query_one("#detail-neighbours", Static).update(Group(*lines))

    def clear(self, message: str = "Select a text to see it here.") -> None:
        self.query_one("#detail-text", Static).update(Text(message, style="dim"))
        self.query_one("#detail-fields", Static).update("")
        self.query_one("#detail-neighbours", Static).update("")
