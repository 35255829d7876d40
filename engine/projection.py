"""A 2-D picture of the clusters for the terminal map.

Cluster centres are laid out by metric MDS on their cosine distances (t-SNE
above 300 clusters, PCA below 4), so similar clusters sit near each other; each member is drawn
around its centre along the two main directions of its own residual
(member minus centre), at a radius that grows with the cluster's spread and
size.  Noise rows sit around their nearest centre, farther out.  The
picture is for orientation: distances between clusters are meaningful,
positions inside a cluster only roughly.
"""

from __future__ import annotations

import warnings

import numpy as np

from engine.progress import CancelToken, check


def map_layout(vectors: np.ndarray, labels: np.ndarray, centres: np.ndarray, seed: int = 0,
               cancel: CancelToken | None = None) -> np.ndarray:
    """(n, 2) float32 positions in [0, 1]² for the rows of ``vectors`` (labels -1 = noise)."""
    n = len(vectors)
    out = np.zeros((n, 2), dtype=np.float32)
    if n == 0:
        return out
    k = len(centres)
    if k == 0:
        return _normalise(_pca2(vectors, seed))
    anchor = np.asarray(labels, dtype=np.int64).copy()
    noise = anchor < 0
    if noise.any():
        anchor[noise] = np.argmax(vectors[noise] @ centres.T, axis=1)
    check(cancel)
    centre_xy = _layout_centres(centres, seed)
    residual = vectors - centres[anchor]
    offsets = _pca2(residual, seed)
    scale = np.percentile(np.linalg.norm(offsets, axis=1), 95) or 1.0
    offsets /= scale
    counts = np.bincount(anchor, minlength=k).astype(np.float32)
    spacing = _nearest_spacing(centre_xy)
    typical = float(np.median(counts[counts > 0])) if (counts > 0).any() else 1.0
    radius = spacing * 0.55 * np.clip(np.sqrt(counts / max(typical, 1.0)), 0.5, 1.6)
    r = radius[anchor][:, None] * np.where(noise, 1.6, 1.0)[:, None]
    out = centre_xy[anchor] + offsets * r
    return _normalise(out).astype(np.float32)


def _layout_centres(centres: np.ndarray, seed: int) -> np.ndarray:
    k = len(centres)
    if k == 1:
        return np.zeros((1, 2), dtype=np.float64)
    if k < 4:
        xy = _pca2(centres, seed)
        return xy if np.ptp(xy) > 0 else np.column_stack([np.arange(k), np.zeros(k)]).astype(np.float64)
    if k <= 300:
        from sklearn.manifold import MDS

        distances = np.clip(1.0 - centres.astype(np.float64) @ centres.T.astype(np.float64), 0.0, 2.0)
        np.fill_diagonal(distances, 0.0)
        mds = MDS(n_components=2, dissimilarity="precomputed", random_state=seed, n_init=1, max_iter=300,
                  normalized_stress="auto")
        with warnings.catch_warnings():  # scikit-learn 1.8 announces new defaults on stderr, over the app
            warnings.simplefilter("ignore", FutureWarning)
            return mds.fit_transform((distances + distances.T) / 2)
    from sklearn.manifold import TSNE

    perplexity = float(max(2.0, min(30.0, (k - 1) / 3)))
    tsne = TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca", random_state=seed,
                max_iter=500)
    return tsne.fit_transform(centres.astype(np.float64))


def _pca2(X: np.ndarray, seed: int) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if len(X) < 2 or X.shape[1] < 2:
        return np.zeros((len(X), 2))
    centred = X - X.mean(axis=0)
    sample = centred if len(centred) <= 20_000 else centred[np.random.default_rng(seed).choice(len(centred), 20_000,
                                                                                                    replace=False)]
    _, _, vt = np.linalg.svd(sample, full_matrices=False)
    basis = vt[:2].T
    for j in range(basis.shape[1]):  # fix the sign so the picture does not flip between runs
        if basis[np.argmax(np.abs(basis[:, j])), j] < 0:
            basis[:, j] = -basis[:, j]
    return centred @ basis


def _nearest_spacing(xy: np.ndarray) -> float:
    if len(xy) < 2:
        return 1.0
    d = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2) if len(xy) <= 2000 else None
    if d is None:
        return float(np.ptp(xy, axis=0).max() / np.sqrt(len(xy)))
    np.fill_diagonal(d, np.inf)
    return float(np.median(d.min(axis=1))) or 1.0


def _normalise(xy: np.ndarray) -> np.ndarray:
    """Scale into [0, 1]² with one factor for both axes (shapes keep their proportions), centred."""
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = float((hi - lo).max()) or 1.0
    return (xy - (lo + hi) / 2) / span + 0.5
