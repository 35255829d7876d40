"""The headless ``qtui`` command on the bundled sample and on bad input."""

from __future__ import annotations

import json

import polars as pl

from tests.cli import run_qtui
from tests.conftest import SAMPLE


def test_help_lists_the_commands():
    result = run_qtui("--help")
    assert result.returncode == 0
    for command in ("open", "cluster"):
        assert command in result.stdout
    assert "--export" in run_qtui("cluster", "--help").stdout


def test_cluster_sample_prints_summary_and_exports(tmp_path):
    out = tmp_path / "sample.csv"
    result = run_qtui("cluster", str(SAMPLE), "--export", str(out), "--label-col", "theme")
    assert result.returncode == 0, result.stderr
    assert "clusters" in result.stdout and "silhouette" in result.stdout and "ARI" in result.stdout
    frame = pl.read_csv(out, infer_schema=False)
    assert len(frame) == 320
    assert frame["id"].to_list()[:2] == ["c0001", "c0002"]


def test_json_summary_and_second_run_uses_the_cache():
    first = run_qtui("cluster", str(SAMPLE), "--json")
    assert first.returncode == 0, first.stderr
    second = json.loads(run_qtui("cluster", str(SAMPLE), "--json").stdout)
    assert second["embedding"]["embedded"] == 0
    assert second["embedding"]["cached"] + second["embedding"]["duplicates"] == second["rows"] - second["empty_rows"]
    assert second["clusters"] and all("keywords" in c for c in second["clusters"])
    assert json.loads(first.stdout)["clusters"] == second["clusters"]


def test_input_errors_are_one_line_with_exit_code_2(tmp_path):
    result = run_qtui("cluster", str(tmp_path / "nope.jsonl"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope.jsonl" in lines[0] and "no such file" in lines[0]
    result = run_qtui("cluster", str(SAMPLE), "--text-col", "txet")
    assert result.returncode == 2 and "did you mean 'text'" in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_rows_are_listed_in_the_summary(tmp_path):
    path = tmp_path / "some-bad.jsonl"
    good = [json.dumps({"text": f"comment {i} about the battery"}) for i in range(8)]
    path.write_text("\n".join(good[:4] + ["{broken", '{"text": ["x"]}'] + good[4:]) + "\n", encoding="utf-8")
    result = run_qtui("cluster", str(path), "--algo", "kmeans", "--k", "2")
    assert result.returncode == 0, result.stderr
    assert "some-bad.jsonl:5" in result.stdout and "some-bad.jsonl:6" in result.stdout
    strict = run_qtui("cluster", str(path), "--strict")
    assert strict.returncode == 2 and "some-bad.jsonl:5" in strict.stderr


def test_cluster_where_counts_and_exports_only_the_matching_rows(tmp_path):
    out = tmp_path / "low.jsonl"
    where = "rating <= 2 AND product = 'X5 Pro'"
    result = run_qtui("cluster", str(SAMPLE), "--where", where, "--export", str(out), "--json")
    assert result.returncode == 0, result.stderr
    source = pl.read_ndjson(SAMPLE)
    matching = source.filter((pl.col("rating") <= 2) & (pl.col("product") == "X5 Pro"))
    exported = pl.read_ndjson(out)
    assert exported["id"].to_list() == matching["id"].to_list()
    summary = json.loads(result.stdout)
    assert summary["where"] == {"expression": where, "rows": len(matching)}
    assert sum(c["size"] for c in summary["clusters"]) == len(matching)
    whole = json.loads(run_qtui("cluster", str(SAMPLE), "--json").stdout)
    size_of = {c["id"]: c["size"] for c in whole["clusters"]}
    for cluster in summary["clusters"]:  # the same clusters as without --where, recounted
        assert 0 < cluster["size"] <= size_of[cluster["id"]]
        assert exported.filter(pl.col("cluster_id") == cluster["id"]).height == cluster["size"]
    text = run_qtui("cluster", str(SAMPLE), "--where", "text LIKE '%电池%'")
    assert text.returncode == 0 and "matching rows" in text.stdout


def test_cluster_where_errors_are_one_line_with_exit_code_2():
    result = run_qtui("cluster", str(SAMPLE), "--where", "ratin <= 2")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown column 'ratin'" in result.stderr and "did you mean 'rating'" in result.stderr
    none = run_qtui("cluster", str(SAMPLE), "--where", "rating > 5")
    assert none.returncode == 2 and "no row" in none.stderr
