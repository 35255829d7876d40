"""Graph helpers for :mod:`engine.auto_cluster`, in numpy/scipy only: exact kNN search, kNN
graphs and multilevel Louvain modularity communities with Leiden's connectedness guarantee.

Louvain's local moving is vectorised: nodes are visited in random blocks; every node of a block
picks the neighbouring community with the best modularity gain (one sparse product per block),
and of those moves only the ones whose source and target communities no better move of the same
block touches are applied.  Their gains are then exact, so modularity never decreases, and a
sweep costs O(edges) numpy work instead of a Python loop over nodes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from engine.progress import CancelToken, check


#: Bytes of one piece of the query-by-rows similarity matrix in :func:`knn`.
MAX_SIM_BYTES = 32 * 2**20
#: Query-row pairs from which :func:`knn` imports torch for its top-k (a smaller search is done before
#: the import would be).
TORCH_MIN_PAIRS = 200_000_000


def knn(Z: np.ndarray, k: int, *, Q: np.ndarray | None = None, exclude_self: bool = True,
        block: int = 2048, cancel: CancelToken | None = None,
        on_block: Callable[[], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours by inner product (cosine for unit rows).

    Returns ``(idx, sim)``, both (m, k), best first, for the query rows ``Q`` (default ``Z``);
    with ``exclude_self`` a row never lists itself (only meaningful when ``Q`` is ``Z``).
    ``on_block`` is called after each block of queries.
    O(m * n * d) time, O(n) memory (pieces of at most :data:`MAX_SIM_BYTES`).  Uses torch's top-k
    (faster than numpy's argpartition) when torch is installed and either already imported or the
    search has at least :data:`TORCH_MIN_PAIRS` pairs (enough to repay importing it), numpy
    otherwise; same result either way up to ties.
    """
    self_query = Q is None or Q is Z
    Q = Z if Q is None else Q
    m, n = len(Q), len(Z)
    k = max(0, min(k, n - (1 if exclude_self and self_query else 0)))
    idx = np.empty((m, k), np.int64)
    sim = np.empty((m, k), np.float32)
    if k == 0 or m == 0:
        return idx, sim
    torch = _torch() if "torch" in sys.modules or m * n >= TORCH_MIN_PAIRS else None
    Zc = np.ascontiguousarray(Z, dtype=np.float32)
    # the query rows go through in pieces whose similarity matrix is at most ~32 MB (a whole block's
    # grows with n, and top-k copies it)
    piece = max(16, (MAX_SIM_BYTES // (4 * n)) // 16 * 16)
    for s in range(0, m, block):
        check(cancel)
        for lo in range(s, min(s + block, m), piece):
            hi = min(lo + piece, s + block, m)
            q = np.ascontiguousarray(Q[lo:hi], dtype=np.float32)
            r = np.arange(len(q))
            S = q @ Zc.T
            if exclude_self and self_query:
                S[r, lo + r] = -np.inf
            if torch is not None:
                v, i = torch.topk(torch.from_numpy(S), k, dim=1)
                idx[lo:hi], sim[lo:hi] = i.numpy(), v.numpy()
            else:
                p = np.argpartition(S, n - k, axis=1)[:, n - k:]
                ps = np.take_along_axis(S, p, 1)
                o = np.argsort(-ps, axis=1, kind="stable")
                idx[lo:hi] = np.take_along_axis(p, o, 1)
                sim[lo:hi] = np.take_along_axis(ps, o, 1)
        if on_block is not None:
            on_block()
    return idx, sim


def _torch():
    """The torch module, or None when it is not installed (numpy is used instead)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is an optional speed-up here
        return None
    return torch


def knn_graph(idx: np.ndarray, w: np.ndarray) -> sp.csr_matrix:
    """Symmetric weighted graph from a kNN list: an edge if either end lists the other (max weight)."""
    n, k = idx.shape
    rows = np.repeat(np.arange(n), k)
    A = sp.csr_matrix((w.ravel().astype(np.float64), (rows, idx.ravel())), shape=(n, n))
    A = A.maximum(A.T).tocsr()
    A.setdiag(0)
    A.eliminate_zeros()
    A.sort_indices()
    return A


def _onehot(c: np.ndarray, K: int) -> sp.csr_matrix:
    n = len(c)
    return sp.csr_matrix((np.ones(n), (np.arange(n), c)), shape=(n, K))


def relabel(c: np.ndarray) -> np.ndarray:
    """Renumber labels 0..K-1 in order of first appearance (deterministic)."""
    _, first, inv = np.unique(c, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    return order[inv].astype(np.int64)


def local_moving(A: sp.csr_matrix, c: np.ndarray, gamma: float, rng: np.random.Generator,
                 *, block_size: int = 1024, max_sweeps: int = 30, tol: float = 1e-3) -> np.ndarray:
    """Move nodes between communities to raise modularity (resolution ``gamma``) until stable.

    ``A`` may carry self-loops (aggregated graphs); ``c`` is the starting partition.
    """
    n = A.shape[0]
    c = c.copy()
    deg = np.asarray(A.sum(axis=1)).ravel()
    m2 = deg.sum()
    if n < 2 or m2 <= 0:
        return c
    Aoff = A.copy()
    Aoff.setdiag(0)
    Aoff.eliminate_zeros()
    Aoff = Aoff.tocsr()
    K = int(c.max()) + 1
    K = max(K, n)  # room for any label a node might take (its own index as a singleton)
    tot = np.bincount(c, weights=deg, minlength=K)
    nb = max(1, -(-n // block_size))
    for _ in range(max_sweeps):
        perm = rng.permutation(n)
        moved = 0
        for part in np.array_split(perm, nb):
            if len(part) == 0:
                continue
            part = np.sort(part)
            M = (Aoff[part] @ _onehot(c, K)).tocsr()
            M.sort_indices()
            rows = np.repeat(np.arange(len(part)), np.diff(M.indptr))
            comm = M.indices
            ki = deg[part][rows]
            own = c[part]
            tot_b = tot[comm] - np.where(comm == own[rows], ki, 0.0)
            gain = M.data - gamma * ki * tot_b / m2
            # gain of staying (own community, node removed from it); 0 connections if none listed
            stay = -gamma * deg[part] * (tot[own] - deg[part]) / m2
            is_own = comm == own[rows]
            stay_w = np.zeros(len(part))
            np.add.at(stay_w, rows[is_own], M.data[is_own])
            stay = stay + stay_w
            best_gain = np.full(len(part), -np.inf)
            np.maximum.at(best_gain, rows, gain)
            has = np.diff(M.indptr) > 0
            # first community reaching the best gain (indices sorted -> lowest label wins ties)
            hit = np.flatnonzero(gain >= best_gain[rows])
            _, at = np.unique(rows[hit], return_index=True)
            first = np.full(len(part), -1)
            first[rows[hit[at]]] = comm[hit[at]]
            go = has & (best_gain > stay + 1e-12) & (first != own)
            if not go.any():
                continue
            nodes, tgt = part[go], first[go]
            # accept only moves whose (source, target) communities no better move in this block
            # touches: then every accepted gain is exact and modularity never goes down
            src = c[nodes]
            order = np.argsort(-(best_gain[go] - stay[go]), kind="stable")
            nodes, src, tgt = nodes[order], src[order], tgt[order]
            pos = np.arange(len(nodes))
            firstpos = np.full(K, len(nodes))
            np.minimum.at(firstpos, np.concatenate([src, tgt]), np.concatenate([pos, pos]))
            ok = (firstpos[src] == pos) & (firstpos[tgt] == pos)
            nodes, tgt = nodes[ok], tgt[ok]
            np.subtract.at(tot, c[nodes], deg[nodes])
            np.add.at(tot, tgt, deg[nodes])
            c[nodes] = tgt
            moved += len(nodes)
        if moved <= tol * n:
            break
    return c


def louvain(A: sp.csr_matrix, gamma: float = 1.0, *, seed: int = 0, max_levels: int = 20,
            cancel: CancelToken | None = None) -> np.ndarray:
    """Multilevel Louvain on a symmetric weighted graph; returns labels 0..K-1.

    After the levels, a final local-moving pass on the original graph refines single nodes, and
    communities that are not connected are split into their components (the Leiden guarantee).
    """
    n = A.shape[0]
    if n == 0:
        return np.zeros(0, np.int64)
    rng = np.random.default_rng(seed)
    part = np.arange(n)
    G = A.tocsr()
    for _ in range(max_levels):
        check(cancel)
        c = local_moving(G, np.arange(G.shape[0]), gamma, rng)
        c = relabel(c)
        K = int(c.max()) + 1
        if K == G.shape[0]:
            break
        part = c[part]
        P = _onehot(c, K)
        G = (P.T @ G @ P).tocsr()
    check(cancel)
    part = local_moving(A.tocsr(), relabel(part), gamma, rng)
    return split_disconnected(A, relabel(part))


def split_disconnected(A: sp.csr_matrix, c: np.ndarray) -> np.ndarray:
    """Split every community into its connected components within the graph ``A``."""
    A = A.tocoo()
    keep = c[A.row] == c[A.col]
    B = sp.csr_matrix((np.ones(keep.sum()), (A.row[keep], A.col[keep])), shape=A.shape)
    _, comp = connected_components(B, directed=False)
    return relabel(comp)


def modularity(A: sp.csr_matrix, c: np.ndarray, gamma: float = 1.0) -> float:
    """Newman modularity of labels ``c`` on graph ``A`` at resolution ``gamma``."""
    deg = np.asarray(A.sum(axis=1)).ravel()
    m2 = deg.sum()
    A = A.tocoo()
    inside = A.data[c[A.row] == c[A.col]].sum()
    tot = np.bincount(c, weights=deg)
    return float(inside / m2 - gamma * np.sum(tot ** 2) / m2 ** 2)
