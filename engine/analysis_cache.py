"""Explanations kept between runs: a reopen reads a clustering's keywords, scores and metrics back.

:func:`~engine.analysis.explain` is deterministic: its result depends only on the
vectors, the clustering, the corpus texts, the gold labels and the code (the
silhouette sample is drawn with the clustering's seed).  So it is stored under a
hash of all of these plus the source of the explaining code and the versions of
numpy and scikit-learn; any change computes it again.  Entries are ``.npz``
files (no pickle, floats kept exactly: arrays as float32, the rest as JSON) written
atomically under ``<cache root>/explanations/`` (:class:`~engine.npz_cache.NpzCache`); a damaged
one is ignored and recomputed.  A warm reopen reads the keywords and metrics back instead of computing
them (most of that is the silhouette).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from engine.analysis import EMPTY, Analysis, ClusterInfo, explain
from engine.clustering import Clustering
from engine.corpus import Corpus
from engine.metrics import Metrics
from engine.npz_cache import NpzCache, code_digest
from engine.progress import CancelToken, Progress, ProgressCallback

if TYPE_CHECKING:
    import scipy.sparse as sp

#: Explanations kept; the least recently used beyond this are removed.
KEPT = 16
_CODE = ("engine.analysis", "engine.analysis_cache", "engine.keywords", "engine.keyword_sample", "engine.metrics",
         "engine.tokenize")


def cached_explain(corpus: Corpus, rows: np.ndarray, vectors: np.ndarray, clustering: Clustering,
                   terms: Callable[[], tuple[sp.csr_matrix, np.ndarray]], root: Path | None, inputs: bytes = b"",
                   progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> Analysis:
    """``explain(...)`` of ``clustering``, read from ``<root>/explanations/`` when it was computed before.

    ``terms()`` gives the corpus term counts (only called when computing); ``inputs`` must identify the
    vectors and every corpus text (see :meth:`engine.session.Session.inputs_digest`).  ``root`` None: no cache.
    """
    gold = corpus.gold
    if root is None:
        doc_terms, vocabulary = terms()
        return explain(corpus, rows, vectors, clustering, doc_terms, vocabulary, gold, progress, cancel)
    cache, key = NpzCache(root, "explanations", KEPT), _key(inputs, corpus, rows, clustering, gold)
    found = cache.read(key, lambda arrays: _decode(arrays, corpus, rows, vectors, clustering))
    if found is not None:
        if progress:
            progress(Progress("metrics", 1, 1))
        return found
    doc_terms, vocabulary = terms()
    result = explain(corpus, rows, vectors, clustering, doc_terms, vocabulary, gold, progress, cancel)
    _write(cache, key, result)
    return result


def _key(inputs: bytes, corpus: Corpus, rows: np.ndarray, clustering: Clustering, gold: list[str] | None) -> str:
    from importlib.metadata import version  # not sklearn.__version__: a cached reopen never imports scikit-learn

    h = hashlib.blake2b(inputs, digest_size=16)
    h.update(np.asarray([len(corpus)], dtype="<i8").tobytes())
    for array in (rows.astype("<i8"), clustering.labels.astype("<i8"), clustering.confidence.astype("<f4")):
        h.update(np.ascontiguousarray(array).view(np.uint8).ravel())
    h.update(json.dumps(asdict(clustering.settings), sort_keys=True).encode())
    h.update(json.dumps(gold, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    h.update(f"{np.__version__} {version('scikit-learn')}".encode())
    h.update(code_digest(*_CODE))
    return h.hexdigest()


def _decode(arrays, corpus: Corpus, rows: np.ndarray, vectors: np.ndarray, clustering: Clustering) -> Analysis | None:
    row_scores, centres = arrays["scores"], arrays["centres"]
    k = clustering.n_clusters
    if (row_scores.dtype != np.float32 or row_scores.shape != (len(rows),) or centres.dtype != np.float32
            or centres.shape != (k, vectors.shape[1])):
        return None
    clusters = [ClusterInfo(int(c["id"]), int(c["size"]), str(c["name"]),
                            [(str(t), float(w)) for t, w in c["keywords"]],
                            None if c["cohesion"] is None else float(c["cohesion"]),
                            [int(r) for r in c["examples"]]) for c in json.loads(str(arrays["clusters"]))]
    metrics = Metrics(**json.loads(str(arrays["metrics"])))
    n = len(corpus)
    labels = np.full(n, EMPTY, dtype=np.int64)
    labels[rows] = clustering.labels
    confidence = np.zeros(n, dtype=np.float32)
    confidence[rows] = clustering.confidence
    scores = np.full(n, np.nan, dtype=np.float32)
    scores[rows] = row_scores
    return Analysis(corpus, rows, vectors, clustering, labels, scores, confidence, clusters, metrics, centres)


def _write(cache: NpzCache, key: str, analysis: Analysis) -> None:
    clusters = [{"id": c.id, "size": c.size, "name": c.name, "keywords": c.keywords, "cohesion": c.cohesion,
                 "examples": c.examples} for c in analysis.clusters]
    cache.write(key, scores=analysis.scores[analysis.rows].astype(np.float32), centres=analysis.centres,
                clusters=np.asarray(json.dumps(clusters)), metrics=np.asarray(json.dumps(analysis.metrics.to_dict())))
