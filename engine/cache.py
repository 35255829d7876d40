"""On-disk embedding cache keyed by model identity and a hash of each text.

Layout: ``<root>/embeddings/<model-key>/`` holds ``meta.json`` (what the model
is) and shard files ``*.qvec``.  A shard is written whole to a temporary
file, fsynced and renamed, so a killed process leaves either a complete shard
or none.  Each shard ends with a BLAKE2b checksum of everything before it; a
shard that is truncated or altered is moved to ``corrupt/`` and its texts are
embedded again, never used.

Shard format (little-endian): magic ``QTUIVEC1``, uint32 dim, uint32 dtype
(1 = float16), uint64 n, n × 16-byte text hashes, n × dim float16 vectors,
32-byte BLAKE2b digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import uuid
from pathlib import Path

import numpy as np

from engine.atomic import atomic_write
from engine.npz_cache import NpzCache, code_digest

MAGIC = b"QTUIVEC1"
HEADER = struct.Struct("<8sIIQ")
DIGEST_SIZE = 32
DTYPE_FLOAT16 = 1
#: Merge shards into one once a model directory holds more than this many.
COMPACT_AFTER = 16


def default_cache_root() -> Path:
    """``$QTUI_CACHE_DIR`` if set, else the user cache directory for qtui."""
    env = os.environ.get("QTUI_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("qtui", appauthor=False))


def text_hashes(texts: list[str]) -> np.ndarray:
    """16-byte BLAKE2b digest of each text's UTF-8 bytes, as an (n, 16) uint8 array."""
    blake = hashlib.blake2b
    joined = b"".join(blake(t.encode("utf-8", "surrogatepass"), digest_size=16).digest() for t in texts)
    return np.frombuffer(joined, dtype=np.uint8).reshape(len(texts), 16)


