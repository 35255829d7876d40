"""The columns tab: every carried column of the file for the selected cluster, beside the rows it is compared
with (the whole file, or the filter's rows): top values with their lift, mean and median with a histogram,
rows per period as a sparkline; long free text is skipped with a note.

Drawn line by line from segments laid out once per cluster (fixed columns, cut at the pane's edge): Rich
tables re-measured and rendered on each cluster move cost more than the rest of the move together.
"""

from __future__ import annotations

import math

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.formatting import fit, pad, sparkline
from tui.widgets.paint_geometry import PaintGeometry
from tui.widgets.virtual_size import set_virtual_size

VALUE_CELLS = 18
SPARK_CELLS = 36
BOLD, DIM = Style(bold=True), Style(dim=True)
GREEN, RED = Style(color="green"), Style(color="red")
HIGH, LOW = Style(color="green", bold=True), Style(color="red")

Line = list[tuple[str, Style]]


class ColumnsView(PaintGeometry, ScrollView, can_focus=True):
    """Profiles of the columns (engine.column_stats) of one cluster's rows."""

    DEFAULT_CSS = """
    ColumnsView { overflow-x: hidden; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._lines: list[Line] = []

    def show(self, title: str, profiles: list | None, against: str, message: str = "") -> None:
        """Show ``profiles`` under ``title``, compared with ``against`` ("file", "filter"); None shows
        ``message`` instead (still counting, no columns)."""
        self._lines = column_lines(title, profiles, against, message)
        self.scroll_to(0, 0, animate=False, immediate=True)
        set_virtual_size(self, Size(0, len(self._lines)))
        self.refresh()

    @property
    def plain(self) -> str:
        """What the pane shows, as plain text (one line per line)."""
        return "\n".join("".join(text for text, _ in line).rstrip() for line in self._lines)

    def render_line(self, y: int) -> Strip:
        width, top = self.paint_geometry
        base = self.rich_style
        index = y + top
        if not 0 <= index < len(self._lines):
            return Strip.blank(width, base)
        segments = [Segment(" ", base)] + [Segment(text, base + style) for text, style in self._lines[index]]
        return Strip(segments).crop_extend(0, width, base)


def column_lines(title: str, profiles: list | None, against: str, message: str = "") -> list[Line]:
    """The lines of the tab: ``title``, then each profile (or ``message`` when there are none yet)."""
    from engine.column_stats import CategoryProfile, DateProfile, NumberProfile

    lines: list[Line] = [[(title, BOLD)], []]
    if profiles is None:
        return lines + [[(message, DIM)]]
    skipped = []
    for p in profiles:
        if isinstance(p, CategoryProfile):
            lines += _category(p, against) + [[]]
        elif isinstance(p, NumberProfile):
            lines += _number(p, against) + [[]]
        elif isinstance(p, DateProfile):
            lines += _date(p, against) + [[]]
        else:
            skipped.append(f"{p.column} ({p.note})")
    if skipped:
        lines.append([("Not profiled: " + "; ".join(skipped), DIM)])
    if len(lines) == 2:
        lines.append([("This file has no columns besides its text.", DIM)])
    return lines


def _right(text: str, width: int) -> str:
    return " " * max(0, width - cell_len(text)) + text


def _heading(column: str, text: str) -> Line:
    return [(column, BOLD), (f"  {text}", DIM)]


def _lift_style(lift: float) -> Style:
    if math.isnan(lift):
        return Style()
    return HIGH if lift >= 1.5 else LOW if lift <= 0.67 else Style()


def _category(p, against: str) -> list[Line]:
    value_w = min(VALUE_CELLS, max([cell_len(fit(v, VALUE_CELLS)) for v in p.values] + [5]))
    side = max(6, len(against))
    lines = [_heading(p.column, "top values"),
             [(f"{pad('value', value_w)} {_right('count', 6)} {_right('here', 5)} {_right(against, side)} "
               f"{_right('lift', 6)}", DIM)]]
    for i, value in enumerate(p.values):
        lift = float(p.lift[i])
        lift_text = "–" if math.isnan(lift) else f"{lift:.1f}×"
        lines.append([(f"{pad(value, value_w)} {_right(f'{int(p.counts[i]):,}', 6)} {_right(f'{p.share[i]:.0%}', 5)} "
                       f"{_right(f'{p.base_share[i]:.0%}', side)} ", Style()), (_right(lift_text, 6), _lift_style(lift))])
    rest = []
    if p.other:
        rest.append(f"{p.other:,} other values")
    if p.missing:
        rest.append(f"{p.missing:,} missing")
    if rest:
        lines.append([(" · ".join(rest), DIM)])
    return lines


def _number(p, against: str) -> list[Line]:
    lo, hi = p.edges[0], p.edges[-1]
    ends = (f"{lo + 0.5:g}", f"{hi - 0.5:g}") if p.integer else (f"{lo:.3g}", f"{hi:.3g}")
    side = max(6, len(against))
    total, base_total = max(int(p.counts.sum()), 1), max(int(p.base_counts.sum()), 1)
    lines = [_heading(p.column, "number"),
             [(f"{pad('', side)} {_right('mean', 7)} {_right('median', 7)}", DIM)],
             [(pad("here", side), DIM), (f" {_right(_figure(p.mean), 7)} {_right(_figure(p.median), 7)} ", Style()),
              (sparkline(p.counts / total), GREEN), (f" {ends[0]} … {ends[1]}", DIM)],
             [(pad(against, side), DIM), (f" {_right(_figure(p.base_mean), 7)} {_right(_figure(p.base_median), 7)} ",
                                          Style()), (sparkline(p.base_counts / base_total), DIM)]]
    if p.missing:
        lines.append([(f"{p.missing:,} missing", DIM)])
    return lines


def _date(p, against: str) -> list[Line]:
    trend = "–" if math.isnan(p.trend) else f"{p.trend:+.0%} of its level per {p.period}"
    style = HIGH if not math.isnan(p.trend) and p.trend > 0.05 else \
        Style(color="red", bold=True) if not math.isnan(p.trend) and p.trend < -0.05 else Style()
    cells = min(SPARK_CELLS, len(p.starts))
    side = max(6, len(against))
    lines = [_heading(p.column, "date"), [("trend ", DIM), (trend, style)],
             [(pad("here", side) + " ", DIM), (sparkline(p.share, cells), GREEN)],
             [(pad(against, side) + " ", DIM), (sparkline(p.base_share, cells), DIM)]]
    if p.starts:
        lines.append([(f"rows per {p.period}, {p.starts[0]} … {p.starts[-1]}", DIM)])
    if p.missing:
        lines.append([(f"{p.missing:,} without a date", DIM)])
    return lines


def _figure(value: float) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.2f}" if abs(value) < 1000 else f"{value:,.0f}"
