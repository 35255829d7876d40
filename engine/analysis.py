"""One clustering of a corpus explained: per-row labels and scores, per-cluster keywords, metrics."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from engine.clustering import NOISE, Clustering
from engine.corpus import Corpus
from engine.keywords import cluster_keywords, suggest_name
from engine.metrics import (
    QUICK_SILHOUETTE_SAMPLE,
    SILHOUETTE_SAMPLE,
    Metrics,
    centroids,
    closeness,
    cohesion,
    compute_metrics,
)
from engine.progress import CancelToken, Progress, ProgressCallback, check

if TYPE_CHECKING:  # scipy is imported where term counts are made: a cached reopen never needs it (a slow import)
    import scipy.sparse as sp

#: Label of rows whose text is empty or whitespace only (kept, flagged, never embedded).
EMPTY = -2
NOISE_NAME = "unclustered"
EMPTY_NAME = "(empty text)"
EXAMPLES = 5


@dataclass
class ClusterInfo:
    """One cluster: its id, size, keywords, a suggested name, cohesion and closest examples."""

    id: int
    size: int
    name: str
    keywords: list[tuple[str, float]] = field(default_factory=list)
    cohesion: float | None = None
    examples: list[int] = field(default_factory=list)  # corpus rows, closest to the centre first


@dataclass
class Analysis:
    """A clustering of every row of ``corpus`` with everything the UI and the export need."""

    corpus: Corpus
    rows: np.ndarray  # corpus rows that were embedded, ascending
    vectors: np.ndarray  # unit vectors of ``rows`` (float32)
    clustering: Clustering
    labels: np.ndarray  # per corpus row: cluster id, NOISE or EMPTY
    scores: np.ndarray  # per corpus row: cosine to its cluster centre (NaN for noise/empty)
    confidence: np.ndarray  # per corpus row, from the clustering (0 for noise/empty)
    clusters: list[ClusterInfo]  # clusters 0..K-1, then noise and empty groups if present
    metrics: Metrics
    centres: np.ndarray  # (K, dim) unit centres
    timings: dict = field(default_factory=dict)
    #: Rows the keywords were counted on when a quick clustering sampled them (:mod:`engine.keyword_sample`);
    #: None: every row.
    keyword_rows: int | None = None

    def cluster(self, cluster_id: int) -> ClusterInfo | None:
        """The :class:`ClusterInfo` with ``cluster_id`` (including NOISE and EMPTY), or None."""
        for info in self.clusters:
            if info.id == cluster_id:
                return info
        return None

    def members(self, cluster_id: int) -> np.ndarray:
        """Corpus rows of ``cluster_id``, closest to the centre first (file order for noise/empty)."""
        rows = np.flatnonzero(self.labels == cluster_id)
        if cluster_id < 0 or len(rows) == 0:
            return rows
        return rows[np.lexsort((rows, -self.scores[rows]))]

    @property
    def n_clusters(self) -> int:
        return self.clustering.n_clusters


def explain(corpus: Corpus, rows: np.ndarray, vectors: np.ndarray, clustering: Clustering,
            doc_terms: sp.csr_matrix, vocabulary: np.ndarray, gold: list[str] | None = None,
            progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> Analysis:
    """Put a :class:`Clustering` of ``rows`` in terms of the whole corpus: keywords, scores, metrics.

    ``doc_terms`` are the term counts of every corpus row (see :func:`engine.keywords.document_terms`).
    """
    n = len(corpus)
    k = clustering.n_clusters
    labels = np.full(n, EMPTY, dtype=np.int64)
    labels[rows] = clustering.labels
    confidence = np.zeros(n, dtype=np.float32)
    confidence[rows] = clustering.confidence
    if progress:
        progress(Progress("keywords", 0, 1))
    centres = centroids(vectors, clustering.labels, k)
    row_scores = closeness(vectors, clustering.labels, centres)
    scores = np.full(n, np.nan, dtype=np.float32)
    scores[rows] = row_scores
    check(cancel)
    keywords = cluster_keywords(doc_terms[rows], vocabulary, clustering.labels, cancel=cancel)
    tight = cohesion(row_scores, clustering.labels, k)
    counts = np.bincount(clustering.labels[clustering.labels >= 0], minlength=k)
    clusters = []
    for cid in range(k):
        info = ClusterInfo(cid, int(counts[cid]), suggest_name(keywords.get(cid, [])) or f"cluster {cid}",
                           keywords.get(cid, []), float(tight[cid]))
        clusters.append(info)
    noise = int((clustering.labels == NOISE).sum())
    if noise:
        clusters.append(ClusterInfo(NOISE, noise, NOISE_NAME, keywords.get(NOISE, [])))
    empty = n - len(rows)
    if empty:
        clusters.append(ClusterInfo(EMPTY, empty, EMPTY_NAME))
    _fill_examples(clusters, labels, scores, corpus.texts)
    check(cancel)
    if progress:
        progress(Progress("metrics", 0, 1))
    gold_rows = [gold[i] for i in rows] if gold is not None else None
    sample = QUICK_SILHOUETTE_SAMPLE if clustering.settings.quick else SILHOUETTE_SAMPLE
    metrics = compute_metrics(vectors, clustering.labels, gold_rows, seed=clustering.settings.seed, sample=sample)
    if gold is not None and empty:
        # External scores count every row: empty texts form one more group.
        from engine.metrics import external_scores

        metrics.ari, metrics.nmi, metrics.v_measure, metrics.purity = external_scores(labels, gold)
    if progress:
        progress(Progress("metrics", 1, 1))
    return Analysis(corpus, rows, vectors, clustering, labels, scores, confidence, clusters, metrics, centres)


def clusters_within(analysis: Analysis, mask: np.ndarray) -> list[ClusterInfo]:
    """The clusters of ``analysis`` as the rows of ``mask`` (a bool per corpus row, e.g. a filter) see them: sizes
    count the matching rows, clusters without one are left out, examples are matching rows; names, keywords and
    cohesion stay those of the whole clustering."""
    mask = np.asarray(mask, dtype=bool)
    hidden = min(EMPTY, int(analysis.labels.min(initial=0))) - 1  # a label no cluster has: the other rows
    labels = np.where(mask, analysis.labels, hidden)
    ids, counts = np.unique(labels[mask], return_counts=True)
    size_of = dict(zip(ids.tolist(), counts.tolist()))
    clusters = [replace(info, size=size_of[info.id], examples=[]) for info in analysis.clusters if info.id in size_of]
    _fill_examples(clusters, labels, analysis.scores, analysis.corpus.texts)
    return clusters


def describe_cut(analysis: Analysis, labels: np.ndarray, doc_terms: sp.csr_matrix, vocabulary: np.ndarray,
                 cancel: CancelToken | None = None) -> list[ClusterInfo]:
    """Clusters 0..K-1 of ``labels`` (another cut of the clustering's tree: one label per embedded row, -1
    noise) with their sizes, keywords and suggested names; ``doc_terms`` as for :func:`explain`."""
    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    keywords = cluster_keywords(doc_terms[analysis.rows], vocabulary, labels, cancel=cancel)
    counts = np.bincount(labels[labels >= 0], minlength=k)
    return [ClusterInfo(c, int(counts[c]), suggest_name(keywords.get(c, [])) or f"cluster {c}", keywords.get(c, []))
            for c in range(k)]


def parent_level(analysis: Analysis, doc_terms: sp.csr_matrix, vocabulary: np.ndarray,
                 cancel: CancelToken | None = None) -> tuple[np.ndarray, list[ClusterInfo]] | None:
    """The clusters one zoom level coarser than the analysis's: the parent id of every cluster id and the
    parents described (:func:`describe_cut`); None when the clustering has no tree or is its top level."""
    tree = analysis.clustering.tree
    k = analysis.n_clusters
    up = tree.coarser(k) if tree is not None and k else None
    if up is None:
        return None
    return tree.parents(k, up), describe_cut(analysis, tree.labels_at(up), doc_terms, vocabulary, cancel)


def _fill_examples(clusters: list[ClusterInfo], labels: np.ndarray, scores: np.ndarray, texts: list[str]) -> None:
    """The rows closest to each centre, skipping repeats of a text already picked."""
    order = np.lexsort((np.arange(len(labels)), -np.nan_to_num(scores, nan=-2.0), labels))
    sorted_labels = labels[order]
    for info in clusters:
        lo, hi = np.searchsorted(sorted_labels, [info.id, info.id + 1])
        picked, seen = [], set()
        for row in order[lo: min(hi, lo + 20 * EXAMPLES)].tolist():
            key = " ".join(texts[row].split()).casefold()
            if key not in seen:
                seen.add(key)
                picked.append(row)
                if len(picked) == EXAMPLES:
                    break
        info.examples = picked
