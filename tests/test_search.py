"""Similarity search: exact float32, exact over float16 memory-mapped rows, and the cached approximate index."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from engine.search import SimilarityIndex


def clustered(n: int, dim: int = 64, centres: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(centres, dim))
    vectors = middle[rng.integers(centres, size=n)] + rng.normal(scale=0.3, size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def brute(vectors: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(vectors.astype(np.float32) @ query), kind="stable")[:k]


def test_exact_search_orders_by_cosine_and_excludes():
    vectors = clustered(2000)
    index = SimilarityIndex(vectors)
    positions, scores = index.search(vectors[7], 10)
    assert positions[0] == 7 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert np.all(np.diff(scores) <= 0)
    assert positions.tolist() == brute(vectors, vectors[7], 10).tolist()
    near, _ = index.neighbours(7, 5)
    assert 7 not in near.tolist() and near.tolist() == positions[1:6].tolist()
    assert len(index.search(vectors[0], 5000)[0]) == 2000
    assert len(SimilarityIndex(vectors[:0]).search(vectors[0], 3)[0]) == 0


def test_float16_memory_mapped_rows_scan_exactly(tmp_path, monkeypatch):
    import engine.search as search

    vectors = clustered(3000).astype(np.float16)
    np.save(tmp_path / "v.npy", vectors)
    mapped = np.load(tmp_path / "v.npy", mmap_mode="r")
    monkeypatch.setattr(search, "EXACT_MAX_ROWS", 1000)  # treat 3,000 rows as "large"
    monkeypatch.setattr(search, "SCAN_BLOCK", 700)  # several blocks
    index = SimilarityIndex(mapped, exact=True)
    assert index.vectors is mapped  # no float32 copy of a large matrix
    query = vectors[11].astype(np.float32)
    positions, _ = index.search(query, 20)
    assert positions.tolist() == brute(vectors, query, 20).tolist()


def test_approximate_index_finds_the_true_neighbours_and_is_cached(tmp_path):
    pytest.importorskip("faiss")
    vectors = clustered(20_000, seed=1).astype(np.float16)
    index = SimilarityIndex(vectors, cache_dir=tmp_path, exact=False, background=False)
    assert index._ann is not None and index.ready.is_set()
    rng = np.random.default_rng(2)
    recall = []
    for row in rng.choice(len(vectors), 30, replace=False):
        query = vectors[row].astype(np.float32)
        got, scores = index.search(query, 10)
        assert np.all(np.diff(scores) <= 0)
        recall.append(len(set(got.tolist()) & set(brute(vectors, query, 10).tolist())) / 10)
        near, _ = index.neighbours(int(row), 10)
        assert int(row) not in near.tolist() and len(near) == 10
    assert np.mean(recall) >= 0.9
    files = list((tmp_path / "ann").glob("*.faiss"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    again = SimilarityIndex(vectors, cache_dir=tmp_path, exact=False)  # read in the background
    assert again.ready.wait(60)
    assert files[0].stat().st_mtime_ns == stamp and again._ann.ntotal == len(vectors)
    assert again.search(vectors[5].astype(np.float32), 10)[0].tolist() == index.search(
        vectors[5].astype(np.float32), 10)[0].tolist()


def test_searches_before_the_background_index_is_ready_are_exact(tmp_path):
    pytest.importorskip("faiss")
    vectors = clustered(30_000, seed=3).astype(np.float16)
    index = SimilarityIndex(vectors, cache_dir=tmp_path, exact=False)
    query = vectors[9].astype(np.float32)
    got, _ = index.search(query, 10)  # exact scan or the index, whichever is in use now
    assert got[0] == 9
    assert index.ready.wait(120) and index._ann is not None
    assert index.search(query, 10)[0][0] == 9


def test_a_restricted_search_returns_the_best_allowed_rows(tmp_path):
    vectors = clustered(3000, seed=3)
    allowed = np.random.default_rng(4).random(3000) < 0.2
    query = vectors[5]
    expected = np.flatnonzero(allowed)[brute(vectors[allowed], query, 10)]
    got, scores = SimilarityIndex(vectors).search(query, 10, allowed=allowed)
    assert got.tolist() == expected.tolist() and np.all(np.diff(scores) <= 0)
    assert len(SimilarityIndex(vectors).search(query, 10, allowed=np.zeros(3000, dtype=bool))[0]) == 0
    if importlib.util.find_spec("faiss") is not None:
        index = SimilarityIndex(vectors.astype(np.float16), cache_dir=tmp_path, exact=False, background=False)
        got, _ = index.search(query, 10, allowed=allowed)
        assert allowed[got].all() and len(set(got.tolist()) & set(expected.tolist())) >= 8
        rare = np.zeros(3000, dtype=bool)
        rare[[17, 900, 2500]] = True  # too rare for the approximate index: scanned exactly
        assert sorted(index.search(query, 10, allowed=rare)[0].tolist()) == [17, 900, 2500]
