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


#: Rows per block of member residuals (the whole residual matrix, its float64 copy and a centred copy
#: would be several times the size of the vectors).
BLOCK = 16_384
#: Residuals whose principal directions give the members' two offset axes.
PCA_SAMPLE = 20_000


def map_layout(vectors: np.ndarray, labels: np.ndarray, centres: np.ndarray, seed: int = 0,
               cancel: CancelToken | None = None) -> np.ndarray:
    """(n, 2) float32 positions in [0, 1]² for the rows of ``vectors`` (labels -1 = noise)."""
    n = len(vectors)
    out = np.zeros((n, 2), dtype=np.float32)
    if n == 0:
        return out
    k = len(centres)
    if k == 0:
        return _normalise(_residual_pca2(vectors, None, None, seed, cancel))
    anchor = np.asarray(labels, dtype=np.int64).copy()
    noise = anchor < 0
    rows = np.flatnonzero(noise)
    for lo in range(0, len(rows), BLOCK):
        part = rows[lo: lo + BLOCK]
        anchor[part] = np.argmax(np.asarray(vectors[part], dtype=np.float32) @ centres.T, axis=1)
    check(cancel)
    centre_xy = _layout_centres(centres, seed)
    offsets = _residual_pca2(vectors, centres, anchor, seed, cancel)
    scale = np.percentile(np.linalg.norm(offsets, axis=1), 95) or 1.0
    offsets /= scale
    counts = np.bincount(anchor, minlength=k).astype(np.float32)
    spacing = _nearest_spacing(centre_xy)
    typical = float(np.median(counts[counts > 0])) if (counts > 0).any() else 1.0
    radius = spacing * 0.55 * np.clip(np.sqrt(counts / max(typical, 1.0)), 0.5, 1.6)
    r = radius[anchor][:, None] * np.where(noise, 1.6, 1.0)[:, None]
    out = centre_xy[anchor] + offsets * r
    return _normalise(out).astype(np.float32)


def layout_rows(analysis, cancel: CancelToken | None = None) -> np.ndarray:
    """Map positions of every corpus row (NaN for rows not clustered, such as empty texts) for
    ``analysis``'s clustering."""
    xy = map_layout(analysis.vectors, analysis.clustering.labels, analysis.centres,
                    seed=analysis.clustering.settings.seed, cancel=cancel)
    full = np.full((len(analysis.labels), 2), np.nan, dtype=np.float32)
    full[analysis.rows] = xy
    return full


def _layout_centres(centres: np.ndarray, seed: int) -> np.ndarray:
    k = len(centres)
    if k == 1:
        return np.zeros((1, 2), dtype=np.float64)
    if k < 4:
        xy = _residual_pca2(centres, None, None, seed)
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


def _residual_pca2(vectors: np.ndarray, centres: np.ndarray | None, anchor: np.ndarray | None, seed: int,
                   cancel: CancelToken | None = None) -> np.ndarray:
    """The residuals ``vectors - centres[anchor]`` (the vectors themselves when ``centres`` is None) along their
    two main directions (PCA on up to :data:`PCA_SAMPLE` of them), made a block of rows at a time: float64 (n, 2)."""
    n, d = vectors.shape

    def residual(index) -> np.ndarray:
        part = np.asarray(vectors[index], dtype=np.float32)
        if centres is not None:
            part = part - centres[anchor[index]]
        return part.astype(np.float64)

    if n < 2 or d < 2:
        return np.zeros((n, 2))
    blocks = [slice(lo, min(lo + BLOCK, n)) for lo in range(0, n, BLOCK)]
    mean = np.zeros(d)
    for block in blocks:
        mean += residual(block).sum(axis=0)
    mean /= n
    check(cancel)
    sample = np.arange(n) if n <= PCA_SAMPLE else np.random.default_rng(seed).choice(n, PCA_SAMPLE, replace=False)
    _, _, vt = np.linalg.svd(residual(sample) - mean, full_matrices=False)
    basis = _fix_signs(vt[:2].T)
    offsets = np.empty((n, 2))
    for block in blocks:
        offsets[block] = (residual(block) - mean) @ basis
    return offsets


def _fix_signs(basis: np.ndarray) -> np.ndarray:
    """Flip each column so its largest entry is positive: the picture does not flip between runs."""
    for j in range(basis.shape[1]):
        if basis[np.argmax(np.abs(basis[:, j])), j] < 0:
            basis[:, j] = -basis[:, j]
    return basis


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
