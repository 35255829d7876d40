"""Loader tests: every format, column detection, malformed and odd input, encodings."""

from __future__ import annotations

import gzip
import json

import numpy as np
import polars as pl
import pytest

from engine.errors import InputError
from engine.loading import LoadOptions, load

ROWS = [
    {"id": "a1", "text": "Battery drains too fast", "stars": 2},
    {"id": "a2", "text": "屏幕很清晰，颜色也好看", "stars": 5},
    {"id": "a3", "text": 'Said "fine", then broke, sadly', "stars": 1},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_jsonl_keeps_ids_texts_and_other_columns(tmp_path):
    corpus = load(write_jsonl(tmp_path / "c.jsonl", ROWS))
    assert corpus.text_col == "text" and corpus.id_col == "id"
    assert corpus.ids == ["a1", "a2", "a3"]
    assert corpus.texts == [r["text"] for r in ROWS]
    assert corpus.extra_columns == ["stars"]
    assert corpus.frame.get_column("stars").to_list() == [2, 5, 1]
    assert corpus.lines.tolist() == [1, 2, 3]


@pytest.mark.parametrize("name,delimiter", [("c.csv", ","), ("c.tsv", "\t"), ("semi.csv", ";")])
def test_delimited_files(tmp_path, name, delimiter):
    path = tmp_path / name
    frame = pl.DataFrame({"id": [r["id"] for r in ROWS], "review": [r["text"] for r in ROWS],
                          "stars": [str(r["stars"]) for r in ROWS]})
    frame.write_csv(path, separator=delimiter)
    corpus = load(path)
    assert corpus.text_col == "review"
    assert corpus.texts == [r["text"] for r in ROWS]
    assert corpus.ids == ["a1", "a2", "a3"]


def test_csv_quoted_newlines_commas_and_crlf(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes(b'id,text\r\n1,"line one\r\nline two, with comma"\r\n2,"say ""hi"""\r\n3,plain\r\n')
    corpus = load(path)
    assert corpus.texts == ["line one\r\nline two, with comma", 'say "hi"', "plain"]
    assert corpus.lines.tolist() == [2, 4, 5]


def test_txt_one_text_per_line_ids_are_line_numbers(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("first text\n\nsecond 文本\r\nthird\n", encoding="utf-8")
    corpus = load(path)
    assert corpus.texts == ["first text", "second 文本", "third"]
    assert corpus.ids == ["1", "3", "4"]
    assert any("blank" in n for n in corpus.notices)


def test_parquet_and_gzip(tmp_path):
    frame = pl.DataFrame({"content": [r["text"] for r in ROWS], "n": [1, 2, 3]})
    frame.write_parquet(tmp_path / "p.parquet")
    corpus = load(tmp_path / "p.parquet")
    assert corpus.text_col == "content" and corpus.texts == frame["content"].to_list()
    assert corpus.ids == ["1", "2", "3"]
    raw = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS).encode()
    (tmp_path / "g.jsonl.gz").write_bytes(gzip.compress(raw))
    assert load(tmp_path / "g.jsonl.gz").texts == [r["text"] for r in ROWS]


def test_json_array(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(ROWS, ensure_ascii=False), encoding="utf-8")
    assert load(path).texts == [r["text"] for r in ROWS]


def test_text_column_falls_back_to_longest_string_column(tmp_path):
    rows = [{"code": "x1", "remark": "a fairly long piece of feedback text", "tag": "b"},
            {"code": "x2", "remark": "another long remark about the screen", "tag": "c"}]
    corpus = load(write_jsonl(tmp_path / "r.jsonl", rows))
    assert corpus.text_col == "remark"
    assert corpus.id_col is None and corpus.ids == ["1", "2"]


def test_malformed_jsonl_lines_are_reported_and_skipped(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "good one"}\n{"text": broken\n[1, 2]\n{"text": ["a", "list"]}\n{"text": 42}\n'
                    '{"text": null}\n{"text": "good two"}\n', encoding="utf-8")
    corpus = load(path)
    assert corpus.texts == ["good one", "42", "", "good two"]
    assert [s.line for s in corpus.skipped] == [2, 3, 4]
    reasons = [s.reason for s in corpus.skipped]
    assert "not valid JSON" in reasons[0] and "got a list" in reasons[1] and "got a list" in reasons[2]
    assert corpus.empty.tolist() == [False, False, True, False]
    with pytest.raises(InputError) as err:
        load(path, LoadOptions(strict=True))
    assert "bad.jsonl:2" in str(err.value) and "\n" not in str(err.value)


def test_csv_rows_with_wrong_field_count_are_skipped(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("id,text\n1,ok\n2,too,many\n3,fine\n", encoding="utf-8")
    corpus = load(path)
    assert corpus.texts == ["ok", "fine"]
    assert corpus.skipped[0].line == 3 and "3 fields" in corpus.skipped[0].reason


def test_misspelled_text_column_suggests_close_names(tmp_path):
    with pytest.raises(InputError) as err:
        load(write_jsonl(tmp_path / "c.jsonl", ROWS), LoadOptions(text_col="txt"))
    message = str(err.value)
    assert "c.jsonl" in message and "'text'" in message and "did you mean" in message


def test_label_column_and_gold(tmp_path):
    rows = [dict(r, label=f"L{i % 2}") for i, r in enumerate(ROWS)]
    corpus = load(write_jsonl(tmp_path / "l.jsonl", rows), LoadOptions(label_col="label"))
    assert corpus.gold == ["L0", "L1", "L0"]
    with pytest.raises(InputError):
        load(write_jsonl(tmp_path / "l.jsonl", rows), LoadOptions(label_col="gold"))


def test_gb18030_is_detected_and_invalid_utf8_names_encoding(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("id,text\n1,电池续航太差了\n2,物流很快，包装完好\n".encode("gb18030"))
    corpus = load(path)
    assert corpus.texts == ["电池续航太差了", "物流很快，包装完好"] and corpus.encoding == "gb18030"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,text\n1,ok\n2,caf\xe9 cr\xe8me\n".encode("latin-1"))
    with pytest.raises(InputError) as err:
        load(latin)
    assert "latin.csv:3" in str(err.value) and "--encoding" in str(err.value)
    assert load(latin, LoadOptions(encoding="latin-1")).texts[1] == "café crème"


def test_bom_and_missing_or_directory_paths(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfid,text\n1,hello\n")
    corpus = load(path)
    assert corpus.id_col == "id" and corpus.texts == ["hello"]
    with pytest.raises(InputError, match="no such file"):
        load(tmp_path / "missing.jsonl")
    with pytest.raises(InputError, match="directory"):
        load(tmp_path)


def test_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="no records"):
        load(path)


def test_shared_sets_load(tmp_path):
    from tests.conftest import shared_set

    corpus = load(shared_set("toutiao"), LoadOptions(label_col="label"))
    assert len(corpus) == 20_000 and not corpus.skipped
    assert len(set(corpus.gold)) == 15
    assert np.all(corpus.lines == np.arange(1, 20_001))
