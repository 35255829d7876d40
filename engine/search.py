"""Nearest texts by cosine similarity over unit vectors.

Up to :data:`EXACT_MAX_ROWS` rows the search is exact (one float32 matrix product).
Above that, a full scan reads the whole matrix per keystroke (150 MB at 100k rows),
so an approximate index answers instead when faiss is installed (``pip install 'qtui[scale]'``): an
inverted file over :data:`IVF_LISTS`-ish k-means cells with 8-bit scalar-quantized
vectors, searched in :data:`IVF_PROBE` cells, its candidates re-ranked exactly from
the (float16, possibly memory-mapped) vectors.  The index is built once and kept in
``cache_dir`` (default: the user cache directory) under a hash of the vectors, so a
reopen loads it.  It is built (or read) in a background thread; until it is ready,
searches scan exactly.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from pathlib import Path

import numpy as np

#: Exact search up to this many rows; an approximate index above (when faiss is installed).
EXACT_MAX_ROWS = 50_000
#: Candidates taken from the approximate index per result wanted, re-ranked exactly.
RERANK_FACTOR = 4
IVF_PROBE = 24
#: A restricted search asks the approximate index for up to this many times more candidates before scanning exactly.
ALLOWED_OVERSAMPLE = 8
#: Rows per block of the exact scan of float16 vectors (float32 copies of one block at a time).
SCAN_BLOCK = 65_536


class SimilarityIndex:
    """Top-k cosine search over the rows of a unit-vector matrix (float32, or float16 memory-mapped)."""

    def __init__(self, vectors: np.ndarray, cache_dir: Path | None = None, exact: bool | None = None,
                 background: bool = True) -> None:
        n = len(vectors)
        if n <= EXACT_MAX_ROWS:  # small enough for one float32 copy: the fastest exact scan
            vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.vectors = vectors
        self.exact = exact if exact is not None else (n <= EXACT_MAX_ROWS or not _has_faiss())
        self._ann = None
        #: Set once the approximate index is in use (at once for an exact index).
        self.ready = threading.Event()
        if self.exact:
            self.ready.set()
            return
        from engine.cache import default_cache_root

        root = cache_dir or default_cache_root()
        if not background:
            self._build(root)
            return
        # Until the index is built (or read from the cache) searches scan exactly.
        threading.Thread(target=self._build, args=(root,), name="ann-index", daemon=True).start()

    def _build(self, root: Path) -> None:
        try:
            self._ann = _ivf_index(self.vectors, root)
        except Exception:  # pragma: no cover - faiss failed (memory): exact search stays in use
            self._ann = None
        finally:
            self.ready.set()

    def __len__(self) -> int:
        return len(self.vectors)

    def search(self, query: np.ndarray, k: int = 20, exclude: int | None = None,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the ``k`` rows most similar to ``query`` and their cosines, best first.

        ``allowed`` (a bool mask over the positions) keeps the search to those rows (a filter).
        """
        n = len(self.vectors)
        if n == 0 or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        query = np.asarray(query, dtype=np.float32)
        if allowed is not None:
            return self._search_allowed(query, k, exclude, np.asarray(allowed, dtype=bool))
        ann = self._ann
        positions = _candidates(ann, query, k * RERANK_FACTOR + 1) if ann is not None else None
        if positions is not None:  # approximate: re-rank the candidates exactly
            sims = np.asarray(self.vectors[positions], dtype=np.float32) @ query
        elif self.vectors.dtype == np.float32:
            sims = self.vectors @ query
        else:
            sims = _blocked_scan(self.vectors, query)
        if exclude is not None:
            hit = np.flatnonzero(positions == exclude) if positions is not None else [exclude]
            sims[hit] = -np.inf
        k = min(k, len(sims) - int(exclude is not None and (positions is None or exclude in positions)))
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        found = top if positions is None else positions[top]
        order = np.lexsort((found, -sims[top]))
        return found[order].astype(np.int64), sims[top][order].astype(np.float32)

    def _search_allowed(self, query: np.ndarray, k: int, exclude: int | None,
                        allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search` among the ``allowed`` positions: the approximate index asked for more candidates
        (as many more as the allowed rows are rare, up to :data:`ALLOWED_OVERSAMPLE`), else an exact scan."""
        allowed = allowed.copy()
        if exclude is not None:
            allowed[exclude] = False
        count = int(allowed.sum())
        k = min(k, count)
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        ann = self._ann
        rarity = len(allowed) / count
        if ann is not None and rarity <= ALLOWED_OVERSAMPLE:
            positions = _candidates(ann, query, int(np.ceil(k * RERANK_FACTOR * rarity)) + 1)
            positions = positions[allowed[positions]] if positions is not None else None
            if positions is not None and len(positions) >= k:
                return _top(positions, np.asarray(self.vectors[positions], dtype=np.float32) @ query, k)
        if self.vectors.dtype == np.float32:
            sims = self.vectors @ query
        else:
            sims = _blocked_scan(self.vectors, query)
        positions = np.flatnonzero(allowed)
        return _top(positions, sims[positions], k)

    def neighbours(self, position: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` rows nearest to row ``position`` (itself excluded)."""
        return self.search(np.asarray(self.vectors[position], dtype=np.float32), k, exclude=position)


def _top(positions: np.ndarray, sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` of ``positions`` with the highest ``sims``, best first (ties: lower position first)."""
    top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
    order = np.lexsort((positions[top], -sims[top]))
    return positions[top][order].astype(np.int64), sims[top][order].astype(np.float32)


def _candidates(ann, query: np.ndarray, want: int) -> np.ndarray | None:
    _, ids = ann.search(query[None, :], want)
    ids = np.sort(ids[0][ids[0] >= 0])  # ascending: memory-mapped rows are read in file order
    return ids if len(ids) else None


def _has_faiss() -> bool:
    """Whether faiss is installed (not imported here: that takes 0.2 s, and the index is built in a thread)."""
    import importlib.util

    return importlib.util.find_spec("faiss") is not None


def _blocked_scan(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    sims = np.empty(len(vectors), dtype=np.float32)
    for lo in range(0, len(vectors), SCAN_BLOCK):
        sims[lo: lo + SCAN_BLOCK] = np.asarray(vectors[lo: lo + SCAN_BLOCK], dtype=np.float32) @ query
    return sims


def vectors_digest(vectors: np.ndarray) -> str:
    """A hash of the vectors' bytes (rounded to float16), naming their cached index."""
    h = hashlib.blake2b(digest_size=12)
    h.update(f"{vectors.shape}".encode())
    for lo in range(0, len(vectors), SCAN_BLOCK):
        h.update(np.ascontiguousarray(vectors[lo: lo + SCAN_BLOCK], dtype=np.float16).tobytes())
    return h.hexdigest()


def _ivf_index(vectors: np.ndarray, cache_dir: Path | None):
    """An IVF index with 8-bit scalar quantization over ``vectors`` (loaded from ``cache_dir`` if built before)."""
    import faiss

    n, dim = vectors.shape
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / "ann" / f"ivf-sq8-{vectors_digest(vectors)}.faiss"
        if path.is_file():
            try:
                index = faiss.read_index(str(path))
                index.nprobe = IVF_PROBE
                if index.ntotal == n:
                    return index
            except RuntimeError:  # a damaged file: build again
                pass
    lists = int(min(4096, max(64, 2 * np.sqrt(n))))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(quantizer, dim, lists, faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    train = np.sort(rng.choice(n, size=min(n, lists * 40), replace=False))
    index.train(np.asarray(vectors[train], dtype=np.float32))
    for lo in range(0, n, SCAN_BLOCK):
        index.add(np.asarray(vectors[lo: lo + SCAN_BLOCK], dtype=np.float32))
    index.nprobe = IVF_PROBE
    if path is not None:
        tmp = path.with_name(f".{uuid.uuid4().hex}.tmp")
        try:  # a read-only or full cache: the index still serves this session
            path.parent.mkdir(parents=True, exist_ok=True)
            faiss.write_index(index, str(tmp))
            os.replace(tmp, path)
        except (OSError, RuntimeError):
            tmp.unlink(missing_ok=True)
    return index
