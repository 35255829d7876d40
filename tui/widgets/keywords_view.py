"""The keywords pane: top c-TF-IDF terms of the selected cluster with their weights as bars."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from tui.formatting import fit
from tui.widgets.rendered_view import RenderedView

BAR_CELLS = 16
BLOCKS = " ▏▎▍▌▋▊▉█"


def bar(fraction: float, cells: int = BAR_CELLS) -> str:
    """A horizontal bar of ``cells`` cells filled to ``fraction`` (eighth-cell precision)."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * cells * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (BLOCKS[part] if part else "")).ljust(cells)


class KeywordsView(RenderedView):
    """Top keywords of the selected cluster with their c-TF-IDF weights as bars."""

    def show(self, title: str, keywords: list[tuple[str, float]]) -> None:
        """Show ``keywords`` (term, weight) under ``title`` (laid out when the pane is drawn)."""
        self.set_builder(lambda: self._parts(title, keywords), scroll_home=True)

    @staticmethod
    def _parts(title: str, keywords: list[tuple[str, float]]) -> list:
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True, style="green")
        table.add_column(justify="right", style="dim", no_wrap=True)
        top = keywords[0][1] if keywords else 1.0
        for term, weight in keywords:
            table.add_row(fit(term, 24), bar(weight / top if top else 0.0), f"{weight:.3f}")
        body = Group(Text(title, style="bold"), table) if keywords else Text(f"{title}\n(no keywords)", style="dim")
        return [(body, 0)]
