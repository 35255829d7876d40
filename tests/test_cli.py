"""The headless ``qtui`` command on the bundled sample and on bad input."""

from __future__ import annotations

import json

import polars as pl

from tests.cli import ROOT, run_qtui
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
    assert "--model auto chose " in result.stdout  # which model the sample got, and why
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


def test_a_model_written_as_a_path_that_is_no_directory_says_so():
    for given, shown in (("/no/such/dir", "/no/such/dir: no such directory"),
                         ("./no-such-model", f"./no-such-model: no such directory ({ROOT / 'no-such-model'})")):
        result = run_qtui("cluster", str(SAMPLE), "--model", given, "-q")
        assert result.returncode == 2, result.stderr
        assert result.stderr == f"qtui: error: --model {shown}\n"
    result = run_qtui("cluster", str(SAMPLE), "--model", str(SAMPLE), "-q")
    assert result.returncode == 2 and "is a file" in result.stderr and result.stderr.count("\n") == 1


def test_only_owner_slash_name_is_looked_up_as_a_hugging_face_name(tmp_path):
    import pytest

    from engine.errors import ModelError
    from engine.models import looks_like_path, resolve_model

    assert not looks_like_path("Qwen/Qwen3-Embedding-0.6B") and not looks_like_path("all-mpnet-base-v2")
    assert all(looks_like_path(p) for p in ("./m", "../m", "~/m", "/models/m", "models/en/m", "m/", "C:\\m"))
    for given in ("~/no-such-model-dir", str(tmp_path / "a" / "b")):
        with pytest.raises(ModelError, match="no such directory"):
            resolve_model(given)
    with pytest.raises(ModelError, match="not in the local model cache"):
        resolve_model("no-such-owner/no-such-model")


def test_counts_of_one_are_singular(tmp_path):
    one = tmp_path / "one.txt"
    one.write_text("my card was charged twice for one coffee\n", encoding="utf-8")
    result = run_qtui("cluster", str(one), "--export", str(tmp_path / "one.csv"))
    assert result.returncode == 0, result.stderr
    assert " 1 row " in result.stdout and "1 cluster (auto)" in result.stdout and "exported 1 row to" in result.stdout
    assert "1 rows" not in result.stdout and "1 clusters" not in result.stdout
    blank = tmp_path / "blank.jsonl"
    blank.write_text('{"text": "  "}\n', encoding="utf-8")
    result = run_qtui("cluster", str(blank))
    assert result.returncode == 2 and "the only text is empty" in result.stderr, result.stderr
    fields = tmp_path / "fields.jsonl"
    fields.write_text("{}\n", encoding="utf-8")
    result = run_qtui("cluster", str(fields))
    assert result.returncode == 2 and "the only record has no fields" in result.stderr, result.stderr


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


def test_cluster_proposes_a_label_per_cluster_from_a_labels_file(tmp_path):
    labels = tmp_path / "labels.txt"
    themes = {"battery": "the battery drains fast or charging is slow", "screen": "the display or screen",
              "delivery": "shipping and delivery of the parcel", "price": "the price is too high or a good deal",
              "audio": "sound, speakers and headphones"}
    labels.write_text("".join(f"{k}: {v}\n" for k, v in themes.items()), encoding="utf-8")
    out = tmp_path / "out.csv"
    result = run_qtui("cluster", str(SAMPLE), "--labels", str(labels), "--json", "--export", str(out))
    assert result.returncode == 0, result.stderr
    clusters = [c for c in json.loads(result.stdout)["clusters"] if c["id"] >= 0]
    assert all(c["proposed_label"] in themes and 0 < c["proposed_confidence"] <= 1 for c in clusters)
    assert len({c["proposed_label"] for c in clusters}) >= 3
    frame = pl.read_csv(out, infer_schema=False)
    at = frame.columns.index("proposed_label")
    assert frame.columns[at + 1: at + 3] == ["proposed_confidence", "score"]  # after the labels, before the score
    by_cluster = {c["id"]: c["proposed_label"] for c in clusters}
    ids, proposed = frame["cluster_id"].to_list(), frame["proposed_label"].to_list()
    assert all(p == by_cluster[int(i)] for i, p in zip(ids, proposed) if i not in (None, "-1"))
    table = run_qtui("cluster", str(SAMPLE), "--labels", str(labels))
    assert table.returncode == 0 and "proposed label" in table.stdout


def test_cluster_learns_labels_from_an_earlier_export(tmp_path):
    first = tmp_path / "first.csv"
    assert run_qtui("cluster", str(SAMPLE), "--export", str(first), "-q").returncode == 0
    result = run_qtui("cluster", str(SAMPLE), "--labels-from", str(first), "--json")
    assert result.returncode == 0, result.stderr
    clusters = [c for c in json.loads(result.stdout)["clusters"] if c["id"] >= 0]
    # the same file clustered the same way: most clusters get their own name back from the earlier export
    assert sum(c["proposed_label"] == c["name"] for c in clusters) >= 0.8 * len(clusters)


def test_bad_label_sources_are_one_line_errors_before_embedding(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("battery\nscreen\nprice:\n", encoding="utf-8")
    result = run_qtui("cluster", str(SAMPLE), "--labels", str(labels))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "labels.txt:3" in lines[0] and "price" in lines[0]
    result = run_qtui("cluster", str(SAMPLE), "--labels-from", str(SAMPLE))
    assert result.returncode == 2 and "no 'cluster_label' column" in result.stderr
    result = run_qtui("open", str(SAMPLE), "--labels", str(labels))  # refused before the app starts
    assert result.returncode == 2 and "labels.txt:3" in result.stderr
    both = run_qtui("cluster", str(SAMPLE), "--labels", str(labels), "--labels-from", str(SAMPLE))
    assert both.returncode == 2 and "not allowed with" in both.stderr
