"""What each carried column of a corpus holds — category, number, date or something not profiled — from its polars type and values (strings of numbers or ISO dates, as CSV files hold them, count as numbers or dates)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

CATEGORY, NUMBER, DATE, SKIPPED = "category", "number", "date", "skipped"
#: An ISO 8601 date, optionally with a time and a zone: what a string column must hold throughout to count as dates.
ISO_DATE = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
#: A string column with more distinct values than this share of its values (and than MIN_DISTINCT) is not a category.
DISTINCT_SHARE = 0.5
MIN_DISTINCT = 50
#: Mean length (characters) from which a mostly-distinct string column is called free text.
TEXT_LENGTH = 20


@dataclass(frozen=True)
class ColumnKind:
    """One carried column: its name, kind (:data:`CATEGORY`, :data:`NUMBER`, :data:`DATE`, :data:`SKIPPED`),
    why it is skipped (``note``), and ``values``: for a date column its days as a polars ``Date`` series, for a
    string column of numbers (as a CSV file has them) the numbers; else None (the column itself is the values)."""

    name: str
    kind: str
    note: str = ""
    values: pl.Series | None = None


def column_kind(series: pl.Series) -> ColumnKind:
    """The kind of one column, judged from its dtype and, for strings, its values."""
    name, dtype = series.name, series.dtype
    present = len(series) - series.null_count()
    if present == 0 or dtype == pl.Null:
        return ColumnKind(name, SKIPPED, "no values")
    if dtype.is_nested() or dtype == pl.Object or dtype == pl.Binary:
        return ColumnKind(name, SKIPPED, "nested values (lists or objects)")
    if dtype == pl.Boolean or isinstance(dtype, (pl.Categorical, pl.Enum)):
        return ColumnKind(name, CATEGORY)
    if dtype.is_numeric() or dtype == pl.Duration:
        return ColumnKind(name, NUMBER)
    if dtype == pl.Date:
        return ColumnKind(name, DATE, values=series)
    if dtype == pl.Datetime:
        return ColumnKind(name, DATE, values=series.dt.date())
    if dtype != pl.String:
        return ColumnKind(name, SKIPPED, f"values of type {dtype} are not profiled")
    series = blank_as_null(series)
    present = len(series) - series.null_count()
    if present == 0:
        return ColumnKind(name, SKIPPED, "no values")
    dates = iso_dates(series)
    if dates is not None:
        return ColumnKind(name, DATE, values=dates)
    numbers = string_numbers(series)
    if numbers is not None:
        return ColumnKind(name, NUMBER, values=numbers)
    distinct = series.n_unique() - (series.null_count() > 0)
    if distinct > max(MIN_DISTINCT, DISTINCT_SHARE * present):
        mean_length = series.str.len_chars().mean() or 0.0
        if mean_length >= TEXT_LENGTH:
            return ColumnKind(name, SKIPPED, f"free text ({distinct:,} distinct values, {mean_length:.0f} characters "
                                             f"on average)")
        return ColumnKind(name, SKIPPED, f"almost every value distinct ({distinct:,} of {present:,})")
    return ColumnKind(name, CATEGORY)


def blank_as_null(series: pl.Series) -> pl.Series:
    """A string column with its empty and blank values (an empty CSV cell) made missing."""
    return series.set(series.str.strip_chars() == "", None)


def string_numbers(series: pl.Series) -> pl.Series | None:
    """A string column whose every value is a number, as ``Int64`` (all integers) or ``Float64``; else None."""
    stripped = series.str.strip_chars()
    for dtype in (pl.Int64, pl.Float64):
        numbers = stripped.cast(dtype, strict=False)
        if numbers.null_count() == series.null_count():
            return numbers
    return None


def iso_dates(series: pl.Series) -> pl.Series | None:
    """The dates of a string column whose every value is an ISO date (or date and time), as ``Date``; else None."""
    present = series.drop_nulls()
    if len(present) == 0 or not present.str.contains(ISO_DATE).all():
        return None
    dates = series.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    return dates if dates.null_count() == series.null_count() else None


def typed_strings(series: pl.Series) -> pl.Series | None:
    """A string column of ISO dates as ``Date`` (``Datetime`` when the values carry a time), one of numbers as
    numbers (:func:`string_numbers`), blanks missing; None for any other column."""
    if series.dtype != pl.String:
        return None
    series = blank_as_null(series)
    if series.null_count() == len(series):
        return None
    numbers = string_numbers(series)
    return numbers if numbers is not None else iso_datetimes(series)


def iso_datetimes(series: pl.Series) -> pl.Series | None:
    """A string column of ISO dates as ``Date`` (or ``Datetime`` when the values carry a time); else None."""
    dates = iso_dates(series)
    if dates is None:
        return None
    if series.drop_nulls().str.len_chars().max() == 10:
        return dates
    try:
        times = series.str.to_datetime(strict=False)
    except pl.exceptions.PolarsError:  # mixed zones: comparisons still work on the dates
        return dates
    return times if times.null_count() == series.null_count() else dates


def column_kinds(frame: pl.DataFrame, columns: list[str]) -> list[ColumnKind]:
    """:func:`column_kind` of each of ``columns`` of ``frame``, in that order."""
    return [column_kind(frame.get_column(c)) for c in columns]
