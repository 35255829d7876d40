"""Clusterings kept between runs: reopening a file with the same vectors and settings skips the clustering.

:func:`~engine.clustering.cluster` is deterministic (same vectors, settings and
seed give the same labels), so its result can be stored under a key made of a
hash of the vectors (:func:`vectors_digest`), the settings and the source of
the clustering code (a change to the code clusters again).  The clustering's
merge tree is stored with it, so a cut at another number of clusters
(``ClusterSettings.clusters``, which is not part of the key) is read back and
cut, never clustered again.  Entries are ``.npz`` files (no pickle) written
atomically under ``<cache root>/clusterings/`` (:class:`~engine.npz_cache.NpzCache`);
a damaged one is ignored and recomputed.  A warm reopen reads the clustering back
instead of running ``auto`` again, the longest step of an open.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from engine.cluster_tree import tree_arrays, tree_of_arrays
from engine.clustering import Clustering, ClusterSettings, cluster
from engine.npz_cache import NpzCache, code_digest
from engine.progress import CancelToken, ProgressCallback

TREE_KEYS = ("merges", "heights", "row_leaf", "leaf_sizes", "leaf_first", "base")
#: Clusterings kept; the least recently used beyond this are removed.
KEPT = 16
_CODE = ("engine.clustering", "engine.auto_cluster", "engine.graph_cluster", "engine.density_cluster",
         "engine.unique_rows", "engine.cluster_tree", "engine.metrics")


def cached_cluster(X: np.ndarray, settings: ClusterSettings, root: Path | None,
                   progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
                   digest: bytes | None = None) -> Clustering:
    """``cluster(X, settings)``, read from ``<root>/clusterings/`` when it was computed before; ``root`` None: no cache.

    ``digest`` is :func:`vectors_digest` of ``X`` when the caller already has it (hashing reads every vector).
    The entry holds the method's own clustering and its tree; ``settings.clusters`` is a cut of it.
    """
    if root is None:
        return cluster(X, settings, progress, cancel)
    start = time.perf_counter()
    own = replace(settings, clusters=None)
    cache, key = NpzCache(root, "clusterings", KEPT), _key(digest or vectors_digest(X), own)
    result = cache.read(key, lambda arrays: _decode(arrays, own, len(X)))
    if result is not None:
        result.seconds = time.perf_counter() - start  # what this run spent: the hash and the read
    else:
        result = cluster(X, own, progress, cancel)
        cache.write(key, labels=result.labels, confidence=result.confidence, seconds=np.float64(result.seconds),
                    info=np.asarray(json.dumps(result.info, default=str)),
                    **{f"tree_{k}": v for k, v in tree_arrays(result.tree).items()})
    return result if settings.clusters is None else result.at_clusters(settings.clusters)


def vectors_digest(X: np.ndarray) -> bytes:
    """SHA-256 of the shape and float32 bytes of ``X``: names results derived from exactly these vectors."""
    h = hashlib.sha256(str(X.shape).encode())  # SHA-256: CPUs with SHA instructions hash faster with it than BLAKE2b
    h.update(np.ascontiguousarray(X, dtype=np.float32).view(np.uint8).ravel())
    return h.digest()


def _key(digest: bytes, settings: ClusterSettings) -> str:
    h = hashlib.blake2b(digest, digest_size=16)
    h.update(json.dumps(asdict(settings), sort_keys=True).encode())
    h.update(code_digest(*_CODE))
    return h.hexdigest()


def _decode(arrays, settings: ClusterSettings, n: int) -> Clustering | None:
    labels, confidence = arrays["labels"].astype(np.int64), arrays["confidence"].astype(np.float32)
    info = json.loads(str(arrays["info"]))
    seconds = round(float(arrays["seconds"]), 3)
    tree = tree_of_arrays({k: arrays[f"tree_{k}"] for k in TREE_KEYS}, n)
    if tree is None or labels.shape != (n,) or confidence.shape != (n,):
        return None
    return Clustering(labels, confidence, settings, {**info, "from_cache": True, "computed_in": seconds}, tree=tree)


def stored_tree(X: np.ndarray, settings: ClusterSettings, root: Path | None, digest: bytes | None = None):
    """The tree of the stored clustering of ``X`` with ``settings`` (its method's own), or None when none is
    stored: never clusters."""
    if root is None:
        return None
    own = replace(settings, clusters=None)
    found = NpzCache(root, "clusterings", KEPT).read(_key(digest or vectors_digest(X), own),
                                                     lambda arrays: _decode(arrays, own, len(X)))
    return None if found is None else found.tree
