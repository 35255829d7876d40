"""The statistic of a column shown per cluster in the clusters pane: which ones can be chosen, how each is
headed, shown and sorted (values from engine/column_stats.py's ``ColumnProfiler.cluster_stat``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tui.formatting import fit, sparkline
from tui.widgets.cluster_table import STAT_SORTS, TREND_SORTS

#: Cells of a trend's sparkline in the clusters pane (periods beyond it are summed).
TREND_CELLS = 8


@dataclass(frozen=True)
class StatColumn:
    """One chosen statistic: ``choice`` is ``(column, stat, value)`` as ``ColumnProfiler.stat_choices`` gives."""

    choice: tuple

    @property
    def trend(self) -> bool:
        return self.choice[1] == "trend"

    def describe(self) -> str:
        """The choice in words, e.g. 'mean rating', 'share of product = X5 Pro', 'trend of date'."""
        column, stat, value = (tuple(self.choice) + (None,))[:3]
        if stat == "share":
            return f"share of {column} = {value}"
        if stat == "trend":
            return f"trend of {column} (sparkline; sorts growing / shrinking fastest)"
        return f"{stat} {column}"

    @property
    def title(self) -> str:
        column, stat, value = (tuple(self.choice) + (None,))[:3]
        if stat == "share":
            return fit(f"%{value}", 8)
        return fit(column, TREND_CELLS if self.trend else 6)

    @property
    def width(self) -> int:
        return TREND_CELLS if self.trend else max(5, len(self.title))

    @property
    def sorts(self) -> tuple[str, ...]:
        return TREND_SORTS if self.trend else STAT_SORTS

    def values(self, profiler, labels: np.ndarray, within: np.ndarray | None) -> dict[int, tuple[float, str]]:
        """Per cluster id: the value to sort by and the text to show."""
        stat = profiler.cluster_stat(labels, self.choice, within=within)
        if self.trend:  # each period's share of its rows (what the trend measures), periods grouped to fit the cells
            groups = np.array_split(np.arange(stat.counts.shape[1]), min(TREND_CELLS, stat.counts.shape[1]))
            counts = np.stack([stat.counts[:, g].sum(axis=1) for g in groups], axis=1)
            totals = counts.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                shares = np.where(totals > 0, counts / np.maximum(totals, 1), np.nan)  # no row then: a blank
        out = {}
        for i, cid in enumerate(stat.ids.tolist()):
            value = float(stat.values[i])
            if self.trend:
                text = sparkline(shares[i])
            elif math.isnan(value):
                text = "–"
            elif stat.stat == "share":
                text = f"{value:.0%}"
            else:
                text = f"{value:.2f}" if abs(value) < 100 else f"{value:,.0f}"
            out[int(cid)] = (value, text)
        return out