class EmbeddingCache:
    """The cached vectors of one model identity (name, weights, dimension, backend)."""

    def __init__(self, root: Path, model_key: str, meta: dict) -> None:
        self.dir = Path(root) / "embeddings" / model_key
        self.meta = meta
        self._keys = np.empty(0, dtype=np.uint64)  # sorted first 8 bytes of each hash
        self._hashes = np.empty((0, 16), dtype=np.uint8)  # in the order of _keys
        self._order = np.empty(0, dtype=np.int64)  # row of _vectors for each of _keys
        self._vectors: np.ndarray | None = None  # in shard order (never copied into key order: 77 MB at 100k)
        self._loaded = False
        self.corrupt: list[str] = []

    # ------------------------------------------------------------------ reading

    def load(self) -> None:
        """Read every shard, verify checksums, and build the hash index."""
        self._loaded = True
        if not self.dir.is_dir():
            return
        hashes, vectors = [], []
        for shard in sorted(self.dir.glob("*.qvec")):
            got = self._read_shard(shard)
            if got is not None:
                hashes.append(got[0])
                vectors.append(got[1])
        if not hashes:
            return
        self._index(np.concatenate(hashes), vectors[0] if len(vectors) == 1 else np.concatenate(vectors))

    def _index(self, all_hashes: np.ndarray, all_vectors: np.ndarray) -> None:
        keys = all_hashes[:, :8].copy().view("<u8").ravel()
        order = np.argsort(keys, kind="stable")
        self._keys, self._hashes, self._order, self._vectors = keys[order], all_hashes[order], order, all_vectors

    def _read_shard(self, shard: Path) -> tuple[np.ndarray, np.ndarray] | None:
        try:
            data = shard.read_bytes()
        except FileNotFoundError:  # compacted away by another process meanwhile
            return None
        except OSError:
            self._set_aside(shard)
            return None
        parsed = parse_shard(data)
        if parsed is None:
            self._set_aside(shard)
            return None
        dim = self.meta.get("dim")
        if dim is not None and parsed[1].shape[1] != dim:
            self._set_aside(shard)
            return None
        return parsed

    def _set_aside(self, shard: Path) -> None:
        self.corrupt.append(shard.name)
        aside = self.dir / "corrupt"
        try:
            aside.mkdir(exist_ok=True)
            os.replace(shard, aside / shard.name)
        except OSError:
            pass

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (found mask, vectors of the found rows in order) for (n, 16) ``hashes``."""
        found, pos = self._find(hashes)
        if pos is None:
            return found, np.empty((0, self.meta.get("dim") or 0), dtype=np.float16)
        return found, self._vectors[self._order[pos[found]]]

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Which of (n, 16) ``hashes`` have a vector here (nothing is gathered)."""
        return self._find(hashes)[0]

    def _find(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(found mask, index position of each hash, or None when nothing can be found)."""
        if not self._loaded:
            self.load()
        n = len(hashes)
        if self._vectors is None or n == 0:
            return np.zeros(n, dtype=bool), None
        keys = np.ascontiguousarray(hashes[:, :8]).view("<u8").ravel()
        pos = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        return (self._keys[pos] == keys) & (self._hashes[pos] == hashes).all(axis=1), pos

    def release(self) -> None:
        """Forget the vectors read into memory (they stay on disk): later additions are only written, not
        indexed in memory too, and a later lookup reads the shards again."""
        self._keys = np.empty(0, dtype=np.uint64)
        self._hashes = np.empty((0, 16), dtype=np.uint8)
        self._order = np.empty(0, dtype=np.int64)
        self._vectors = None
        self._loaded = False

    def __len__(self) -> int:
        if not self._loaded:
            self.load()
        return len(self._keys)

    # ------------------------------------------------------------------ writing

    def add(self, hashes: np.ndarray, vectors: np.ndarray) -> None:
        """Store one batch of vectors as a new shard (atomically); they become visible to lookups."""
        if len(hashes) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float16)
        self.dir.mkdir(parents=True, exist_ok=True)
        meta_path = self.dir / "meta.json"
        if not meta_path.exists():
            atomic_write(meta_path, json.dumps(self.meta, indent=1, sort_keys=True).encode())
        atomic_write(self.dir / f"{uuid.uuid4().hex}.qvec", build_shard(hashes, vectors))
        self._merge_in_memory(hashes, vectors)

    def _merge_in_memory(self, hashes: np.ndarray, vectors: np.ndarray) -> None:
        if not self._loaded:
            return
        known = np.empty_like(self._hashes)
        known[self._order] = self._hashes  # back in the order of _vectors
        self._index(np.concatenate([known, hashes]),
                    vectors if self._vectors is None else np.concatenate([self._vectors, vectors]))

    def compact(self, force: bool = False) -> bool:
        """Merge all shards into one when there are many; returns whether it did.

        The shards are read twice, one at a time (their keys, then the vectors kept), and the merged
        shard is written piece by piece: holding them all and their merge at once took several copies
        of every vector in the cache.
        """
        shards = sorted(self.dir.glob("*.qvec")) if self.dir.is_dir() else []
        if len(shards) <= 1 or (len(shards) <= COMPACT_AFTER and not force):
            return False
        read, hashes, dim = [], [], 0
        for shard in shards:
            got = self._read_shard(shard)
            if got is not None:
                read.append(shard)
                hashes.append(np.array(got[0]))
                dim = got[1].shape[1]
        if not hashes:
            return False
        all_hashes = np.concatenate(hashes)
        _, first = np.unique(all_hashes.view("V16").ravel(), return_index=True)  # a sort of 16-byte keys
        first.sort()
        starts = np.cumsum([0] + [len(h) for h in hashes])

        def kept_vectors():
            for shard, lo, hi in zip(read, starts[:-1], starts[1:]):
                got = self._read_shard(shard)
                if got is None or len(got[0]) != hi - lo:
                    raise OSError(f"{shard.name} changed while the cache was compacted")
                yield got[1][first[(first >= lo) & (first < hi)] - lo]

        try:
            write_shard(self.dir / f"{uuid.uuid4().hex}.qvec", all_hashes[first], kept_vectors(), dim)
        except OSError:  # a shard vanished or changed meanwhile: the shards stay as they are
            return False
        for shard in read:
            try:
                shard.unlink()
            except FileNotFoundError:
                pass
        return True


def write_shard(path: Path, hashes: np.ndarray, blocks, dim: int) -> None:
    """Write, atomically and piece by piece, the shard :func:`build_shard` makes of ``hashes`` and the float16
    vectors of width ``dim`` that the iterable ``blocks`` yields in the same order."""
    from engine.atomic import atomic_target

    n = len(hashes)
    digest = hashlib.blake2b(digest_size=DIGEST_SIZE)
    written = 0
    with atomic_target(path) as tmp, open(tmp, "wb") as f:
        for piece in (HEADER.pack(MAGIC, dim, DTYPE_FLOAT16, n), np.ascontiguousarray(hashes, dtype=np.uint8).tobytes()):
            digest.update(piece)
            f.write(piece)
        for block in blocks:
            piece = np.ascontiguousarray(block, dtype="<f2").tobytes()
            written += len(piece)
            digest.update(piece)
            f.write(piece)
        if written != n * dim * 2:
            raise OSError(f"{path.name}: {written:,} bytes of vectors for {n:,} rows of {dim}")
        f.write(digest.digest())


def build_shard(hashes: np.ndarray, vectors: np.ndarray) -> bytes:
    """Serialise one shard: header, hashes, float16 vectors, checksum."""
    n, dim = vectors.shape
    body = (HEADER.pack(MAGIC, dim, DTYPE_FLOAT16, n)
            + np.ascontiguousarray(hashes, dtype=np.uint8).tobytes()
            + np.ascontiguousarray(vectors, dtype="<f2").tobytes())
    return body + hashlib.blake2b(body, digest_size=DIGEST_SIZE).digest()


def parse_shard(data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """Return (hashes, vectors) of a shard, or None if it is truncated, altered or not a shard."""
    if len(data) < HEADER.size + DIGEST_SIZE:
        return None
    magic, dim, dtype, n = HEADER.unpack_from(data)
    if magic != MAGIC or dtype != DTYPE_FLOAT16 or dim == 0:
        return None
    expected = HEADER.size + n * 16 + n * dim * 2 + DIGEST_SIZE
    if len(data) != expected:
        return None
    body = memoryview(data)[:-DIGEST_SIZE]
    if hashlib.blake2b(body, digest_size=DIGEST_SIZE).digest() != data[-DIGEST_SIZE:]:
        return None
    hashes = np.frombuffer(data, dtype=np.uint8, count=n * 16, offset=HEADER.size).reshape(n, 16)
    vectors = np.frombuffer(data, dtype="<f2", count=n * dim, offset=HEADER.size + n * 16).reshape(n, dim)
    return hashes, vectors


#: Term-count matrices kept at most (the oldest are removed).
TERMS_KEPT = 16


def cached_document_terms(texts: list[str], compute, root: Path | None):
    """``compute(texts)`` — (csr term counts, vocabulary) — read from ``<root>/terms/`` when the same
    texts were counted before, else computed and stored (atomically).  ``root`` None: no cache."""
    if root is None:
        return compute(texts)
    import scipy.sparse as sp

    h = hashlib.blake2b(text_hashes(list(texts)).tobytes(), digest_size=16)
    h.update(code_digest("engine.tokenize", "engine.keywords"))
    cache, key = NpzCache(root, "terms", TERMS_KEPT), h.hexdigest()

    def decode(arrays):
        matrix = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"]))
        return matrix, arrays["vocabulary"].astype(object)

    found = cache.read(key, decode)
    if found is not None:
        return found
    matrix, vocabulary = compute(texts)
    cache.write(key, data=matrix.data, indices=matrix.indices, indptr=matrix.indptr,
                shape=np.asarray(matrix.shape), vocabulary=np.asarray(vocabulary, dtype=str))
    return matrix, vocabulary
