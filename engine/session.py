"""An opened file: load → embed once, then cluster and search as often as asked.

This is the engine's front door for the CLI and the app::

    session = Session.open("comments.jsonl", SessionOptions(), progress=print)
    analysis = session.cluster(ClusterSettings(algo="auto"))
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from engine.analysis import Analysis
from engine.analysis_cache import cached_explain
from engine.cache import EmbeddingCache, cached_document_terms, default_cache_root, text_hashes
from engine.clustering import ClusterSettings
from engine.clustering_cache import cached_cluster, vectors_digest
from engine.corpus import Corpus
from engine.corpus_cache import cached_load, cached_notes
from engine.errors import UsageError
from engine.embedder import Embedder
from engine.embedding import EmbedStats, embed_texts, open_cache
from engine.first_view import FirstView
from engine.keyword_sample import sample_rows, sampled_terms
from engine.keywords import document_terms
from engine.model_choice import ModelChoice, choose_model, is_auto
from engine.models import DEFAULT_MODEL
from engine.options import ModelOptions, SessionOptions
from engine.progress import CancelToken, Progress, ProgressCallback, check
from engine.search import SimilarityIndex


def make_embedder(options: ModelOptions) -> Embedder:
    """The embedder ``options`` asks for: a remote server when ``embed_url`` is set, the multilingual
    USE for ``--model muse``, else a sentence-transformers model.  A model left to ``auto`` (which
    :meth:`Session.open` chooses from the texts first) is the server's only one, or the bundled MiniLM."""
    from engine.muse_embedder import MuseEmbedder, is_muse

    if is_auto(options.model):
        options = replace(options, model=None)
    if options.backend not in (None, "torch") and (options.embed_url or is_muse(options.model)):
        where = "--embed-url (the server runs the model)" if options.embed_url else "--model muse (it runs in numpy)"
        raise UsageError(f"--backend {options.backend} does not apply to {where}; drop --backend")
    if options.embed_url:
        from engine.remote_embedder import RemoteEmbedder

        return RemoteEmbedder(options.embed_url, options.model, dim=options.dim, batch_size=options.batch_size,
                              concurrency=options.concurrency, timeout=options.timeout, retries=options.retries,
                              api_key_env=options.api_key_env, instruction=options.instruction)
    if is_muse(options.model):
        return MuseEmbedder(batch_size=options.batch_size, dim=options.dim)
    if options.backend not in (None, "torch"):
        from engine.onnx_embedder import OnnxEmbedder, check_backend

        check_backend(options.backend, options.device)
        return OnnxEmbedder(options.model, backend=options.backend, dim=options.dim, batch_size=options.batch_size,
                            instruction=options.instruction)
    from engine.st_embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(options.model, device=options.device, dim=options.dim,
                                       batch_size=options.batch_size, instruction=options.instruction,
                                       precision=options.precision)


def first_view_embedder(options: SessionOptions, hashes: np.ndarray, progress: ProgressCallback | None = None,
                        cancel: CancelToken | None = None,
                        chosen: str | None = None) -> tuple[Embedder, EmbeddingCache | None, FirstView]:
    """The embedder of the first view ``options.first_view`` asks for (:func:`~engine.first_view.choose_first_view`),
    its embedding cache (None with ``use_cache`` off) and the decision.

    ``hashes``: :func:`~engine.cache.text_hashes` of the texts to embed, for "auto" to count those whose
    full vectors are not cached.  A static embedder distills (or reads) its model on first use,
    reporting to ``progress`` and checking ``cancel``.  ``chosen``: the model ``--model auto`` chose (a static view it cannot give falls back to the full model).
    """
    from engine.first_view import choose_first_view, missing_full_vectors
    from engine.static_embedder import make_static_embedder, static_refusal

    requested = (options.first_view or "full").lower()
    full, cache, missing, refusal = None, None, 0, None
    if requested != "full":
        refusal = static_refusal(options.model)
    if requested == "full" or (requested == "auto" and refusal is None):
        full = make_embedder(options.model)
        cache = open_cache(full, options.cache_dir) if options.use_cache else None
        missing = missing_full_vectors(hashes, cache) if requested == "auto" else 0
    view = choose_first_view(requested, missing, refusal, chosen=chosen)
    if view.static:
        root = options.cache_dir or default_cache_root()
        embedder = make_static_embedder(options.model, root, progress, cancel)
        return embedder, open_cache(embedder, options.cache_dir) if options.use_cache else None, view
    if full is None:
        full = make_embedder(options.model)
        cache = open_cache(full, options.cache_dir) if options.use_cache else None
    return full, cache, view


