"""The embed step: vectors for a list of texts, from the cache where possible, else from a model.

Only texts the cache does not hold are embedded, each distinct text once,
longest first (less padding per batch).  Finished vectors are written to the
cache as soon as the first chunk is done, then every few seconds, so an
interrupted or cancelled run keeps what it did.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from engine.cache import EmbeddingCache, default_cache_root, text_hashes
from engine.embedder import Embedder
from engine.models import cache_key
from engine.progress import CancelToken, Progress, ProgressCallback, StageMeter, check

#: Write finished vectors to the cache at least this often (seconds) and every this many rows.
FLUSH_SECONDS = 3.0
FLUSH_ROWS = 4096


@dataclass
class EmbedStats:
    """What the embed step did: rows served from the cache, rows embedded, time and speed."""

    rows: int = 0
    cached: int = 0
    embedded: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    corrupt_shards: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


def open_cache(embedder: Embedder, root=None) -> EmbeddingCache:
    """The cache of ``embedder``'s identity under ``root`` (default: the user cache directory)."""
    identity = embedder.identity
    return EmbeddingCache(root or default_cache_root(), cache_key(identity), identity)


def embed_texts(
    texts: Sequence[str],
    embedder: Embedder,
    cache: EmbeddingCache | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    hashes: np.ndarray | None = None,
) -> tuple[np.ndarray, EmbedStats]:
    """Return (n, dim) float16 unit vectors for ``texts`` and what it took.

    Vectors are rounded to float16 whether they come from the cache or the
    model, so a cold and a warm run give identical results.  ``hashes``:
    :func:`~engine.cache.text_hashes` of ``texts`` when the caller has them.
    """
    start = time.perf_counter()
    n = len(texts)
    stats = EmbedStats(rows=n)
    if n == 0:
        return np.zeros((0, embedder.dim), dtype=np.float16), stats
    hashes = text_hashes(list(texts)) if hashes is None else hashes
    keys = np.ascontiguousarray(hashes).view("V16").ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    unique_hashes = hashes[first]
    stats.duplicates = n - len(first)

    if cache is not None:
        # Looked up in the order of ``texts``: when all are cached (a warm reopen) the vectors come out
        # in their final order, one copy (gathering the distinct ones, then repeating them by ``inverse``,
        # would make two).
        found_rows, vectors = cache.lookup(hashes)
        stats.corrupt_shards = list(cache.corrupt)
        # Nothing is looked up again: the shards read go now, and what is embedded below is only written
        # (indexing each written chunk in memory too re-sorted the whole cache once per chunk).
        cache.release()
        if found_rows.all() and vectors.shape[1] == embedder.dim:
            stats.cached = len(first)
            stats.seconds = time.perf_counter() - start
            return vectors.astype(np.float16, copy=False), stats
        found = found_rows[first]
        unique_vectors = np.zeros((len(first), embedder.dim), dtype=np.float16)
        unique_vectors[found] = vectors[(np.cumsum(found_rows) - 1)[first[found]]]
        del vectors
    else:
        unique_vectors = np.zeros((len(first), embedder.dim), dtype=np.float16)
        found = np.zeros(len(first), dtype=bool)
    missing = np.flatnonzero(~found)
    stats.cached = int(found.sum())

    if len(missing):
        lengths = np.fromiter((len(texts[first[i]]) for i in missing), dtype=np.int64, count=len(missing))
        missing = missing[np.argsort(-lengths, kind="stable")]
        _embed_missing(texts, first, missing, unique_hashes, unique_vectors, embedder, cache, progress, cancel)
        stats.embedded = len(missing)
        if cache is not None:
            cache.compact()
    out = unique_vectors[inverse]
    stats.seconds = time.perf_counter() - start
    return out, stats


def _embed_missing(texts, first, missing, unique_hashes, unique_vectors, embedder, cache, progress, cancel) -> None:
    if not embedder.loaded:  # weights are loaded lazily: only now that they are needed
        if progress:
            progress(Progress("model", 0, 1, message=embedder.name))
        embedder.load()
        check(cancel)
    meter = StageMeter("embed", len(missing), progress)
    step = max(1, embedder.chunk_size)  # texts per ``encode`` call: as many as the embedder handles best at once
    pending: list[np.ndarray] = []
    last_flush = float("-inf")  # the first chunk is written at once: a run stopped early keeps it

    def flush() -> None:
        nonlocal pending, last_flush
        if cache is not None and pending:
            rows = np.concatenate(pending)
            cache.add(unique_hashes[rows], unique_vectors[rows])
        pending = []
        last_flush = time.perf_counter()

    try:
        for lo in range(0, len(missing), step):
            check(cancel)
            rows = missing[lo: lo + step]
            vectors = embedder.encode([texts[first[i]] for i in rows])
            unique_vectors[rows] = vectors.astype(np.float16)
            pending.append(rows)
            meter.advance(len(rows))
            if sum(len(p) for p in pending) >= FLUSH_ROWS or time.perf_counter() - last_flush >= FLUSH_SECONDS:
                flush()
    except BaseException:  # cancelled, interrupted, or the model / server failed: keep what is done
        try:
            flush()
        except Exception:  # pragma: no cover - the first error is the one to report
            pass
        raise
    flush()
