"""The columns tab: every carried column of the file for the selected cluster, beside the rows it is compared
with (the whole file, or the filter's rows): top values with their lift, mean and median with a histogram,
rows per period as a sparkline; long free text is skipped with a note."""

from __future__ import annotations

import math

from rich.console import Group
from rich.table import Table
from rich.text import Text

from tui.formatting import fit, sparkline
from tui.widgets.rendered_view import RenderedView

VALUE_CELLS = 22
SPARK_CELLS = 36


class ColumnsView(RenderedView):
    """Profiles of the columns (engine.column_stats) of one cluster's rows."""

    def show(self, title: str, profiles: list | None, against: str, message: str = "") -> None:
        """Show ``profiles`` under ``title``, compared with ``against`` ("the file", "the filter's rows");
        None shows ``message`` instead (still computing, no columns)."""
        self.set_builder(lambda: self._parts(title, profiles, against, message), scroll_home=True)

    @staticmethod
    def _parts(title: str, profiles: list | None, against: str, message: str) -> list:
        from engine.column_stats import CategoryProfile, DateProfile, NumberProfile

        parts = [(Text(title, style="bold"), 1)]
        if profiles is None:
            return parts + [(Text(message, style="dim"), 0)]
        skipped = []
        for p in profiles:
            if isinstance(p, CategoryProfile):
                parts.append((_category(p, against), 1))
            elif isinstance(p, NumberProfile):
                parts.append((_number(p, against), 1))
            elif isinstance(p, DateProfile):
                parts.append((_date(p, against), 1))
            else:
                skipped.append(f"{p.column} ({p.note})")
        if skipped:
            parts.append((Text("Not profiled: " + "; ".join(skipped), style="dim"), 0))
        if len(parts) == 1:
            parts.append((Text("This file has no columns besides its text.", style="dim"), 0))
        return parts


def _heading(column: str, text: str) -> Text:
    return Text.assemble((column, "bold"), (f"  {text}", "dim"))


def _category(p, against: str) -> Group:
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=False)  # the values give way first when the pane is narrow (cut with "…")
    for _ in range(4):
        table.add_column(justify="right", no_wrap=True)
    table.add_row(*(Text(h, style="dim") for h in ("value", "count", "here", against, "lift")))
    for i, value in enumerate(p.values):
        lift = p.lift[i]
        lift_text = "–" if math.isnan(lift) else f"{lift:.1f}×"
        style = "bold green" if not math.isnan(lift) and lift >= 1.5 else "red" if not math.isnan(lift) and lift <= 0.67 \
            else ""
        table.add_row(Text(fit(value, VALUE_CELLS), no_wrap=True, overflow="ellipsis"), f"{int(p.counts[i]):,}", f"{p.share[i]:.0%}", f"{p.base_share[i]:.0%}",
                      Text(lift_text, style=style))
    rest = []
    if p.other:
        rest.append(f"{p.other:,} other values")
    if p.missing:
        rest.append(f"{p.missing:,} missing")
    return Group(_heading(p.column, "top values"), table, *([Text(" · ".join(rest), style="dim")] if rest else []))


def _number(p, against: str) -> Group:
    lo, hi = p.edges[0], p.edges[-1]
    ends = (f"{lo + 0.5:g}", f"{hi - 0.5:g}") if p.integer else (f"{lo:.3g}", f"{hi:.3g}")
    table = Table.grid(padding=(0, 1))
    table.add_column(style="dim", no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(style="dim", no_wrap=True)
    total, base_total = max(int(p.counts.sum()), 1), max(int(p.base_counts.sum()), 1)
    table.add_row("", Text("mean", style="dim"), Text("median", style="dim"), "", "")
    table.add_row("here", _figure(p.mean), _figure(p.median), Text(sparkline(p.counts / total), style="green"),
                  f"{ends[0]} … {ends[1]}")
    table.add_row(against, _figure(p.base_mean), _figure(p.base_median),
                  Text(sparkline(p.base_counts / base_total), style="dim"), "")
    missing = [Text(f"{p.missing:,} missing", style="dim")] if p.missing else []
    return Group(_heading(p.column, "number"), table, *missing)


def _date(p, against: str) -> Group:
    trend = "–" if math.isnan(p.trend) else f"{p.trend:+.0%} of its level per {p.period}"
    cells = min(SPARK_CELLS, len(p.starts))
    spark = Table.grid(padding=(0, 1))
    spark.add_column(style="dim", no_wrap=True)
    spark.add_column(no_wrap=True)
    spark.add_row("here", Text(sparkline(p.share, cells), style="green"))
    spark.add_row(against, Text(sparkline(p.base_share, cells), style="dim"))
    span = f"rows per {p.period}, {p.starts[0]} … {p.starts[-1]}" if p.starts else ""
    style = "bold green" if not math.isnan(p.trend) and p.trend > 0.05 else \
        "bold red" if not math.isnan(p.trend) and p.trend < -0.05 else ""
    line = Text.assemble(("trend ", "dim"), (trend, style))
    missing = [Text(f"{p.missing:,} without a date", style="dim")] if p.missing else []
    return Group(_heading(p.column, "date"), line, spark, Text(span, style="dim"), *missing)


def _figure(value: float) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.2f}" if abs(value) < 1000 else f"{value:,.0f}"
