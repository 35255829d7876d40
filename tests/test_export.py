"""Export round trip: ids and texts come back byte for byte through polars, pandas and csv."""

from __future__ import annotations

import csv
import json

import pandas as pd
import polars as pl
import pytest

from engine.clustering import ClusterSettings
from engine.export import export_analysis
from engine.session import Session, SessionOptions

NASTY = [
    ("plain-1", "The battery lasts two days"),
    ("comma,id", "Fast delivery, well packed, happy"),
    ('quote"id', 'He said "refund me" twice'),
    ("newline\nid", "first line\nsecond line"),
    ("crlf", "windows line\r\nbreak, and a comma"),
    ("cjk-标识", "屏幕很清晰，颜色也好看"),
    ("emoji-😀", "Love it 😀👍 great price"),
    ("tab", "tab\tinside"),
    ("lead-space", "  leading and trailing spaces  "),
    ("empty", "   "),
    ("zh-2", "物流太慢了，等了两个星期"),
    ("mixed", "客服 reply 很慢 but solved"),
]


@pytest.fixture(scope="module")
def analysis(tmp_path_factory, embedder):
    path = tmp_path_factory.mktemp("export") / "nasty.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i, (ident, text) in enumerate(NASTY):
            f.write(json.dumps({"id": ident, "text": text, "stars": i % 5, "note": f"n,{i}\""}, ensure_ascii=False) + "\n")
    session = Session.open(path, SessionOptions(), embedder=embedder)
    return session.cluster(ClusterSettings("kmeans", k=3))


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_polars_reads_back_the_same_ids_and_texts(analysis, tmp_path, suffix):
    out = export_analysis(analysis, tmp_path / f"out{suffix}")
    if suffix == ".csv":
        frame = pl.read_csv(out, infer_schema=False)
    elif suffix == ".tsv":
        frame = pl.read_csv(out, separator="\t", infer_schema=False)
    elif suffix == ".jsonl":
        frame = pl.read_ndjson(out)
    else:
        frame = pl.read_parquet(out)
    assert frame.columns[:6] == ["id", "text", "cluster_id", "cluster_label", "score", "keywords"]
    assert frame.columns[6:] == ["stars", "note"]
    assert frame["id"].to_list() == [i for i, _ in NASTY]
    assert frame["text"].to_list() == [t for _, t in NASTY]


def test_pandas_and_csv_module_read_back_the_same(analysis, tmp_path):
    out = export_analysis(analysis, tmp_path / "out.csv")
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert df["id"].tolist() == [i for i, _ in NASTY]
    assert df["text"].tolist() == [t for _, t in NASTY]
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == [i for i, _ in NASTY]
    assert [r["text"] for r in rows] == [t for _, t in NASTY]
    assert rows[2]["note"] == 'n,2"'


def test_empty_texts_are_exported_flagged_not_clustered(analysis, tmp_path):
    frame = pl.read_csv(export_analysis(analysis, tmp_path / "out.csv"), infer_schema=False)
    empty = frame.filter(pl.col("id") == "empty")
    assert empty["cluster_id"].to_list() == [None] and empty["cluster_label"].to_list() == ["(empty text)"]
    clustered = frame.filter(pl.col("id") != "empty")
    assert clustered["cluster_id"].null_count() == 0
    assert len(frame) == len(NASTY)


def test_failed_export_leaves_no_file(analysis, tmp_path):
    from engine.errors import QtuiError

    target = tmp_path / "missing-dir" / "out.csv"
    with pytest.raises(QtuiError):
        export_analysis(analysis, target)
    assert not target.exists()
    (tmp_path / "keep.csv").write_text("previous export\n")
    with pytest.raises(Exception):
        export_analysis(analysis, tmp_path / "keep.xlsx")
    assert (tmp_path / "keep.csv").read_text() == "previous export\n"
