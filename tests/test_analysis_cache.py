"""Explanations (keywords, scores, metrics) kept between runs: read back identical, recomputed on any change."""

from __future__ import annotations

import json

import numpy as np
import pytest

import engine.analysis_cache as analysis_cache
from engine.clustering import ClusterSettings
from engine.options import LoadOptions, SessionOptions
from engine.session import Session

ROWS = ([("the battery dies after an hour", "battery"), ("battery drains overnight", "battery"),
         ("delivery came two weeks late", "delivery"), ("the parcel arrived late again", "delivery"),
         ("screen is bright and sharp", "screen"), ("the display has dead pixels", "screen")] * 6
        + [("   ", "none")])


def write(path, rows):
    path.write_text("".join(json.dumps({"text": t, "label": g}) + "\n" for t, g in rows), encoding="utf-8")
    return path


def same(a, b) -> bool:
    return (np.array_equal(a.labels, b.labels) and np.array_equal(a.scores, b.scores, equal_nan=True)
            and np.array_equal(a.confidence, b.confidence) and np.array_equal(a.centres, b.centres)
            and a.centres.dtype == b.centres.dtype and a.clusters == b.clusters and a.metrics == b.metrics)


@pytest.fixture
def calls(monkeypatch):
    made = []
    real = analysis_cache.explain

    def counted(*args, **kwargs):
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis_cache, "explain", counted)
    return made


def test_explanations_are_kept_and_recomputed_when_anything_changes(embedder, tmp_path, calls):
    cache = tmp_path / "cache"
    path = write(tmp_path / "a.jsonl", ROWS)
    options = SessionOptions(load=LoadOptions(label_col="label"), cache_dir=cache)
    settings = ClusterSettings("kmeans", k=3)

    def analyse(file=path, opts=options, chosen=settings):
        return Session.open(file, opts, embedder=embedder).cluster(chosen)

    first = analyse()
    assert len(calls) == 1 and len(list((cache / "explanations").glob("*.npz"))) == 1
    again = analyse()
    assert len(calls) == 1 and same(first, again)  # read back, identical to the computed one
    assert again.metrics.ari is not None and again.clusters[-1].id == -2  # gold scores and the empty group too
    no_cache = Session.open(path, SessionOptions(load=LoadOptions(label_col="label"), use_cache=False),
                            embedder=embedder).cluster(settings)
    assert same(first, no_cache) and len(calls) == 2

    analyse(chosen=ClusterSettings("kmeans", k=4))  # another clustering
    assert len(calls) == 3
    analyse(opts=SessionOptions(cache_dir=cache))  # no gold labels
    assert len(calls) == 4
    changed = ROWS[:-1] + [("    ", "none")]  # only an empty text differs
    analyse(file=write(tmp_path / "b.jsonl", changed))
    assert len(calls) == 5
    analyse(file=write(tmp_path / "c.jsonl", [("the battery died", "battery")] + ROWS[1:]))
    assert len(calls) == 6

    entries = list((cache / "explanations").glob("*.npz"))
    assert len(entries) == 5
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:200])  # cut short, as by a crash or a full disk
    healed = analyse()
    assert len(calls) == 7 and same(first, healed)
    assert same(first, analyse()) and len(calls) == 7


def test_a_valid_entry_of_the_wrong_shape_is_not_trusted(embedder, tmp_path, calls):
    cache = tmp_path / "cache"
    path = write(tmp_path / "a.jsonl", ROWS)
    first = Session.open(path, SessionOptions(cache_dir=cache), embedder=embedder).cluster(ClusterSettings("kmeans", k=3))
    (entry,) = (cache / "explanations").glob("*.npz")
    with np.load(entry) as data:
        stored = dict(data)
    stored["scores"] = stored["scores"][:-1]
    with open(entry, "wb") as f:
        np.savez(f, **stored)
    again = Session.open(path, SessionOptions(cache_dir=cache), embedder=embedder).cluster(ClusterSettings("kmeans", k=3))
    assert len(calls) == 2 and same(first, again)
