"""SQL WHERE filters over the sample's columns: masks against independent computations, and one-line errors."""

from __future__ import annotations

import json
import re
from datetime import date

import numpy as np
import polars as pl
import pytest

from engine.errors import UsageError
from engine.loading import load
from engine.row_filter import FilterError, RowFilter
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def sample():
    corpus = load(SAMPLE)
    return corpus, RowFilter(corpus)


def test_conditions_on_columns_select_the_same_rows_as_polars(sample):
    corpus, rows = sample
    frame = corpus.frame
    got = rows.mask("rating <= 2 AND product = 'X5 Pro'")
    expected = ((frame["rating"] <= 2) & (frame["product"] == "X5 Pro")).to_numpy()
    assert got.dtype == bool and len(got) == len(corpus)
    assert got.sum() > 0 and got.tolist() == expected.tolist()
    assert rows.mask("product IN ('X5 Pro', 'AirBeat 2') OR rating = 5").tolist() == (
        frame["product"].is_in(["X5 Pro", "AirBeat 2"]) | (frame["rating"] == 5)).to_list()


def test_text_conditions_match_substrings_and_regular_expressions(sample):
    corpus, rows = sample
    chinese = rows.mask("text LIKE '%电池%'")
    assert chinese.tolist() == ["电池" in t for t in corpus.texts] and chinese.sum() > 0
    regex = rows.mask("text ~ '(?i)battery'")
    assert regex.tolist() == [re.search("(?i)battery", t) is not None for t in corpus.texts]
    assert rows.mask("REGEXP_LIKE(text, 'battery', 'i')").tolist() == regex.tolist()


def test_iso_date_columns_compare_as_strings_and_as_dates(sample):
    corpus, rows = sample
    days = [date.fromisoformat(d) for d in corpus.frame["date"].to_list()]
    may_on = [d >= date(2026, 5, 1) for d in days]
    assert rows.mask("date >= '2026-05-01'").tolist() == may_on
    assert rows.mask("date >= DATE '2026-05-01'").tolist() == may_on
    assert rows.mask("EXTRACT(month FROM date) = 5").tolist() == [d.month == 5 for d in days]


def test_text_column_is_reachable_as_text_and_missing_values_never_match(tmp_path):
    path = tmp_path / "reviews.jsonl"
    records = [{"comment": "电池不耐用", "stars": 1}, {"comment": "Great battery", "stars": None},
               {"comment": "fine", "stars": 4}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    corpus = load(path)
    assert corpus.text_col == "comment"
    rows = RowFilter(corpus)
    assert rows.mask("text LIKE '%电池%'").tolist() == [True, False, False]
    assert rows.mask("comment ILIKE '%BATTERY%'").tolist() == [False, True, False]
    assert rows.mask("stars < 5").tolist() == [True, False, True]
    assert rows.mask("NOT (stars < 5)").tolist() == [False, False, False]


@pytest.mark.parametrize("where, words", [
    ("ratin <= 2", ["unknown column 'ratin'", "did you mean 'rating'", "columns: id, text, rating"]),
    ("rating <=", ["cannot parse"]),
    ('product = "X5 Pro"', ["unknown column 'X5 Pro'", "single quotes: 'X5 Pro'"]),
    ("rating", ["gives a number", "not true or false"]),
    ("count(*) > 1", ["one value for the whole file"]),
    ("text ~ '(unclosed'", ["bad regular expression"]),
    ("rating = 'abc'", ["cannot compare"]),
    ("foo(rating)", ["unsupported function 'foo'"]),
    ("   ", ["empty expression"]),
])
def test_unusable_expressions_raise_one_line_usage_errors(sample, where, words):
    _, rows = sample
    with pytest.raises(FilterError) as caught:
        rows.mask(where)
    error = caught.value
    assert isinstance(error, UsageError) and error.exit_code == 2
    assert "\n" not in str(error) and str(error).startswith("where ")
    for word in words:
        assert word in error.problem


def test_a_csv_files_numbers_and_dates_compare_as_numbers_and_dates(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("text,stars,price,day\nslow delivery,1,9.5,2026-05-02\nnice screen,10,12,2026-04-30\n"
                    "battery died,,3.25,\nok,2, 7 ,2026-05-20\n", encoding="utf-8")
    corpus = load(path)
    assert corpus.frame.schema["stars"] == pl.String  # the loader keeps a CSV file's cells as text
    rows = RowFilter(corpus)
    assert rows.mask("stars <= 2").tolist() == [True, False, False, True]  # 10 > 2 as a number; blank: missing
    assert rows.mask("price > 8").tolist() == [True, True, False, False]
    assert rows.mask("stars IN (1, 10)").tolist() == [True, True, False, False]
    assert rows.mask("day >= DATE '2026-05-01'").tolist() == [True, False, False, True]
    assert rows.mask("stars = '10'").tolist() == [False, True, False, False]  # quoted: the text as written
