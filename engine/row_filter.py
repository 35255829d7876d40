"""Which rows of a corpus an SQL ``WHERE`` expression over its columns selects, evaluated by polars' SQL engine.

    rows = RowFilter(corpus)
    mask = rows.mask("rating <= 2 AND product = 'X5 Pro'")     # bool per corpus row
    mask = rows.mask("text LIKE '%电池%' OR text ~ '(?i)battery'")

The text column is reachable as ``text`` (and by its own name); every other column by its name
(``"double quotes"`` for names with spaces or capitals).  An expression is evaluated over the columns as
the file has them, and when that fails, once more with string columns of numbers (a CSV file's) as numbers
and of ISO dates as dates: ``rating <= 2`` works on a CSV file, ``date >= '2026-05-01'`` compares ISO
strings, ``date >= DATE '2026-05-01'`` and ``EXTRACT(month FROM date) = 5`` compare dates.  A missing
value (an empty CSV cell too, when parsed) never matches.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from engine.column_types import typed_strings
from engine.corpus import Corpus
from engine.errors import UsageError, printable, shorten

TEXT = "text"


class FilterError(UsageError):
    """A ``WHERE`` expression that cannot be used: ``problem`` is the one-line reason, ``str()`` adds the expression."""

    def __init__(self, expression: str, problem: str) -> None:
        self.expression = expression
        self.problem = printable(problem)
        super().__init__(f"where {printable(shorten(expression.strip(), 60))!r}: {self.problem}")


class RowFilter:
    """Evaluates ``WHERE`` expressions over one corpus's columns (the frames are built once, on first use)."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self._frame: pl.DataFrame | None = None
        self._typed: pl.DataFrame | None = None
        self._typed_done = False

    @property
    def columns(self) -> list[str]:
        """The names an expression can use."""
        return self.frame.columns

    @property
    def frame(self) -> pl.DataFrame:
        """The corpus's columns as the filter sees them: the text column holds the texts as loaded, also as ``text``."""
        if self._frame is None:
            corpus = self.corpus
            texts = pl.Series(corpus.text_col, corpus.texts, dtype=pl.String)
            frame = corpus.frame.with_columns(texts)
            if TEXT not in frame.columns:
                frame = frame.with_columns(texts.alias(TEXT))
            self._frame = frame
        return self._frame

    def _typed_frame(self) -> pl.DataFrame | None:
        """:attr:`frame` with its string columns of numbers or ISO dates parsed (None when it has none)."""
        if not self._typed_done:
            frame = self.frame
            parsed = []
            for name in frame.columns:
                if name not in (self.corpus.text_col, TEXT):
                    values = typed_strings(frame.get_column(name))
                    if values is not None:
                        parsed.append(values.alias(name))
            self._typed = frame.with_columns(parsed) if parsed else None
            self._typed_done = True
        return self._typed

    def mask(self, where: str) -> np.ndarray:
        """Boolean mask of the corpus rows ``where`` selects; raises :class:`FilterError` for an unusable expression."""
        if not where or not where.strip():
            raise FilterError(where or "", "empty expression; write a condition such as rating <= 2")
        try:
            return self._evaluate(self.frame, where)
        except FilterError:
            raise
        except Exception as exc:  # polars' errors and a panic in its SQL parser alike
            first = exc
        typed = self._typed_frame()
        if typed is not None:
            try:
                return self._evaluate(typed, where)
            except Exception:  # the first attempt's error says more: the columns as the file has them
                pass
        raise FilterError(where, self._problem(first, where)) from None

    def _evaluate(self, frame: pl.DataFrame, where: str) -> np.ndarray:
        result = frame.select(pl.sql_expr(where).alias("_match"))
        column = result.to_series()
        if column.dtype != pl.Boolean:
            raise FilterError(where, f"gives {_kind_name(column.dtype)}, not true or false per row; write a "
                                     f"condition such as rating <= 2")
        if len(column) != len(frame):
            raise FilterError(where, "gives one value for the whole file, not one per row (count(), sum() and "
                                     "other aggregates are not conditions)")
        return column.fill_null(False).to_numpy().astype(bool, copy=False)

    def _problem(self, exc: Exception, where: str) -> str:
        text = str(exc).strip()
        if isinstance(exc, pl.exceptions.ColumnNotFoundError):
            found = re.search(r'column "([^"]*)"', text)
            name = found.group(1) if found else text.splitlines()[0]
            near = re.search(r'Did you mean "([^"]*)"', text)
            hint = f"did you mean {near.group(1)!r}? " if near else ""
            if f'"{name}"' in where:  # "double quotes" name a column in SQL
                hint = f"a text value takes single quotes: '{name}'; "
            return f"unknown column {name!r} ({hint}columns: {', '.join(self.columns)})"
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            return f"cannot be evaluated ({type(exc).__name__})"
        problem = lines[0]
        reason = next((line for line in lines if line.startswith("error:")), None)
        if problem.startswith("regex error") and reason:
            problem = f"bad regular expression: {reason.removeprefix('error:').strip()}"
        elif problem.startswith("unable to parse"):
            problem = "cannot parse it as a condition; write one such as rating <= 2 AND product = 'X5 Pro'"
        elif problem.startswith(("|", "&")):  # polars names the operator first: "| on Boolean and ..."
            problem = f"operator {problem}"
        return shorten(problem, 200)


def _kind_name(dtype: pl.DataType) -> str:
    if dtype.is_numeric():
        return "a number"
    if dtype == pl.String:
        return "text"
    return f"values of type {dtype}"
