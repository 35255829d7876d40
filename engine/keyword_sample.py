"""A first view's keywords from a sample of every cluster: term counts of the sampled rows, scaled to stand for their cluster.

Counting terms is the slow part of explaining a new file (tokenizing every text,
Chinese word segmentation included).  A quick clustering (``ClusterSettings.quick``)
counts them on at most about :data:`BUDGET` rows instead: every cluster (and the
noise group) gets a share of the budget in proportion to its size, at least
:data:`MIN_PER_CLUSTER` rows (all of a smaller cluster), drawn with the clustering's
seed.  Each sampled row's counts are multiplied by its cluster's size over its
sample size, so the class-based TF-IDF of :mod:`engine.keywords` sees estimates of
the whole clusters' counts.  The matrix has a row per corpus row (zero for rows
not sampled), so :func:`engine.analysis.explain` takes it as it takes the full one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

#: Rows whose terms are counted, about (every cluster gets at least :data:`MIN_PER_CLUSTER`).
BUDGET = 10_000
#: Rows counted of every cluster at least (all of a smaller one).
MIN_PER_CLUSTER = 40


def sample_rows(labels: np.ndarray, budget: int = BUDGET, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``labels`` to count terms on (ascending) and the weight of each (its group's size over
    its sample size); every label, noise included, is a group."""
    labels = np.asarray(labels)
    n = len(labels)
    if n <= budget:
        return np.arange(n), np.ones(n, np.float32)
    rng = np.random.default_rng(seed)
    ids, inverse, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    picked, weights = [], []
    for g, size in enumerate(sizes.tolist()):
        take = min(size, max(MIN_PER_CLUSTER, round(budget * size / n)))
        members = order[starts[g]: starts[g] + size]
        chosen = members if take == size else rng.choice(members, take, replace=False)
        picked.append(chosen)
        weights.append(np.full(take, size / take, np.float32))
    positions = np.concatenate(picked)
    weight = np.concatenate(weights)
    keep = np.argsort(positions, kind="stable")
    return positions[keep], weight[keep]


def sampled_terms(texts: Sequence[str], picked: np.ndarray, weights: np.ndarray) -> tuple["sp.csr_matrix", np.ndarray]:
    """Term counts of the corpus rows ``picked`` times their ``weights`` (from :func:`sample_rows`), as a
    len(texts) × V matrix that is zero but for those rows, and the vocabulary (``texts``: every corpus text)."""
    import scipy.sparse as sp

    from engine.keywords import document_terms

    picked = np.asarray(picked, dtype=np.int64)
    counts, vocabulary = document_terms([texts[i] for i in picked.tolist()])
    weighted = (sp.diags(np.asarray(weights, np.float32)) @ counts).astype(np.float32)
    # scatter the sampled rows to their corpus rows (a permutation product keeps it sparse)
    scatter = sp.csr_matrix((np.ones(len(picked), np.float32), (picked, np.arange(len(picked)))),
                            shape=(len(texts), len(picked)))
    return (scatter @ weighted).tocsr(), vocabulary
