"""Large-input paths that avoid whole-matrix copies give what the whole-matrix code gave.

The 1M-row memory figure (benchmarks/run.py, "peak RSS 1M") relies on these: vectors gathered from the
cache in their final order, ``auto`` reading its unit rows and projecting them a block at a time, the
neighbour search in pieces, the metrics computed without a float64 copy.  Exactly the same values,
except the projection by blocks, which can differ in the last bits of a float32 sum (and is the same
for the same blocks).  Real model, real texts; the reference is the straightforward computation.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine import auto_cluster as ac
from engine.cache import text_hashes
from engine.embedding import embed_texts, open_cache
from engine.metrics import calinski_davies, centroids, closeness, compute_metrics
from engine.unique_rows import unique_rows
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def sample_texts() -> list[str]:
    with open(SAMPLE, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


@pytest.fixture(scope="module")
def sample_vectors(embedder, sample_texts) -> np.ndarray:
    X = embedder.encode(sample_texts).astype(np.float32)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_warm_lookup_in_file_order_equals_the_cold_vectors(embedder, sample_texts, tmp_path):
    texts = sample_texts[:40] + sample_texts[:5] + sample_texts[10:12]  # repeats
    cold, s1 = embed_texts(texts, embedder, open_cache(embedder, tmp_path))
    warm, s2 = embed_texts(texts, embedder, open_cache(embedder, tmp_path))
    assert s2.embedded == 0 and s2.cached == s1.embedded and s2.duplicates == s1.duplicates
    assert warm.dtype == np.float16 and np.array_equal(cold, warm)
    # partly cached: the cached ones come back, the others are embedded; same vectors again
    more = texts + ["a text the cache has never seen", "and another one"]
    part, s3 = embed_texts(more, embedder, open_cache(embedder, tmp_path), hashes=text_hashes(more))
    assert s3.embedded == 2 and s3.cached == s1.embedded
    assert np.array_equal(part[: len(texts)], cold)


def test_unit_rows_and_duplicates_by_blocks_equal_the_whole_matrix(sample_vectors):
    X = np.vstack([sample_vectors, sample_vectors[:30] * 2.5, np.zeros((2, sample_vectors.shape[1]), np.float32)])
    X[3, 7] = np.nan
    rows = ac.UnitRows(X, block=17)
    whole = X.astype(np.float32, copy=True)
    whole[~np.isfinite(whole).all(axis=1)] = 0
    norms = np.linalg.norm(whole, axis=1)
    good = np.flatnonzero(np.isfinite(norms) & (norms > 0))
    expected = whole[good] / norms[good, None]
    assert np.array_equal(rows.rows, good)
    assert np.array_equal(rows[np.arange(len(rows))], expected)
    # duplicates: the rows scaled by 2.5 become the same unit rows (or differ in a last bit: both are exact)
    _, first, inv = np.unique(expected.view(np.dtype((np.void, 4 * expected.shape[1]))).ravel(),
                              return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    uniq, inverse = unique_rows(rows, block=23)
    assert np.array_equal(uniq, first[order]) and np.array_equal(inverse, rank[inv.ravel()])
    # projected by blocks: what one product of the whole centred matrix gives, up to the last bits of a
    # float32 sum (the BLAS kernel depends on a block's shape), and the same bits again for the same blocks
    by_blocks = ac._project(rows, rows[uniq], 16, block=19)
    F = expected[uniq].astype(np.float64)
    _, V = np.linalg.eigh((F - F.mean(axis=0)).T @ (F - F.mean(axis=0)))
    whole = (expected - F.mean(axis=0).astype(np.float32)) @ np.ascontiguousarray(V[:, ::-1][:, :16], dtype=np.float32)
    whole /= np.linalg.norm(whole, axis=1, keepdims=True)
    assert by_blocks.shape == (len(expected), 16) and np.allclose(by_blocks, whole, atol=1e-5)
    assert by_blocks.tobytes() == ac._project(rows, rows[uniq], 16, block=19).tobytes()


def test_auto_assigns_by_chunks_as_it_did_at_once(sample_vectors, monkeypatch):
    monkeypatch.setattr(ac, "FIT_SAMPLE", 120)
    monkeypatch.setattr(ac, "BLOCK", 16)
    X = np.vstack([sample_vectors, sample_vectors[::-1] * 0.5])
    monkeypatch.setattr(ac, "ASSIGN_CHUNK", 10**6)
    at_once = ac.auto_cluster(X, seed=1)
    monkeypatch.setattr(ac, "ASSIGN_CHUNK", 3)
    by_chunks = ac.auto_cluster(X, seed=1)
    assert np.array_equal(at_once.labels, by_chunks.labels)
    assert np.array_equal(at_once.confidence, by_chunks.confidence)


def test_metrics_without_copies_equal_scikit_learn(sample_vectors):
    from sklearn.cluster import KMeans
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    X = sample_vectors
    labels = KMeans(6, n_init=1, random_state=0).fit_predict(X).astype(np.int64)
    X64 = X.astype(np.float64)
    assert calinski_davies(X, labels) == (calinski_harabasz_score(X64, labels), davies_bouldin_score(X64, labels))
    by_blocks = calinski_davies(X, labels, block=16)  # clusters larger than a block: summed by blocks
    np.testing.assert_allclose(by_blocks, calinski_davies(X, labels), rtol=1e-9)
    noisy = labels.copy()
    noisy[::5] = -1
    m = compute_metrics(X, noisy, seed=0)
    assert (m.calinski_harabasz, m.davies_bouldin) == (calinski_harabasz_score(X64[noisy >= 0], noisy[noisy >= 0]),
                                                      davies_bouldin_score(X64[noisy >= 0], noisy[noisy >= 0]))
    from sklearn.metrics import silhouette_score

    sampled = compute_metrics(X, noisy, seed=3, sample=50)  # the sample drawn by index: the same rows as sklearn's
    assert sampled.silhouette == silhouette_score(X[noisy >= 0], noisy[noisy >= 0], metric="cosine",
                                                  random_state=3, sample_size=50)
    centres = centroids(X, noisy, 6)
    expected = np.full(len(X), np.nan, np.float32)
    mask = noisy >= 0
    expected[mask] = np.einsum("ij,ij->i", X[mask], centres[noisy[mask]])
    assert np.array_equal(closeness(X, noisy, centres, block=7), expected, equal_nan=True)


def test_knn_in_pieces_finds_what_one_product_finds(sample_vectors, monkeypatch):
    from engine import graph_cluster as gc

    X = sample_vectors
    S = X @ X.T
    np.fill_diagonal(S, -np.inf)  # a row never lists itself
    expected = np.argsort(-S, axis=1, kind="stable")[:, :5]
    for torch_or_numpy in (gc._torch, lambda: None):
        monkeypatch.setattr(gc, "_torch", torch_or_numpy)
        monkeypatch.setattr(gc, "MAX_SIM_BYTES", 4 * len(X) * 20)  # pieces of 16 rows inside blocks of 50
        idx, sim = gc.knn(X, 5, block=50)
        assert np.array_equal(idx, expected)
        assert np.allclose(sim, np.take_along_axis(S, expected, 1), atol=1e-6)
        q_idx, _ = gc.knn(X, 5, Q=X[:37], exclude_self=False, block=50)  # other queries: itself first
        assert np.array_equal(q_idx[:, 0], np.arange(37))


def test_map_offsets_by_blocks_equal_the_whole_residual_pca(sample_vectors, monkeypatch):
    from engine import projection

    X = sample_vectors
    labels = (np.arange(len(X)) % 4).astype(np.int64)
    labels[::9] = -1
    centres = centroids(X, labels, 4)
    anchor = labels.copy()
    anchor[labels < 0] = np.argmax(X[labels < 0] @ centres.T, axis=1)
    # the straightforward way: the whole residual matrix in float64, centred, its SVD on a sample
    R = (X - centres[anchor]).astype(np.float64)
    centred = R - R.mean(axis=0)
    pick = np.random.default_rng(0).choice(len(R), 50, replace=False)
    _, _, vt = np.linalg.svd(centred[pick], full_matrices=False)
    basis = vt[:2].T * np.sign(vt[:2].T[np.argmax(np.abs(vt[:2].T), axis=0), [0, 1]])
    monkeypatch.setattr(projection, "PCA_SAMPLE", 50)
    monkeypatch.setattr(projection, "BLOCK", 17)
    assert np.allclose(projection._residual_pca2(X, centres, anchor, 0), centred @ basis, atol=1e-9)
    small_blocks = projection.map_layout(X, labels, centres, seed=0)
    monkeypatch.setattr(projection, "BLOCK", 10**6)
    assert np.allclose(small_blocks, projection.map_layout(X, labels, centres, seed=0), atol=1e-6)
    assert small_blocks.shape == (len(X), 2) and small_blocks.min() >= 0 and small_blocks.max() <= 1
