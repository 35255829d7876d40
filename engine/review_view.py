"""The clusters as reviewed now: sizes, centres, each row's score, keywords and suggested names.

Merges, splits and moves change clusters, so what the base
:class:`~engine.analysis.Analysis` says about them goes stale; :func:`review_view`
recomputes it from the current labels (about a second at 100k rows: centres are
one sparse product, keywords one c-TF-IDF).  :func:`restore_analysis` rebuilds
the base Analysis of a saved review from its stored labels, without clustering.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.analysis import EMPTY, EMPTY_NAME, NOISE_NAME, Analysis, explain
from engine.clustering import NOISE, Clustering
from engine.keywords import cluster_keywords, suggest_name


@dataclass
class ReviewView:
    """Current clusters of a review (ids ascending) and per-row scores against their current centre."""

    ids: np.ndarray
    sizes: np.ndarray
    centres: np.ndarray  # (len(ids), dim) unit vectors
    scores: np.ndarray  # per corpus row: cosine to its current cluster's centre; NaN for noise/empty
    keywords: dict[int, list[tuple[str, float]]] = field(default_factory=dict)
    suggested: dict[int, str] = field(default_factory=dict)

    def label(self, state, cluster_id: int) -> str:
        """The person's name, else the suggested one from keywords, else 'cluster N' (noise/empty by name)."""
        if cluster_id == NOISE:
            return NOISE_NAME
        if cluster_id == EMPTY:
            return EMPTY_NAME
        return state.name(cluster_id) or self.suggested.get(cluster_id) or f"cluster {cluster_id}"

    def centre(self, cluster_id: int) -> np.ndarray | None:
        """The centre of ``cluster_id``, or None when it has no rows."""
        i = np.searchsorted(self.ids, cluster_id)
        return self.centres[i] if i < len(self.ids) and self.ids[i] == cluster_id else None


def review_view(state, rows: np.ndarray, vectors: np.ndarray, doc_terms=None, vocabulary=None) -> ReviewView:
    """Recompute centres, scores and (given ``doc_terms``/``vocabulary``) keywords for ``state``'s labels.

    ``rows``/``vectors`` are the embedded corpus rows and their unit vectors
    (``Session.rows``, ``Session.vectors``); ``doc_terms`` the term counts of
    every corpus row (``Session.document_terms()``).  While ``state`` still has the labels of its
    analysis, :func:`base_view` gives the same without computing anything.
    """
    import scipy.sparse as sp

    rows = np.asarray(rows, dtype=np.int64)
    labels = state.labels[rows]
    ids, inverse, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    member = sp.csr_matrix((np.ones(len(rows), np.float32), (inverse, np.arange(len(rows)))),
                           shape=(len(ids), len(rows)))
    sums = np.asarray(member @ np.asarray(vectors, dtype=np.float32), dtype=np.float64)
    centres = (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    row_scores = np.einsum("ij,ij->i", np.asarray(vectors, dtype=np.float32), centres[inverse])
    scores = np.full(len(state), np.nan, dtype=np.float32)
    clustered = labels >= 0
    scores[rows[clustered]] = row_scores[clustered]
    real = ids >= 0
    view = ReviewView(ids[real], sizes[real], centres[real], scores)
    if doc_terms is not None and vocabulary is not None:
        view.keywords = cluster_keywords(doc_terms[rows], vocabulary, labels)
        view.suggested = {c: suggest_name(view.keywords.get(c, [])) for c in view.ids.tolist()}
    return view


def base_view(analysis: Analysis, keywords: bool = True) -> ReviewView:
    """The view of a review whose labels are still those of ``analysis`` (names and statuses may have
    changed): the clusters, centres, scores and keywords of the analysis itself, so opening a new
    review neither recomputes them nor reads the term counts."""
    present = [c for c in analysis.clusters if c.id >= 0 and c.size > 0]
    ids = np.asarray([c.id for c in present], dtype=np.int64)
    view = ReviewView(ids, np.asarray([c.size for c in present], dtype=np.int64),
                      np.asarray(analysis.centres, dtype=np.float32)[ids].reshape(len(ids), -1), analysis.scores)
    if keywords:
        view.keywords = {c.id: c.keywords for c in analysis.clusters if c.keywords}
        view.suggested = {c.id: suggest_name(c.keywords) for c in present}
    return view


def restore_analysis(session, base_labels: np.ndarray, base_confidence: np.ndarray, settings,
                     tree=None) -> Analysis:
    """The :class:`Analysis` of a saved base clustering (labels per corpus row), without clustering again.

    Its clustering has ``tree`` (the one saved with the review), else the tree stored with the clustering in
    the results cache, else one built over the saved clusters' centres (Ward: no level finer than them).
    """
    base_labels = np.asarray(base_labels, dtype=np.int64)
    if len(base_labels) != len(session.corpus):
        raise ValueError("the saved clustering has another number of rows than the corpus")
    labels = base_labels[session.rows]
    if tree is None or tree.n_rows != len(session.rows):
        tree = restored_tree(session, labels, settings)
    clustering = Clustering(labels, np.asarray(base_confidence, np.float32)[session.rows], settings,
                            {"restored": True}, tree=tree)
    terms, vocabulary = session.document_terms()
    analysis = explain(session.corpus, session.rows, session.vectors, clustering, terms, vocabulary,
                       session.corpus.gold)
    analysis.timings = dict(session.timings)
    return analysis


def restored_tree(session, labels: np.ndarray, settings):
    """The tree of the clustering ``settings`` make of the session's vectors, read from the results cache;
    else Ward's over the clusters of ``labels`` (one per embedded row), which never clusters again."""
    from engine.cluster_tree import centre_tree
    from engine.clustering_cache import stored_tree

    tree = stored_tree(session.vectors, settings, session.results_cache_root)
    if tree is not None and tree.n_rows == len(labels):
        return tree
    ids, compact = np.unique(labels, return_inverse=True)
    compact = np.where(labels >= 0, compact.ravel() - int((ids < 0).sum()), -1)
    return centre_tree(session.vectors, compact)
