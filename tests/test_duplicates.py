"""Near-duplicate groups: crafted vectors, real texts, the bucketed search against the exact one, time at 100k."""

from __future__ import annotations

import time

import numpy as np
import pytest

import engine.duplicates as dup
from engine.duplicates import DuplicateFinder, near_duplicates


def unit(X):
    X = np.asarray(X, dtype=np.float32)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def crafted():
    """Rows 0-2 identical, 3-4 near (cos ~0.99), 5-6-7 a chain, 8-9 at cos ~0.9, 10-19 unrelated."""
    rng = np.random.default_rng(0)
    base = np.linalg.qr(rng.normal(size=(64, 64)))[0][:20]  # orthonormal: unrelated at cosine 0
    X = base.copy()
    X[1] = X[2] = X[0]
    X[4] = X[3] + 0.14 * X[10]
    X[6] = X[5] + 0.3 * X[11]
    X[7] = X[6] + 0.3 * X[12]
    X[9] = X[8] + 0.5 * X[13]
    return unit(X)


def test_crafted_groups_largest_first():
    X = crafted()
    sims = X @ X.T
    assert sims[5, 6] > 0.95 and sims[6, 7] > 0.95 and sims[5, 7] < 0.95 < sims[3, 4] and sims[8, 9] < 0.95
    groups = near_duplicates(X, 0.95)
    assert [g.tolist() for g in groups.groups] == [[0, 1, 2], [5, 6, 7], [3, 4]]
    assert groups.rows == 8 and "3 groups" in groups.describe()
    loose = near_duplicates(X, 0.85)
    assert [8, 9] in [g.tolist() for g in loose.groups]
    strict = near_duplicates(X, 0.999)
    assert [g.tolist() for g in strict.groups] == [[0, 1, 2]]


def test_corpus_rows_and_threshold_changes_reuse_the_search():
    X = crafted()
    rows = np.arange(100, 120)
    finder = DuplicateFinder(X, rows)
    first = finder.groups(0.9)
    assert first.groups[0].tolist() == [100, 101, 102]
    calls = []
    original = dup.similar_pairs
    dup.similar_pairs = lambda *a, **k: calls.append(1) or original(*a, **k)
    try:
        higher = finder.groups(0.97)
        assert not calls, "a higher threshold filters the pairs already found"
        finder.groups(0.8)
        assert calls, "a lower threshold searches again"
    finally:
        dup.similar_pairs = original
    assert len(higher) <= len(first)


def test_nothing_to_find():
    assert len(near_duplicates(np.empty((0, 8)), 0.9)) == 0
    assert len(near_duplicates(unit(np.eye(5)), 0.9)) == 0


def test_real_texts(embedder):
    texts = ["The battery lasts two days", "The battery lasts 2 days", "the battery lasts two days",
             "Delivery was late by a week", "My parcel came a week late", "Great screen, vivid colours",
             "I want a refund for this phone"]
    X = embedder.encode(texts)
    groups = near_duplicates(X, 0.95)
    assert [0, 1, 2] in [g.tolist() for g in groups.groups]
    assert all(5 not in g and 6 not in g for g in groups.groups)


def test_bucketed_search_finds_what_the_exact_one_finds(record):
    rng = np.random.default_rng(1)
    n, dim = dup.EXACT_ROWS + 4000, 128
    centres = rng.normal(size=(40, dim))
    X = centres[rng.integers(0, 40, n)] + rng.normal(0, 0.7, (n, dim))
    src, dst = rng.integers(0, n, 300), rng.integers(0, n, 300)
    X[dst] = X[src] + rng.normal(0, 0.04, (300, dim))  # planted near-duplicates
    X = unit(X)
    exact = dup._pairs_within(X, np.arange(n), 0.95)
    t = time.perf_counter()
    found = dup.similar_pairs(X, 0.95)
    seconds = time.perf_counter() - t
    want = set(zip(exact[0].tolist(), exact[1].tolist()))
    got = set(zip(found[0].tolist(), found[1].tolist()))
    assert got <= want, "every reported pair is a real one"
    recall = len(got & want) / len(want)
    record(f"near-duplicates, bucketed vs exact at {n:,} rows x {dim}: recall {recall:.4f} of {len(want)} pairs, "
           f"{seconds:.2f} s")
    assert recall >= 0.97


@pytest.mark.parametrize("n", [500, dup.EXACT_ROWS + 3000])
def test_pairs_among_positions_are_the_pairs_of_the_gathered_rows(n):
    """Searching the rows at ``positions`` in place finds what searching a gathered copy of them finds."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 96))
    src, dst = rng.integers(0, n, n // 20), rng.integers(0, n, n // 20)
    X[dst] = X[src] + rng.normal(0, 0.05, (len(src), 96))
    X = unit(X)
    positions = np.sort(rng.choice(n, n * 2 // 3, replace=False))
    i, j, s = dup.similar_pairs(X, 0.95, positions=positions)
    gi, gj, gs = dup.similar_pairs(X[positions], 0.95)
    assert len(gi) >= 5, "some planted pairs fall among the positions"
    assert sorted(zip(i.tolist(), j.tolist())) == sorted(zip(positions[gi].tolist(), positions[gj].tolist()))
    assert np.allclose(np.sort(s), np.sort(gs), atol=1e-6)


def test_projection_by_blocks_is_the_projection_of_the_whole():
    rng = np.random.default_rng(4)
    X = unit(rng.normal(size=(3000, 96)))
    pos = np.sort(rng.choice(3000, 2000, replace=False))
    whole = dup._project(X, pos, seed=0, block=len(pos))
    assert np.allclose(dup._project(X, pos, seed=0, block=333), whole, atol=1e-6)
    assert np.allclose(np.linalg.norm(whole, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_time_at_100k_rows(record):
    rng = np.random.default_rng(2)
    n, dim = 100_000, 384
    centres = rng.normal(size=(300, dim))
    X = centres[rng.integers(0, 300, n)] + rng.normal(0, 1.0, (n, dim))
    src, dst = rng.integers(0, n, 2000), rng.integers(0, n, 2000)
    X[dst] = X[src] + rng.normal(0, 0.05, (2000, dim))
    X = unit(X)
    finder = DuplicateFinder(X)
    t = time.perf_counter()
    groups = finder.groups(0.95)
    seconds = time.perf_counter() - t
    t = time.perf_counter()
    finder.groups(0.97)
    again = time.perf_counter() - t
    record(f"near-duplicates at 100,000 rows x 384: {groups.describe()} in {seconds:.1f} s; "
           f"moving the threshold up: {again * 1e3:.0f} ms")
    assert len(groups) >= 1500
