"""The row filter on the board: a SQL ``WHERE`` over the file's columns (engine/row_filter.py), the rows it
matches, and the column statistics computed once per filter (the profiler of the columns, its baseline)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from engine.column_stats import Baseline, ColumnProfiler
    from engine.corpus import Corpus


class BoardFilter:
    """What the board filters by, for one corpus: ``where`` and its ``within`` mask (both None: every row)."""

    def __init__(self, corpus: "Corpus") -> None:
        self.corpus = corpus
        self.where: str | None = None
        self.within: np.ndarray | None = None
        self.last_where = ""  # the last expression applied, offered again by the prompt
        self._rows = None  # the RowFilter, built on first use
        self._profiler: ColumnProfiler | None = None
        #: The profiler's baseline per filter expression (None: the whole file), counted once each.
        self.baselines: dict[str | None, Baseline] = {}

    @property
    def active(self) -> bool:
        return self.within is not None

    def check(self, where: str) -> tuple[np.ndarray | None, str | None]:
        """The mask ``where`` selects, or (None, the one-line reason it cannot be used)."""
        from engine.row_filter import FilterError, RowFilter

        if self._rows is None:
            self._rows = RowFilter(self.corpus)
        try:
            mask = self._rows.mask(where)
        except FilterError as exc:
            return None, exc.problem
        if not mask.any():
            return None, "no row matches"
        return mask, None

    def set(self, where: str | None, mask: np.ndarray | None) -> None:
        """Filter by ``where`` (its ``mask``), or clear the filter with None."""
        self.where, self.within = (where, mask) if mask is not None else (None, None)
        if where:
            self.last_where = where

    def describe(self) -> str:
        """E.g. 'where rating <= 2: 87 of 320 rows' ('' without a filter)."""
        if self.within is None:
            return ""
        return f"where {self.where}: {int(self.within.sum()):,} of {len(self.within):,} rows"

    # ------------------------------------------------------------------ column statistics

    @property
    def profiler(self) -> "ColumnProfiler | None":
        """The profiler of the corpus's columns once :meth:`build_profiler` ran (None before)."""
        return self._profiler

    def build_profiler(self) -> "ColumnProfiler":
        """Encode the columns (once per corpus; slow on a large file: call it from a worker)."""
        if self._profiler is None:
            from engine.column_stats import ColumnProfiler

            self._profiler = ColumnProfiler(self.corpus)
        return self._profiler

    def baseline(self, where: str | None, within: np.ndarray | None) -> "Baseline":
        """The profiler's baseline for the filter ``where`` (the whole file without one), computed once."""
        base = self.baselines.get(where)
        if base is None:
            base = self.baselines[where] = self.build_profiler().baseline(within)
        return base
