"""Clustering with HDBSCAN and KMeans: determinism, numbering, noise, tiny inputs."""

from __future__ import annotations

import numpy as np
import pytest

from engine.clustering import NOISE, ClusterSettings, cluster, relabel_by_size
from engine.errors import UsageError


def blobs(n_per=60, centres=4, dim=16, spread=0.08, seed=1):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim))
    X = np.concatenate([c[i] + spread * rng.standard_normal((n_per, dim)) * np.linalg.norm(c[i]) for i in range(centres)])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    truth = np.repeat(np.arange(centres), n_per)
    return X.astype(np.float32), truth


@pytest.mark.parametrize("settings", [ClusterSettings("kmeans", k=4), ClusterSettings("hdbscan", min_cluster_size=10)])
def test_same_input_same_settings_same_labels(settings):
    X, truth = blobs()
    a, b = cluster(X, settings), cluster(X.copy(), settings)
    assert np.array_equal(a.labels, b.labels)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, a.labels) > 0.9


def test_labels_are_numbered_by_size():
    labels = relabel_by_size(np.array([5, 5, 2, 2, 2, -1, 7]))
    assert labels.tolist() == [1, 1, 0, 0, 0, NOISE, 2]


def test_hdbscan_marks_outliers_as_noise():
    X, _ = blobs(centres=3)
    rng = np.random.default_rng(3)
    outliers = rng.standard_normal((5, X.shape[1])).astype(np.float32)
    outliers /= np.linalg.norm(outliers, axis=1, keepdims=True)
    result = cluster(np.vstack([X, outliers]), ClusterSettings("hdbscan", min_cluster_size=15))
    assert result.n_clusters == 3
    assert (result.labels[-5:] == NOISE).sum() >= 3
    assert np.all(result.confidence[result.labels == NOISE] == 0)


@pytest.mark.parametrize("n", [0, 1, 2, 5])
@pytest.mark.parametrize("algo", ["kmeans", "hdbscan"])
def test_tiny_inputs(n, algo):
    X, _ = blobs(n_per=5, centres=1)
    result = cluster(X[:n], ClusterSettings(algo))
    assert result.labels.shape == (n,)


def test_bad_settings_are_usage_errors():
    with pytest.raises(UsageError):
        ClusterSettings("spectral")
    with pytest.raises(UsageError):
        ClusterSettings("kmeans", k=0)
