"""Exact duplicate rows of a float32 matrix, found without sorting the rows themselves.

Used where many copies of one text would cost work or skew a result (``auto`` clusters each distinct
vector once; the near-duplicate search compares each distinct vector once).  ``np.unique`` over whole
rows copies the matrix twice (3 GB at 1M rows of 384 float32); a 128-bit key per row is 16 bytes.
"""

from __future__ import annotations

import numpy as np


def row_keys(X: np.ndarray, block: int = 16_384) -> np.ndarray:
    """A 128-bit key per row of float32 ``X``, the same for rows with the same bytes (two sums of the row's
    32-bit words times fixed odd multipliers, modulo 2^64)."""
    words = X.view(np.uint32)
    mult = np.random.default_rng(12345).integers(1, 2**62, size=(words.shape[1], 2), dtype=np.uint64) | np.uint64(1)
    keys = np.empty((len(X), 2), np.uint64)
    for lo in range(0, len(X), block):
        keys[lo: lo + block] = words[lo: lo + block].astype(np.uint64) @ mult
    return np.ascontiguousarray(keys).view(np.dtype((np.void, 16))).ravel()


def unique_rows(X, block: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the first copy of every distinct row (in row order) and each row's copy.

    ``X``: float32 rows (an array, or anything that gives float32 rows by index such as
    :class:`engine.auto_cluster.UnitRows`), read a block at a time.  Rows are grouped by a
    128-bit key (:func:`row_keys`), and every row is checked byte for byte against the first row of its
    group; only if two different rows shared a key are the rows themselves sorted (``np.unique`` over
    whole rows copies the matrix twice: 3 GB at 1M rows).
    """
    if len(X) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys = np.concatenate([row_keys(np.ascontiguousarray(X[lo: lo + block], dtype=np.float32))
                           for lo in range(0, len(X), block)])
    _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    inv = inv.ravel()
    same = all(np.array_equal(np.asarray(X[lo: lo + block], dtype=np.float32).view(np.uint32),
                              np.asarray(X[first[inv[lo: lo + block]]], dtype=np.float32).view(np.uint32))
               for lo in range(0, len(X), block))
    if not same:  # two different rows with one key (never seen): sort the rows themselves
        whole = np.ascontiguousarray(X[np.arange(len(X))], dtype=np.float32)
        _, first, inv = np.unique(whole.view(np.dtype((np.void, 4 * whole.shape[1]))).ravel(),
                                  return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # distinct rows in order of first appearance
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return first[order].astype(np.int64), rank[inv.ravel()]
