"""Column profiles of a set of rows beside a baseline, and per-cluster statistics, against independent polars/numpy figures."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from engine.column_stats import (CategoryProfile, ColumnProfiler, DateProfile, NumberProfile, SkippedColumn)
from engine.errors import UsageError
from engine.loading import load
from engine.row_filter import RowFilter
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def sample():
    corpus = load(SAMPLE)
    return corpus, ColumnProfiler(corpus)


def theme_labels(corpus) -> tuple[np.ndarray, list[str]]:
    themes = corpus.frame["theme"].to_list()
    names = sorted(set(themes))
    return np.array([names.index(t) for t in themes]), names


def by_column(profiles) -> dict:
    return {p.column: p for p in profiles}


def test_each_column_gets_the_profile_of_its_type(sample):
    corpus, profiler = sample
    assert [(k.name, k.kind) for k in profiler.kinds] == [
        ("rating", "number"), ("product", "category"), ("date", "date"), ("theme", "category")]
    battery = (corpus.frame["theme"] == "battery").to_numpy()
    got = by_column(profiler.profile(battery))
    assert isinstance(got["rating"], NumberProfile) and isinstance(got["product"], CategoryProfile)
    assert isinstance(got["date"], DateProfile) and isinstance(got["theme"], CategoryProfile)


def test_category_profile_counts_shares_and_lift(sample):
    corpus, profiler = sample
    frame = corpus.frame
    rows = np.flatnonzero((frame["theme"] == "battery").to_numpy())
    product = by_column(profiler.profile(rows))["product"]
    in_cluster = frame[rows]["product"].value_counts().sort(["count", "product"], descending=[True, False])
    whole = dict(frame["product"].value_counts().iter_rows())
    assert product.values == in_cluster["product"].to_list()[: len(product.values)]
    assert product.counts.tolist() == in_cluster["count"].to_list()[: len(product.values)]
    for value, count, share, base_share, lift in zip(product.values, product.counts, product.share,
                                                     product.base_share, product.lift):
        assert share == pytest.approx(count / len(rows))
        assert base_share == pytest.approx(whole[value] / len(frame))
        assert lift == pytest.approx(share / base_share)
    assert product.other + product.counts.sum() + product.missing == len(rows)


def test_number_profile_means_medians_and_shared_bins(sample):
    corpus, profiler = sample
    ratings = corpus.frame["rating"].to_numpy().astype(float)
    low_price = (corpus.frame["theme"] == "price").to_numpy()
    rating = by_column(profiler.profile(low_price))["rating"]
    assert rating.integer and rating.edges.tolist() == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]
    assert rating.mean == pytest.approx(ratings[low_price].mean())
    assert rating.median == pytest.approx(np.median(ratings[low_price]))
    assert rating.base_mean == pytest.approx(ratings.mean())
    assert rating.counts.tolist() == [int((ratings[low_price] == v).sum()) for v in range(1, 6)]
    assert rating.base_counts.tolist() == [int((ratings == v).sum()) for v in range(1, 6)]


def test_date_profile_counts_per_week_beside_the_whole_file(sample):
    corpus, profiler = sample
    frame = corpus.frame.with_columns(pl.col("date").str.to_date().alias("day"))
    battery = (frame["theme"] == "battery").to_numpy()
    dates = by_column(profiler.profile(battery))["date"]
    assert dates.period == "week"  # the sample spans about five months
    weeks = frame.with_columns(pl.col("day").dt.truncate("1w").cast(pl.String).alias("week"))
    whole = dict(weeks.group_by("week").len().iter_rows())
    inside = dict(weeks.filter(pl.Series(battery)).group_by("week").len().iter_rows())
    assert dates.starts[0] == min(whole) and dates.starts[-1] == max(whole)
    assert dates.base_counts.tolist() == [whole.get(w, 0) for w in dates.starts]
    assert dates.counts.tolist() == [inside.get(w, 0) for w in dates.starts]
    assert dates.share.sum() == pytest.approx(1.0)


def test_a_filter_is_the_baseline_when_given(sample):
    corpus, profiler = sample
    low = RowFilter(corpus).mask("rating <= 2")
    cluster = low & (corpus.frame["theme"] == "quality").to_numpy()
    product = by_column(profiler.profile(cluster, profiler.baseline(low)))["product"]
    filtered = corpus.frame.filter(pl.Series(low))
    base = dict(filtered["product"].value_counts().iter_rows())
    for value, base_share in zip(product.values, product.base_share):
        assert base_share == pytest.approx(base[value] / len(filtered))


def test_cluster_statistics_match_group_by(sample):
    corpus, profiler = sample
    labels, names = theme_labels(corpus)
    frame = corpus.frame.with_columns(pl.Series("label", labels))
    mean = profiler.cluster_stat(labels, ("rating", "mean"))
    expected = dict(frame.group_by("label").agg(pl.col("rating").mean()).iter_rows())
    assert mean.ids.tolist() == sorted(expected)
    assert mean.values.tolist() == pytest.approx([expected[i] for i in mean.ids])
    median = profiler.cluster_stat(labels, ("rating", "median"))
    expected = dict(frame.group_by("label").agg(pl.col("rating").median()).iter_rows())
    assert median.values.tolist() == pytest.approx([expected[i] for i in median.ids])
    share = profiler.cluster_stat(labels, ("product", "share", "X5 Pro"))
    expected = dict(frame.group_by("label").agg((pl.col("product") == "X5 Pro").mean()).iter_rows())
    assert share.values.tolist() == pytest.approx([expected[i] for i in share.ids])
    low = RowFilter(corpus).mask("rating <= 2")
    within = profiler.cluster_stat(labels, ("product", "share", "X5 Pro"), within=low)
    assert within.sizes.sum() == low.sum()
    assert ("rating", "mean", None) in profiler.stat_choices() and ("date", "trend", None) in profiler.stat_choices()
    nothing = np.zeros(len(corpus), dtype=bool)
    for choice in profiler.stat_choices()[:2] + [("rating", "median"), ("date", "trend")]:
        empty = profiler.cluster_stat(labels, choice, within=nothing)
        assert len(empty.ids) == len(empty.values) == len(empty.sizes) == 0


def test_trend_is_the_weighted_slope_of_each_clusters_share_of_its_period(sample):
    corpus, profiler = sample
    labels, _ = theme_labels(corpus)
    trend = profiler.cluster_stat(labels, ("date", "trend"))
    assert trend.counts.shape == (len(trend.ids), len(trend.starts))
    totals = trend.counts.sum(axis=0)
    used = totals > 0
    t = np.arange(len(totals))[used]
    for i in range(len(trend.ids)):
        share = trend.counts[i][used] / totals[used]
        slope = np.polyfit(t, share, 1, w=np.sqrt(totals[used]))[0]
        assert trend.values[i] == pytest.approx(slope / (trend.counts[i].sum() / totals.sum()))
    assert trend.values.max() > 0 > trend.values.min()


def test_free_text_nested_columns_are_skipped_and_long_spans_use_months(tmp_path):
    path = tmp_path / "rows.parquet"
    start = date(2023, 1, 1)
    records = [{"text": f"text {i}", "note": f"a long free-text remark number {i} about the product and delivery",
                "tags": ["a", "b"][: i % 3], "when": str(start + timedelta(days=7 * i)),
                "price": float(i) ** 1.5, "channel": ["web", "app", "shop"][i % 3]} for i in range(150)]
    pl.DataFrame(records).write_parquet(path)  # parquet keeps the lists as lists
    corpus = load(path)
    profiles = by_column(ColumnProfiler(corpus).profile(np.arange(0, 150, 2)))
    assert isinstance(profiles["note"], SkippedColumn) and "free text" in profiles["note"].note
    assert isinstance(profiles["tags"], SkippedColumn) and "nested" in profiles["tags"].note
    assert profiles["when"].period == "month" and profiles["when"].starts[0] == "2023-01-01"
    price = profiles["price"]
    assert not price.integer and len(price.counts) == 10 and price.counts.sum() == 75
    assert profiles["channel"].values == ["app", "shop", "web"] and profiles["channel"].counts.tolist() == [25] * 3
    with pytest.raises(UsageError, match="needs a number column"):
        ColumnProfiler(corpus).cluster_stat(np.zeros(150, dtype=int), ("channel", "mean"))


def test_csv_cells_of_numbers_and_dates_are_profiled_as_numbers_and_dates(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("text,stars,day,shop\nslow delivery,1,2026-05-02,north\nnice screen,5,2026-04-30,\n"
                    "battery died,,2026-05-20,south\n", encoding="utf-8")
    corpus = load(path)
    profiler = ColumnProfiler(corpus)
    assert [(k.name, k.kind) for k in profiler.kinds] == [("stars", "number"), ("day", "date"), ("shop", "category")]
    got = by_column(profiler.profile(np.array([0, 2])))
    assert got["stars"].mean == 1.0 and got["stars"].missing == 1 and got["stars"].base_mean == 3.0
    assert got["day"].period == "day" and got["day"].counts.sum() == 2
    assert got["shop"].values == ["north", "south"] and got["shop"].missing == 0
    assert by_column(profiler.profile(np.array([1])))["shop"].missing == 1  # an empty cell is a missing value