def embed_notes(texts, embedder: Embedder) -> tuple[np.ndarray, str | None]:
    """Which of ``texts`` the model cuts short (a bool mask), and the "not English" warning or None."""
    from engine.languages import language_warning

    return embedder.truncated_mask(texts), language_warning(texts, embedder.name, embedder.kind or None)


def unit_rows(vectors: np.ndarray, block: int = 4096) -> np.ndarray:
    """float32 copy of ``vectors`` with every non-zero row scaled to length 1 (undoes float16 rounding)."""
    out = np.array(vectors, dtype=np.float32)  # one copy (asarray + copy made two from float16)
    for lo in range(0, len(out), block):  # by blocks: no temporary the size of the matrix
        part = out[lo: lo + block]
        norms = np.linalg.norm(part, axis=1, keepdims=True)
        part /= np.where(norms > 0, norms, 1.0)
    return out


def load_corpus(path: str | Path, options: SessionOptions | None = None,
                progress: ProgressCallback | None = None) -> Corpus:
    """The corpus of ``path`` as :meth:`Session.open` loads it (from the cache when the file was parsed before)."""
    options = options or SessionOptions()
    if progress:
        progress(Progress("load", 0, 1, message=str(path)))
    return cached_load(path, options.load, results_root(options))


def results_root(options: SessionOptions) -> Path | None:
    """Where parsed files and results derived from them are kept (None with ``use_cache`` off)."""
    return (options.cache_dir or default_cache_root()) if options.use_cache else None


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
        #: :func:`~engine.cache.text_hashes` of the texts of ``rows`` (computed when first needed if not given).
        self.text_hashes: np.ndarray | None = None
        self._digests: tuple[bytes, bytes] | None = None
        #: Where term counts, clusterings and explanations derived from this corpus are kept between runs (None: not kept).
        self.results_cache_root: Path | None = None
        #: Corpus rows longer than the model's token limit (embedded from their beginning only).
        self.truncated_rows = np.empty(0, dtype=np.int64)
        #: One line when most texts are not English and the model is English-only, else None.
        self.language_warning: str | None = None
        #: The model ``--model auto`` chose and why (:class:`engine.model_choice.ModelChoice`); None when the
        #: model was named, served by ``--embed-url`` or given as an embedder.
        self.model_choice: ModelChoice | None = None
        #: Which vectors this session holds and why (:mod:`engine.first_view`); None when the caller chose the embedder.
        self.first_view: FirstView | None = None
        #: The options it was opened with, the model chosen by ``auto`` filled in (:meth:`refined` embeds with
        #: their full model).
        self.options: SessionOptions = SessionOptions()
        #: The session of the same rows with the full model's vectors, once :meth:`refined` made it: searches
        #: use its vectors from then on (the best vectors ready), whichever clustering is shown.
        self.refinement: Session | None = None

    @classmethod
    def open(cls, path: str | Path, options: SessionOptions | None = None,
             progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
             embedder: Embedder | None = None, corpus: Corpus | None = None) -> "Session":
        """Load ``path`` (unless ``corpus``, its :func:`load_corpus`, is given) and embed every non-empty text
        with ``embedder``, else the first view's embedder (``options.first_view``: the full model, or the
        static model distilled from it; ``--model auto`` chooses the model from the texts)."""
        options = options or SessionOptions()
        timings: dict[str, float] = {}
        t = time.perf_counter()
        root = results_root(options)
        if corpus is None:
            corpus = load_corpus(path, options, progress)
        timings["load"] = time.perf_counter() - t
        check(cancel)
        rows = np.flatnonzero(~corpus.empty)
        texts = [corpus.texts[i] for i in rows]
        hashes = text_hashes(texts) if corpus.text_hashes is None else corpus.text_hashes[rows]
        choice, view, cache = None, None, None
        if embedder is None:
            t = time.perf_counter()
            model = options.model
            if is_auto(model.model) and not model.embed_url:
                choice = choose_model(texts, model)
                model = replace(model, model=choice.model)
            if progress:
                progress(Progress("model", 0, 1, message=model.model or DEFAULT_MODEL))
            options = replace(options, model=model)
            # sentence-transformers weights load, and a static model is distilled, on first use
            embedder, cache, view = first_view_embedder(options, hashes, progress, cancel,
                                                        chosen=choice.model if choice else None)
            timings["model"] = time.perf_counter() - t
            check(cancel)
        elif options.use_cache:
            cache = open_cache(embedder, options.cache_dir)
        holder = [cache]
        del cache  # held by ``holder`` only, so _embedded can let it go
        session = cls._embedded(corpus, rows, texts, hashes, embedder, holder, root, progress, cancel, timings)
        session.first_view, session.options, session.model_choice = view, options, choice
        return session

    @classmethod
    def _embedded(cls, corpus: Corpus, rows: np.ndarray, texts: list[str], hashes: np.ndarray, embedder: Embedder,
                  cache_holder: list, root: Path | None, progress: ProgressCallback | None,
                  cancel: CancelToken | None, timings: dict) -> "Session":
        """A session of ``corpus`` whose ``rows`` (``texts``, ``hashes``) are embedded with ``embedder``.

        ``cache_holder``: a one-item list with the embedding cache (or None), emptied here so that the
        cache's shards are freed before the float32 copy of the vectors is made.
        """
        t = time.perf_counter()
        cache = cache_holder.pop()
        vectors, stats = embed_texts(texts, embedder, cache, progress, cancel, hashes=hashes)
        timings["embed"] = time.perf_counter() - t
        cache = None  # its shards (0.78 GB at 1M rows) go before the float32 copy is made
        session = cls(corpus, embedder, rows, unit_rows(vectors), stats, timings)
        session.text_hashes = hashes
        session.results_cache_root = root
        truncated, session.language_warning = cached_notes(hashes, embedder.identity,
                                                           lambda: embed_notes(texts, embedder), root)
        session.truncated_rows = rows[truncated]
        return session

    @property
    def static(self) -> bool:
        """Whether the vectors are a static model's (a quick first view), not the full model's."""
        return self.embedder.static

    def refined(self, progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
                embedder: Embedder | None = None) -> "Session":
        """A new session of the same corpus embedded with the full model of :attr:`options` (or ``embedder``).

        The refinement of a static first view: the file is not read again, finished vectors are
        cached as they come (a cancelled refinement resumes where it stopped), and this session is
        left as it is.  Its :attr:`first_view` is "full".
        """
        options = self.options
        embedder = embedder or make_embedder(options.model)
        holder = [open_cache(embedder, options.cache_dir) if options.use_cache else None]
        texts = [self.corpus.texts[i] for i in self.rows]
        hashes = self.text_hashes if self.text_hashes is not None else text_hashes(texts)
        timings = {k: v for k, v in self.timings.items() if k == "load"}
        session = type(self)._embedded(self.corpus, self.rows, texts, hashes, embedder, holder,
                                       self.results_cache_root, progress, cancel, timings)
        session.first_view = FirstView("full", "full model: refined")
        session.options = options
        session._terms = self._terms  # the same texts: term counts already made are shared
        self.refinement = session
        return session

    @property
    def vectors_label(self) -> str:
        """Which vectors the session holds, for a status line: 'static vectors' or 'full vectors'."""
        return "static vectors" if self.static else "full vectors"

    @property
    def search_session(self) -> "Session":
        """The session whose vectors searches use: :attr:`refinement` once there is one, else this one."""
        return self.refinement if self.refinement is not None else self

    def document_terms(self):
        """Term counts of every corpus row, computed on first use (or taken from :attr:`refinement`, the same
        texts) and kept for re-clustering."""
        if self._terms is None and self.refinement is not None:
            self._terms = self.refinement._terms
        if self._terms is None:
            self._terms = cached_document_terms(self.corpus.texts, document_terms, self.results_cache_root)
        return self._terms

    def settings_for(self, settings: ClusterSettings | None = None) -> ClusterSettings:
        """``settings`` with ``quick`` decided: as given, else quick when the vectors are static (None, not
        quick, for the full model's: the settings stay equal to those asked for)."""
        settings = settings or ClusterSettings()
        return replace(settings, quick=True) if settings.quick is None and self.static else settings

    def cluster(self, settings: ClusterSettings | None = None, progress: ProgressCallback | None = None,
                cancel: CancelToken | None = None) -> Analysis:
        """Cluster the embedded rows and explain the result (keywords, scores, metrics).

        ``settings.quick`` None is decided by :meth:`settings_for`: a static first view clusters quick and
        counts keywords on a sample of every cluster (:attr:`Analysis.keyword_rows` says how many rows).
        """
        settings = self.settings_for(settings)
        root = self.results_cache_root
        vectors_key, inputs_key = self._inputs_digests() if root is not None else (None, b"")
        clustering = cached_cluster(self.vectors, settings, root, progress, cancel, digest=vectors_key)
        check(cancel)
        t = time.perf_counter()
        if progress:
            progress(Progress("keywords", 0, 1))
        terms, sampled = self.document_terms, None
        if settings.quick and self._terms is None:  # counted on a sample unless every row's counts are at hand
            positions, weights = sample_rows(clustering.labels, seed=settings.seed)
            if len(positions) < len(self.rows):
                sampled = self.rows[positions]
                terms = lambda: sampled_terms(self.corpus.texts, sampled, weights)
        analysis = cached_explain(self.corpus, self.rows, self.vectors, clustering, terms, root,
                                  inputs_key + (b"sampled" if sampled is not None else b""), progress, cancel)
        if sampled is not None:
            analysis.keyword_rows = len(sampled)
        analysis.timings = {**self.timings, "cluster": clustering.seconds, "explain": time.perf_counter() - t}
        return analysis

    def _inputs_digests(self) -> tuple[bytes, bytes]:
        """(digest of the vectors, digest of the vectors and every corpus text): the keys of derived results."""
        if self._digests is None:
            if self.text_hashes is None:
                self.text_hashes = text_hashes([self.corpus.texts[i] for i in self.rows])
            vectors = vectors_digest(self.vectors)
            h = hashlib.sha256(vectors)
            h.update(np.ascontiguousarray(self.text_hashes).tobytes())
            h.update(np.ascontiguousarray(self.rows, dtype="<i8").tobytes())
            others = np.ones(len(self.corpus), dtype=bool)
            others[self.rows] = False  # the empty texts, kept as they are
            h.update(text_hashes([self.corpus.texts[i] for i in np.flatnonzero(others)]).tobytes())
            self._digests = (vectors, h.digest())
        return self._digests

    def position(self, row: int) -> int:
        """Position of corpus ``row`` in :attr:`vectors`, or -1 for an empty (unembedded) text."""
        return int(self._row_position[row])

    def search_text(self, query: str, k: int = 20, within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Corpus rows most similar to ``query`` (embedded as a query) and their cosines; ``within`` (a bool mask
        over the corpus rows, e.g. a filter) keeps the search to those rows."""
        best = self.search_session
        return best.search_vector(best.embedder.encode_query(query), k, within)

    def search_vector(self, vector: np.ndarray, k: int = 20,
                      within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Corpus rows most similar to a query ``vector`` (of the model of :attr:`search_session`) and their
        cosines (``within``: as in :meth:`search_text`)."""
        if self.refinement is not None:
            return self.refinement.search_vector(vector, k, within)
        allowed = None if within is None else np.asarray(within, dtype=bool)[self.rows]
        positions, scores = self.index.search(vector, k, allowed=allowed)
        return self.rows[positions], scores

    def similar_to_row(self, row: int, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """Corpus rows most similar to corpus ``row`` (itself excluded, by :attr:`search_session`'s vectors);
        empty for an empty text."""
        if self.refinement is not None:
            return self.refinement.similar_to_row(row, k)
        position = self.position(row)
        if position < 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        positions, scores = self.index.neighbours(position, k)
        return self.rows[positions], scores
