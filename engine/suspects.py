"""Suspects: rows whose nearest neighbours or an out-of-fold classifier put them in another group than theirs.

The idea behind confident learning: a row whose group most of its neighbours
do not share, or that a classifier trained without it puts elsewhere with
confidence, is likely in the wrong group.  Groups are plain integer codes per
row (a review uses one code per label, and per unnamed cluster); ``-1`` is no
group (noise, empty texts): such rows neither vote, train nor become suspects.

Two opinions, each a probability per group for every row:

- **neighbours**: the share of a row's ``k`` nearest rows (cosine, itself
  excluded) in each group;
- **classifier**: a logistic regression fitted on the other folds (``folds``,
  stratified, each group capped at ``max_per_class`` rows for the fit), so no
  row is judged by a model that saw it.

``method`` "both" averages them.  A candidate row is a suspect when the group
with the highest probability is not its own; suspects are ranked by how much
more likely that group is than its own (the margin), most first.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from engine.progress import CancelToken, Progress, ProgressCallback, check

METHODS = ("both", "neighbours", "classifier")
NEIGHBOURS = 10
FOLDS = 3
MAX_PER_CLASS = 300
C = 10.0
#: Alternatives kept per suspect (the app's digits 1–9).
ALTERNATIVES = 9
BLOCK = 1024


@dataclass
class Suspects:
    """Suspect rows, ranked (positions in the vectors given), with their group, the likely group and why."""

    positions: np.ndarray
    current: np.ndarray  # the row's group code
    likely: np.ndarray  # the group code it most likely belongs to
    confidence: np.ndarray  # probability of the likely group
    margin: np.ndarray  # that probability minus the probability of the row's own group
    alternatives: np.ndarray  # (n, ALTERNATIVES) group codes, most likely first (the likely one first), -1 padded
    alternative_probability: np.ndarray  # (n, ALTERNATIVES) their probabilities
    method: str
    checked: int  # candidate rows looked at
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.positions)

    def take(self, keep: np.ndarray) -> "Suspects":
        """Only the suspects ``keep`` (a bool mask or indices) selects, in their order."""
        return Suspects(self.positions[keep], self.current[keep], self.likely[keep], self.confidence[keep],
                        self.margin[keep], self.alternatives[keep], self.alternative_probability[keep], self.method,
                        self.checked, self.seconds)


def nearest_neighbours(vectors: np.ndarray, k: int = NEIGHBOURS, progress: ProgressCallback | None = None,
                       cancel: CancelToken | None = None) -> np.ndarray:
    """(n, k) positions of each row's ``k`` most similar rows (unit vectors, cosine), itself excluded; an exact
    scan by blocks of rows (its work grows with the square of the rows)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    k = max(0, min(k, n - 1))
    out = np.empty((n, k), dtype=np.int64)
    for lo in range(0, n, BLOCK):
        check(cancel)
        if progress:
            progress(Progress("suspects", lo, n, message="nearest neighbours"))
        hi = min(n, lo + BLOCK)
        sims = vectors[lo:hi] @ vectors.T
        sims[np.arange(hi - lo), np.arange(lo, hi)] = -np.inf
        if k:
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable")
            out[lo:hi] = np.take_along_axis(top, order, axis=1)
    return out


