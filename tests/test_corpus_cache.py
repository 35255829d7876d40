"""The corpus cache: a reopened file gives the very corpus a fresh parse gives, without parsing it."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

import engine.corpus_cache as corpus_cache
from engine.cache import text_hashes
from engine.corpus_cache import cached_load, cached_notes
from engine.loading import LoadOptions, load

LINES = [
    '{"id": "a1", "text": "Battery drains too fast", "stars": 2, "tags": ["x"]}',
    '{"id": "a2", "text": "屏幕很清晰，颜色也好看", "stars": 5.5, "tags": {"k": 1}}',
    'not json at all',
    '{"id": "a1", "text": 42, "stars": null, "tags": null}',
    '{"id": "a4", "text": "", "stars": "three"}',
    '{"id": "a5", "text": ["a list"], "stars": 1}',
    '{"id": "a6", "text": "退款什么时候到账 refund", "stars": 4}',
]


def _same(a, b) -> None:
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "frame":
            assert x.schema == y.schema and x.equals(y, null_equal=True), f.name
        elif isinstance(x, np.ndarray):
            assert np.array_equal(x, y), f.name
        elif f.name != "text_hashes":
            assert x == y, f.name


@pytest.fixture
def parses(monkeypatch):
    """Counts the parses :func:`cached_load` makes."""
    calls = []
    real = corpus_cache.load

    def counted(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(corpus_cache, "load", counted)
    return calls


def test_a_reopen_reads_back_the_corpus_a_parse_gives(tmp_path, parses):
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    fresh = load(path)
    assert fresh.skipped and fresh.notices  # a bad line and a repeated id: both must survive the cache
    first = cached_load(path, None, tmp_path / "cache")
    second = cached_load(path, None, tmp_path / "cache")
    assert len(parses) == 1
    _same(fresh, first)
    _same(fresh, second)
    assert np.array_equal(second.text_hashes, text_hashes(fresh.texts))


def test_gbk_csv_and_moved_file(tmp_path, parses):
    path = tmp_path / "gbk.csv"
    path.write_bytes("id,review\n1,电池不耐用\n2,物流很快\n".encode("gbk"))
    first = cached_load(path, None, tmp_path / "cache")
    moved = tmp_path / "elsewhere.csv"
    path.rename(moved)
    second = cached_load(moved, None, tmp_path / "cache")
    assert len(parses) == 1 and second.path == moved  # same bytes: read back, under the new name
    _same(load(moved), second)
    assert first.encoding == second.encoding != "utf-8"


def test_changed_bytes_options_or_a_damaged_entry_parse_again(tmp_path, parses):
    root = tmp_path / "cache"
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    cached_load(path, None, root)
    cached_load(path, LoadOptions(id_col="stars"), root)  # other options: another entry
    assert len(parses) == 2
    path.write_text("\n".join(LINES[:2]) + "\n", encoding="utf-8")
    assert cached_load(path, None, root).texts == ["Battery drains too fast", "屏幕很清晰，颜色也好看"]
    assert len(parses) == 3
    for entry in (root / "corpora").glob("*.npz"):
        entry.write_bytes(entry.read_bytes()[:100])  # truncated: parsed again, never trusted
    again = cached_load(path, None, root)
    assert len(parses) == 4 and again.texts == ["Battery drains too fast", "屏幕很清晰，颜色也好看"]
    cached_load(path, None, None)  # no cache root: parsed, nothing kept
    assert len(parses) == 5


def test_bad_input_is_reported_the_same_way(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("not json\nnor this\n", encoding="utf-8")
    with pytest.raises(Exception) as fresh:
        load(path)
    with pytest.raises(type(fresh.value)) as cached:
        cached_load(path, None, tmp_path / "cache")
    assert str(cached.value) == str(fresh.value)


def test_notes_are_kept_per_texts_and_model(tmp_path):
    hashes = text_hashes(["a", "b", "c"])
    calls = []

    def compute():
        calls.append(1)
        return np.array([False, True, False]), "a warning"

    first = cached_notes(hashes, {"name": "m"}, compute, tmp_path)
    second = cached_notes(hashes, {"name": "m"}, compute, tmp_path)
    assert len(calls) == 1 and second[1] == "a warning" and second[0].tolist() == [False, True, False]
    assert first[0].tolist() == second[0].tolist()
    cached_notes(hashes, {"name": "other"}, compute, tmp_path)  # another model: computed again
    cached_notes(hashes[:2], {"name": "m"}, lambda: (np.zeros(2, bool), None), tmp_path)
    assert len(calls) == 2
    truncated, warning = cached_notes(hashes[:2], {"name": "m"}, compute, tmp_path)  # read back, not computed
    assert len(calls) == 2 and warning is None and truncated.tolist() == [False, False]
