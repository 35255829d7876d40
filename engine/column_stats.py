"""Profiles of the carried columns for a set of rows beside a baseline, and one column statistic per cluster.

Every column is encoded once per corpus (:class:`ColumnProfiler`): categories as integer codes,
numbers as floats with their histogram bin, dates as their period (day, week, month or year,
picked from the span of the whole file).  A profile of a cluster is then a few ``bincount`` over
the cluster's rows::

    profiler = ColumnProfiler(corpus)
    base = profiler.baseline(filter_mask)               # once per filter (None: the whole file)
    for profile in profiler.profile(cluster_rows, base):
        ...                                             # CategoryProfile, NumberProfile, DateProfile, SkippedColumn
    stat = profiler.cluster_stat(labels, ("rating", "mean"))   # one value per cluster, for a column and a sort
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.column_types import CATEGORY, DATE, NUMBER, ColumnKind, blank_as_null, column_kind
from engine.corpus import Corpus
from engine.errors import UsageError
from engine.progress import CancelToken, Progress, ProgressCallback, check

#: Histogram bins of a number column (an integer column with a small range gets one bin per value instead).
NUMBER_BINS = 10
#: An integer column spanning at most this many values gets one histogram bin per value.
INTEGER_BINS_MAX = 24
#: Share of values beyond each end of a number column's histogram (they are counted in the end bins).
HISTOGRAM_TAIL = 0.01
#: The period of a date column is the shortest of day, week, month, year giving at most this many periods.
MAX_PERIODS = 60
PERIODS = ("day", "week", "month", "year")
TOP_VALUES = 8
STATS = ("mean", "median", "share", "trend")


@dataclass
class SkippedColumn:
    """A column that is not profiled, and why (free text, nested values, no values…)."""

    column: str
    note: str


@dataclass
class CategoryProfile:
    """The most frequent values of a category column among the rows, beside the baseline.

    ``share`` is of the rows (missing values included), ``base_share`` of the baseline's rows;
    ``lift`` = share / base_share.  ``other`` rows hold a value not listed, ``missing`` none.
    """

    column: str
    size: int
    values: list[str]
    counts: np.ndarray
    share: np.ndarray
    base_counts: np.ndarray
    base_share: np.ndarray
    lift: np.ndarray
    other: int
    missing: int


@dataclass
class NumberProfile:
    """Mean, median and a histogram of a number column among the rows, beside the baseline's.

    ``edges`` are the ``len(counts) + 1`` bin edges; values beyond them are counted in the end bins.
    ``integer`` is true when every bin holds one integer value (edges at half-integers).
    """

    column: str
    size: int
    mean: float
    median: float
    base_mean: float
    base_median: float
    edges: np.ndarray
    counts: np.ndarray
    base_counts: np.ndarray
    integer: bool
    missing: int


@dataclass
class DateProfile:
    """Rows per period of a date column, beside the baseline's.

    ``period`` is day, week (starting Monday), month or year; ``starts`` the first day of each period
    (ISO); ``share`` is the rows' count per period over their dated rows, ``base_share`` the same for the
    baseline.  ``trend``: the change per period of the rows' share of each period's baseline rows,
    relative to their mean share (+0.05: growing 5 % of its level per period).
    """

    column: str
    size: int
    period: str
    starts: list[str]
    counts: np.ndarray
    base_counts: np.ndarray
    share: np.ndarray
    base_share: np.ndarray
    trend: float
    missing: int


Profile = CategoryProfile | NumberProfile | DateProfile | SkippedColumn


@dataclass
class Baseline:
    """Counts and statistics of every profiled column over the rows profiles are compared with."""

    rows: np.ndarray | None  # corpus rows, ascending (None: the whole file)
    size: int
    counts: dict[str, np.ndarray]  # per column: count per code (category), bin (number), period (date); missing last
    means: dict[str, float]
    medians: dict[str, float]


@dataclass
class ClusterStat:
    """One statistic of one column per cluster: ``values[i]`` for cluster ``ids[i]`` (NaN where undefined).

    ``sizes`` are the rows counted per cluster; for a trend, ``counts`` is the (clusters × periods)
    matrix of rows per period and ``starts`` the periods' first days, for a sparkline.
    """

    column: str
    stat: str
    value: str | None
    ids: np.ndarray
    values: np.ndarray
    sizes: np.ndarray
    counts: np.ndarray | None = None
    starts: list[str] | None = None

    def of(self, cluster_id: int) -> float:
        """The statistic of ``cluster_id`` (NaN when it has no rows)."""
        hit = np.flatnonzero(self.ids == cluster_id)
        return float(self.values[hit[0]]) if len(hit) else float("nan")


@dataclass
class _Encoded:
    kind: ColumnKind
    codes: np.ndarray  # per corpus row: code / bin / period; the missing code is ``len(names)``
    names: list[str]  # category values, bin labels or period starts
    values: np.ndarray | None = None  # number columns: float64 per row (NaN missing)
    edges: np.ndarray | None = None
    integer: bool = False
    period: str = ""


class ColumnProfiler:
    """Every carried column of one corpus, encoded once for fast per-cluster profiles."""

    def __init__(self, corpus: Corpus, columns: list[str] | None = None, progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> None:
        self.n = len(corpus)
        names = corpus.extra_columns if columns is None else columns
        self.kinds: list[ColumnKind] = []
        self._encoded: dict[str, _Encoded] = {}
        for done, name in enumerate(names):
            check(cancel)
            if progress:
                progress(Progress("columns", done, len(names), message=name))
            column = corpus.frame.get_column(name)
            kind = column_kind(column)
            self.kinds.append(kind)
            values = kind.values if kind.values is not None else column
            if kind.kind == CATEGORY:
                self._encoded[name] = _encode_category(values, kind)
            elif kind.kind == NUMBER:
                self._encoded[name] = _encode_number(values, kind)
            elif kind.kind == DATE:
                self._encoded[name] = _encode_date(values, kind)
        if progress:
            progress(Progress("columns", len(names), len(names)))
        self._whole = self._baseline(None)

    @property
    def columns(self) -> list[str]:
        """Every carried column, profiled or not, in file order."""
        return [k.name for k in self.kinds]

    def kind(self, column: str) -> ColumnKind:
        """The :class:`ColumnKind` of ``column``."""
        for kind in self.kinds:
            if kind.name == column:
                return kind
        raise UsageError(f"no column {column!r} (columns: {', '.join(self.columns) or 'none'})")

    def baseline(self, rows: np.ndarray | None = None) -> Baseline:
        """Counts over ``rows`` (a bool mask or corpus rows; None: the whole file), for :meth:`profile`."""
        return self._whole if rows is None else self._baseline(_as_rows(rows, self.n))

    def _baseline(self, rows: np.ndarray | None) -> Baseline:
        counts, means, medians = {}, {}, {}
        for name, enc in self._encoded.items():
            codes = enc.codes if rows is None else enc.codes[rows]
            counts[name] = np.bincount(codes, minlength=len(enc.names) + 1)
            if enc.values is not None:
                values = enc.values if rows is None else enc.values[rows]
                means[name], medians[name] = _mean_median(values)
        return Baseline(rows, self.n if rows is None else len(rows), counts, means, medians)

    def profile(self, rows: np.ndarray, baseline: Baseline | None = None, top: int = TOP_VALUES) -> list[Profile]:
        """A profile of every column for ``rows`` (a bool mask or corpus rows) beside ``baseline`` (default: the
        whole file), in file order; columns that are not profiled come as :class:`SkippedColumn`."""
        rows = _as_rows(rows, self.n)
        base = baseline or self._whole
        out: list[Profile] = []
        for kind in self.kinds:
            enc = self._encoded.get(kind.name)
            if enc is None:
                out.append(SkippedColumn(kind.name, kind.note))
                continue
            counts = np.bincount(enc.codes[rows], minlength=len(enc.names) + 1)
            base_counts = base.counts[kind.name]
            if kind.kind == CATEGORY:
                out.append(_category_profile(kind.name, enc, counts, base_counts, len(rows), base.size, top))
            elif kind.kind == NUMBER:
                mean, median = _mean_median(enc.values[rows])
                out.append(NumberProfile(kind.name, len(rows), mean, median, base.means[kind.name],
                                         base.medians[kind.name], enc.edges, counts[:-1], base_counts[:-1],
                                         enc.integer, int(counts[-1])))
            else:
                out.append(_date_profile(kind.name, enc, counts, base_counts, len(rows)))
        return out

    def stat_choices(self, top: int = 5) -> list[tuple[str, str, str | None]]:
        """The statistics :meth:`cluster_stat` can show, as ``(column, stat, value)``: the mean of each number
        column, the share of each of the ``top`` most frequent values of each category column, the trend of
        each date column."""
        out: list[tuple[str, str, str | None]] = []
        for kind in self.kinds:
            enc = self._encoded.get(kind.name)
            if enc is None:
                continue
            if kind.kind == NUMBER:
                out.append((kind.name, "mean", None))
            elif kind.kind == DATE:
                out.append((kind.name, "trend", None))
            else:
                counts = self._whole.counts[kind.name][:-1]
                for code in np.argsort(-counts, kind="stable")[:top]:
                    out.append((kind.name, "share", enc.names[code]))
        return out

    def cluster_stat(self, labels: np.ndarray, choice: tuple, within: np.ndarray | None = None) -> ClusterStat:
        """One statistic of one column for every cluster of ``labels`` (a cluster id per corpus row).

        ``choice`` is ``(column, stat)`` or ``(column, stat, value)``: ``mean`` or ``median`` of a number
        column, ``share`` of ``value`` in a category column, ``trend`` of a date column (see
        :attr:`DateProfile.trend`: sort by it, descending, for "growing fastest").  ``within`` (a bool mask
        or corpus rows) restricts every count to those rows (the filter).
        """
        column, stat, value = (tuple(choice) + (None,))[:3]
        if stat not in STATS:
            raise UsageError(f"unknown statistic {stat!r} (choose one of {', '.join(STATS)})")
        kind = self.kind(column)
        enc = self._encoded.get(column)
        wanted = {"mean": NUMBER, "median": NUMBER, "share": CATEGORY, "trend": DATE}[stat]
        if enc is None or kind.kind != wanted:
            raise UsageError(f"{stat} needs a {wanted} column; {column!r} is "
                             f"{kind.kind if enc is not None else 'not profiled: ' + kind.note}")
        labels = np.asarray(labels, dtype=np.int64)
        rows = None if within is None else _as_rows(within, self.n)
        labels_in = labels if rows is None else labels[rows]
        codes = enc.codes if rows is None else enc.codes[rows]
        lo = int(labels_in.min()) if len(labels_in) else 0
        shifted = labels_in - lo
        sizes = np.bincount(shifted)
        ids = np.flatnonzero(sizes) + lo
        keep = sizes > 0
        sizes = sizes[keep]
        starts = counts = None
        with np.errstate(invalid="ignore", divide="ignore"):
            if stat in ("mean", "median"):
                values = enc.values if rows is None else enc.values[rows]
                present = ~np.isnan(values)
                if stat == "mean":
                    sums = np.bincount(shifted[present], weights=values[present], minlength=len(keep))
                    found = np.bincount(shifted[present], minlength=len(keep))
                    result = (sums / found)[keep]
                else:
                    order = np.argsort(shifted, kind="stable")
                    groups = np.split(values[order], np.cumsum(sizes)[:-1])
                    result = np.array([_mean_median(group)[1] for group in groups][: len(sizes)])
            elif stat == "share":
                if value not in enc.names:
                    raise UsageError(f"{column!r} has no value {value!r}")
                hits = codes == enc.names.index(value)
                result = (np.bincount(shifted[hits], minlength=len(keep)) / np.bincount(shifted,
                                                                                         minlength=len(keep)))[keep]
            else:
                periods = len(enc.names)
                matrix = np.bincount(shifted * (periods + 1) + codes,
                                     minlength=len(keep) * (periods + 1)).reshape(len(keep), periods + 1)[keep]
                counts = matrix[:, :periods]
                result = _trends(counts, counts.sum(axis=0))
                starts = enc.names
        return ClusterStat(column, stat, value, ids, np.asarray(result, dtype=np.float64), sizes, counts, starts)


def _as_rows(rows: np.ndarray, n: int) -> np.ndarray:
    rows = np.asarray(rows)
    if rows.dtype == bool:
        if len(rows) != n:
            raise ValueError(f"a mask of {len(rows)} rows for a corpus of {n}")
        return np.flatnonzero(rows)
    return rows.astype(np.int64, copy=False)


def _mean_median(values: np.ndarray) -> tuple[float, float]:
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    return float(values.mean()), float(np.median(values))


def _encode_category(series: pl.Series, kind: ColumnKind) -> _Encoded:
    as_text = series.cast(pl.String) if series.dtype != pl.String else blank_as_null(series)
    names = as_text.drop_nulls().unique().sort().to_list()
    codes = as_text.cast(pl.Enum(names)).to_physical()  # the index of each value in ``names``; null stays null
    codes = codes.fill_null(len(names)).to_numpy().astype(np.int64)
    return _Encoded(kind, codes, [str(v) for v in names])


def _encode_number(series: pl.Series, kind: ColumnKind) -> _Encoded:
    if series.dtype == pl.Duration:
        series = series.dt.total_seconds(fractional=True)
    values = series.cast(pl.Float64).fill_nan(None).to_numpy().astype(np.float64)
    values[~np.isfinite(values)] = np.nan
    present = values[~np.isnan(values)]
    low, high = float(present.min()), float(present.max())
    integer = series.dtype.is_integer() and high - low < INTEGER_BINS_MAX
    if integer:
        edges = np.arange(low - 0.5, high + 1.0, 1.0)
    else:
        low, high = np.quantile(present, [HISTOGRAM_TAIL, 1 - HISTOGRAM_TAIL])
        if high <= low:
            low, high = float(present.min()), float(present.max())
        edges = np.linspace(low, high if high > low else low + 1.0, NUMBER_BINS + 1)
    bins = len(edges) - 1
    codes = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, bins - 1)
    codes[np.isnan(values)] = bins
    names = [f"{a:g}–{b:g}" for a, b in zip(edges[:-1], edges[1:])]
    return _Encoded(kind, codes.astype(np.int64), names, values=values, edges=edges, integer=integer)


def _encode_date(dates: pl.Series, kind: ColumnKind) -> _Encoded:
    days = dates.cast(pl.Date).to_physical().cast(pl.Int64).to_numpy(allow_copy=True)
    missing = dates.is_null().to_numpy()
    present = days[~missing].astype(np.int64)
    first, last = int(present.min()), int(present.max())
    period = _period_for(first, last)
    index, starts = _periods(np.where(missing, first, days).astype(np.int64), first, last, period)
    index[missing] = len(starts)
    return _Encoded(kind, index, starts, period=period)


def _period_for(first: int, last: int) -> str:
    """The shortest period giving at most :data:`MAX_PERIODS` periods between days ``first`` and ``last``."""
    for period in PERIODS[:-1]:
        _, starts = _periods(np.array([first, last]), first, last, period)
        if len(starts) <= MAX_PERIODS:
            return period
    return PERIODS[-1]


def _periods(days: np.ndarray, first: int, last: int, period: str) -> tuple[np.ndarray, list[str]]:
    """Per day (days since 1970-01-01): the index of its period counted from ``first``'s, and every period's start."""
    unit = {"day": "D", "month": "M", "year": "Y"}.get(period)
    if unit is None:  # week: Monday-based (1970-01-01 was a Thursday)
        def number(d):
            return (d - (d + 3) % 7) // 7
        index = number(days) - number(first)
        count = int(number(last) - number(first)) + 1
        start0 = first - (first + 3) % 7
        starts = [str(np.datetime64(start0 + 7 * i, "D")) for i in range(count)]
        return index.astype(np.int64), starts
    as_unit = days.astype("datetime64[D]").astype(f"datetime64[{unit}]").astype(np.int64)
    first_unit = int(np.datetime64(first, "D").astype(f"datetime64[{unit}]").astype(np.int64))
    last_unit = int(np.datetime64(last, "D").astype(f"datetime64[{unit}]").astype(np.int64))
    starts = [str(np.datetime64(u, unit).astype("datetime64[D]")) for u in range(first_unit, last_unit + 1)]
    return (as_unit - first_unit).astype(np.int64), starts


def _trends(counts: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Per row of ``counts`` (rows per period): the weighted least-squares slope of its share of ``totals``
    per period, over its mean share (weights: the period totals); NaN when undefined."""
    counts = np.atleast_2d(counts).astype(np.float64)
    totals = totals.astype(np.float64)
    whole = totals.sum()
    if whole <= 0 or len(totals) < 2:
        return np.full(len(counts), np.nan)
    t = np.arange(len(totals), dtype=np.float64)
    centred = t - (totals @ t) / whole
    spread = totals @ centred**2
    if spread <= 0:
        return np.full(len(counts), np.nan)
    slope = (counts @ centred) / spread
    level = counts.sum(axis=1) / whole
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(level > 0, slope / level, np.nan)


def _category_profile(column: str, enc: _Encoded, counts: np.ndarray, base_counts: np.ndarray, size: int,
                      base_size: int, top: int) -> CategoryProfile:
    values = counts[:-1]
    order = np.lexsort((np.arange(len(values)), -values))
    order = order[values[order] > 0][:top]
    share = values[order] / max(size, 1)
    base_share = base_counts[:-1][order] / max(base_size, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        lift = np.where(base_share > 0, share / base_share, np.nan)
    return CategoryProfile(column, size, [enc.names[i] for i in order], values[order], share,
                           base_counts[:-1][order], base_share, lift,
                           int(values.sum() - values[order].sum()), int(counts[-1]))


def _date_profile(column: str, enc: _Encoded, counts: np.ndarray, base_counts: np.ndarray, size: int) -> DateProfile:
    dated, base_dated = counts[:-1], base_counts[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = dated / max(dated.sum(), 1)
        base_share = base_dated / max(base_dated.sum(), 1)
    trend = float(_trends(dated, base_dated)[0])
    return DateProfile(column, size, enc.period, enc.names, dated, base_dated, share, base_share, trend,
                       int(counts[-1]))
