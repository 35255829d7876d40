"""An opened file: load → embed once, then cluster and search as often as asked.

This is the engine's front door for the CLI and the app::

    session = Session.open("comments.jsonl", SessionOptions(), progress=print)
    analysis = session.cluster(ClusterSettings(algo="auto"))
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.analysis import Analysis, explain
from engine.cache import EmbeddingCache
from engine.clustering import ClusterSettings, cluster
from engine.corpus import Corpus
from engine.embedding import EmbedStats, Embedder, embed_texts, open_cache
from engine.keywords import document_terms
from engine.loading import LoadOptions, load
from engine.progress import CancelToken, Progress, ProgressCallback, check
from engine.search import SimilarityIndex


@dataclass
class ModelOptions:
    """Which model embeds, where, and how."""

    model: str | None = None
    dim: int | None = None
    device: str | None = None
    batch_size: int | None = None
    instruction: str | None = None


@dataclass
class SessionOptions:
    """Everything needed to open a file; defaults work for a plain ``qtui open FILE``."""

    load: LoadOptions = field(default_factory=LoadOptions)
    model: ModelOptions = field(default_factory=ModelOptions)
    cache_dir: Path | None = None
    use_cache: bool = True


def make_embedder(options: ModelOptions) -> Embedder:
    """Load the embedder ``options`` names (the bundled MiniLM by default)."""
    from engine.st_embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(options.model, device=options.device, dim=options.dim,
                                       batch_size=options.batch_size, instruction=options.instruction)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """float32 copy of ``vectors`` with every non-zero row scaled to length 1 (undoes float16 rounding)."""
    out = np.asarray(vectors, dtype=np.float32).copy()
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    out /= np.where(norms > 0, norms, 1.0)
    return out


class Session:
    """A loaded and embedded corpus, ready to cluster and search."""

    def __init__(self, corpus: Corpus, embedder: Embedder, rows: np.ndarray, vectors: np.ndarray,
                 embed_stats: EmbedStats, timings: dict | None = None) -> None:
        self.corpus = corpus
        self.embedder = embedder
        self.rows = rows
        self.vectors = vectors
        self.embed_stats = embed_stats
        self.timings = dict(timings or {})
        self.index = SimilarityIndex(vectors)
        self._row_position = np.full(len(corpus), -1, dtype=np.int64)
        self._row_position[rows] = np.arange(len(rows))
        self._terms = None

    @classmethod
    def open(cls, path: str | Path, options: SessionOptions | None = None,
             progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
             embedder: Embedder | None = None) -> "Session":
        """Load ``path``, load the model (unless ``embedder`` is given) and embed every non-empty text."""
        options = options or SessionOptions()
        timings: dict[str, float] = {}
        t = time.perf_counter()
        if progress:
            progress(Progress("load", 0, 1, message=str(path)))
        corpus = load(path, options.load)
        timings["load"] = time.perf_counter() - t
        check(cancel)
        if embedder is None:
            t = time.perf_counter()
            if progress:
                progress(Progress("model", 0, 1, message=options.model.model or "all-MiniLM-L6-v2"))
            embedder = make_embedder(options.model)
            timings["model"] = time.perf_counter() - t
            check(cancel)
        cache: EmbeddingCache | None = open_cache(embedder, options.cache_dir) if options.use_cache else None
        rows = np.flatnonzero(~corpus.empty)
        t = time.perf_counter()
        vectors, stats = embed_texts([corpus.texts[i] for i in rows], embedder, cache, progress, cancel)
        timings["embed"] = time.perf_counter() - t
        return cls(corpus, embedder, rows, unit_rows(vectors), stats, timings)

    def document_terms(self):
        """Term counts of every corpus row, computed on first use and kept for re-clustering."""
        if self._terms is None:
            self._terms = document_terms(self.corpus.texts)
        return self._terms

    def cluster(self, settings: ClusterSettings | None = None, progress: ProgressCallback | None = None,
                cancel: CancelToken | None = None) -> Analysis:
        """Cluster the embedded rows and explain the result (keywords, scores, metrics)."""
        settings = settings or ClusterSettings()
        clustering = cluster(self.vectors, settings, progress, cancel)
        check(cancel)
        t = time.perf_counter()
        if progress:
            progress(Progress("keywords", 0, 1))
        terms, vocabulary = self.document_terms()
        analysis = explain(self.corpus, self.rows, self.vectors, clustering, terms, vocabulary,
                           self.corpus.gold, progress, cancel)
        analysis.timings = {**self.timings, "cluster": clustering.seconds, "explain": time.perf_counter() - t}
        return analysis

    def position(self, row: int) -> int:
        """Position of corpus ``row`` in :attr:`vectors`, or -1 for an empty (unembedded) text."""
        return int(self._row_position[row])

    def search_text(self, query: str, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """Corpus rows most similar to ``query`` (embedded as a query) and their cosines."""
        vector = self.embedder.encode_query(query)
        positions, scores = self.index.search(vector, k)
        return self.rows[positions], scores

    def similar_to_row(self, row: int, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """Corpus rows most similar to corpus ``row`` (itself excluded); empty for an empty text."""
        position = self.position(row)
        if position < 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        positions, scores = self.index.neighbours(position, k)
        return self.rows[positions], scores