def find_suspects(vectors: np.ndarray, groups: np.ndarray, candidates: np.ndarray | None = None, *,
                  method: str = "both", neighbours: np.ndarray | None = None, folds: int = FOLDS,
                  max_per_class: int = MAX_PER_CLASS, seed: int = 0, progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> Suspects:
    """The suspects among ``candidates`` (a bool mask over the rows; default every grouped row), ranked.

    ``groups``: a code >= 0 per row of ``vectors``, -1 for none.  ``neighbours``: :func:`nearest_neighbours`
    of ``vectors`` when already known (it does not depend on the groups).
    """
    if method not in METHODS:
        raise ValueError(f"method {method!r}: choose one of {', '.join(METHODS)}")
    start = time.perf_counter()
    vectors = np.asarray(vectors, dtype=np.float32)
    groups = np.asarray(groups, dtype=np.int64)
    if len(groups) != len(vectors):
        raise ValueError("one group per row expected")
    grouped = groups >= 0
    candidates = grouped if candidates is None else np.asarray(candidates, dtype=bool) & grouped
    codes = np.unique(groups[grouped])
    index = np.full(int(groups.max()) + 1 if len(codes) else 0, -1, dtype=np.int64)
    index[codes] = np.arange(len(codes))
    dense = np.where(grouped, index[np.maximum(groups, 0)], -1)  # group codes as 0..G-1
    positions = np.flatnonzero(candidates)
    if len(codes) < 2 or not len(positions):
        return _empty(method, len(positions), time.perf_counter() - start)
    opinions = []
    if method in ("both", "neighbours"):
        if neighbours is None:
            neighbours = nearest_neighbours(vectors, progress=progress, cancel=cancel)
        opinions.append(_vote(neighbours[positions], dense, len(codes)))
    if method in ("both", "classifier"):
        opinions.append(_out_of_fold(vectors, dense, positions, len(codes), folds, max_per_class, seed,
                                     progress, cancel))
    proba = opinions[0] if len(opinions) == 1 else (opinions[0] + opinions[1]) / 2
    own = dense[positions]
    own_p = proba[np.arange(len(positions)), own]
    best = proba.argmax(axis=1)
    best_p = proba[np.arange(len(positions)), best]
    suspect = (best != own) & (best_p > own_p)
    rows = np.flatnonzero(suspect)
    margin = (best_p - own_p)[rows]
    order = rows[np.lexsort((positions[rows], -margin))]
    width = min(ALTERNATIVES, len(codes))
    top = np.argsort(-proba[order], axis=1, kind="stable")[:, :width]
    alternatives = np.full((len(order), ALTERNATIVES), -1, dtype=np.int64)
    alt_p = np.zeros((len(order), ALTERNATIVES), dtype=np.float32)
    alternatives[:, :width] = codes[top]
    alt_p[:, :width] = np.take_along_axis(proba[order], top, axis=1)
    return Suspects(positions[order], codes[own[order]], codes[best[order]], best_p[order].astype(np.float32),
                    (best_p - own_p)[order].astype(np.float32), alternatives, alt_p, method, len(positions),
                    time.perf_counter() - start)


def _empty(method: str, checked: int, seconds: float) -> Suspects:
    none = np.empty(0, dtype=np.int64)
    return Suspects(none, none, none, np.empty(0, np.float32), np.empty(0, np.float32),
                    np.empty((0, ALTERNATIVES), np.int64), np.empty((0, ALTERNATIVES), np.float32), method, checked,
                    seconds)


def _vote(neighbours: np.ndarray, dense: np.ndarray, n_groups: int) -> np.ndarray:
    """Per row, the share of its neighbours in each group (neighbours without a group do not vote)."""
    votes = dense[neighbours]
    n, k = votes.shape
    counted = votes >= 0
    flat = (np.arange(n)[:, None] * n_groups + np.maximum(votes, 0))[counted]
    counts = np.bincount(flat, minlength=n * n_groups).reshape(n, n_groups).astype(np.float32)
    total = counted.sum(axis=1, keepdims=True)
    return counts / np.maximum(total, 1)


def _out_of_fold(vectors: np.ndarray, dense: np.ndarray, positions: np.ndarray, n_groups: int, folds: int,
                 max_per_class: int, seed: int, progress: ProgressCallback | None,
                 cancel: CancelToken | None) -> np.ndarray:
    """Per candidate row, the group probabilities of a logistic regression fitted on the folds without it."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    grouped = np.flatnonzero(dense >= 0)
    fold = np.empty(len(dense), dtype=np.int64)
    for g in range(n_groups):  # stratified: each group's rows dealt round the folds in random order
        members = rng.permutation(grouped[dense[grouped] == g])
        fold[members] = np.arange(len(members)) % folds
    proba = np.zeros((len(positions), n_groups), dtype=np.float32)
    for f in range(folds):
        check(cancel)
        if progress:
            progress(Progress("suspects", f, folds, message="classifier"))
        train = grouped[fold[grouped] != f]
        train = _capped(train, dense, max_per_class, rng)
        present = np.unique(dense[train])
        judged = np.flatnonzero(fold[positions] == f)
        if not len(judged):
            continue
        if len(present) < 2:  # nothing to tell apart: the one group seen
            proba[judged, present] = 1.0 if len(present) else 0.0
            continue
        model = LogisticRegression(C=C, max_iter=200, tol=1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings: good enough to rank suspects
            model.fit(vectors[train], dense[train])
        for lo in range(0, len(judged), 8 * BLOCK):
            part = judged[lo: lo + 8 * BLOCK]
            proba[np.ix_(part, model.classes_)] = model.predict_proba(vectors[positions[part]])
    return proba


def _capped(rows: np.ndarray, dense: np.ndarray, max_per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``rows`` with each group cut to a random ``max_per_class`` of its rows."""
    keep = []
    for g in np.unique(dense[rows]):
        members = rows[dense[rows] == g]
        keep.append(members if len(members) <= max_per_class else rng.choice(members, max_per_class, replace=False))
    return np.sort(np.concatenate(keep))
