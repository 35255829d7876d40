"""Classify the rest: learn the accepted clusters from their members and propose labels for the other rows.

A multinomial logistic regression on the embeddings is fitted on the rows of
the accepted clusters (their cluster id is the class).  Its accuracy is first
measured on a stratified held-out share of those rows (each cluster with at
least two rows gives at least one held-out row), then it is refitted on all of
them (warm-started) and proposes, for every other embedded row — noise,
unreviewed and rejected clusters — the most likely accepted cluster with its
probability as confidence.  Clusters above ``max_per_class`` rows are
subsampled for training, so a fit takes seconds even at 100k rows.

Rows of clusters that are not accepted mostly belong to none of the accepted
ones, and a classifier that must pick one of them is confidently wrong about
them.  So a sample of those rows trains one more class, "none of these"; rows
it wins get no proposal.  That keeps most proposals right at the cost of fewer
of them (tests/test_classify.py checks both).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from engine.errors import QtuiError

HOLDOUT = 0.2
MAX_PER_CLASS = 1000
C = 10.0
#: The "none of these" class: label, and its sample size in multiples of ``max_per_class``.
OTHER = -3
OTHER_PER_CLASS = 3


class NotEnoughLabels(QtuiError):
    """Fewer than two accepted clusters (or labeled rows): there is nothing to tell apart."""

    exit_code = 2


@dataclass
class Proposals:
    """Proposed cluster and confidence per row, and how well the classifier did on held-out labeled rows."""

    rows: np.ndarray  # corpus rows (positions in ``vectors`` when no ``rows`` were given)
    cluster_ids: np.ndarray
    confidence: np.ndarray  # probability of the proposed cluster
    accuracy: float | None  # on the held-out labeled rows; None when no cluster had two rows
    heldout: int
    trained_on: int
    classes: list[int]
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    unmatched: int = 0  # candidate rows the classifier put in "none of these" (no proposal)
    heldout_none: float = 0.0  # share of held-out labeled rows it called "none of these" (counted wrong)

    def __len__(self) -> int:
        return len(self.rows)

    def above(self, min_confidence: float) -> "Proposals":
        """Only the proposals with confidence >= ``min_confidence``."""
        keep = self.confidence >= min_confidence
        return Proposals(self.rows[keep], self.cluster_ids[keep], self.confidence[keep], self.accuracy,
                         self.heldout, self.trained_on, self.classes, self.seconds, self.notes, self.unmatched,
                         self.heldout_none)

    def describe(self) -> str:
        """E.g. '812 proposals from 23 accepted clusters; held-out accuracy 96.8% (161 rows)'."""
        none = f", {self.heldout_none:.0%} called none of these" if self.heldout_none else ""
        acc = (f"held-out accuracy {self.accuracy:.1%} ({self.heldout} row{'s' * (self.heldout != 1)}{none})"
               if self.accuracy is not None
               else "no held-out accuracy (every accepted cluster has a single row)")
        none = f", {self.unmatched} row{'s' * (self.unmatched != 1)} like none of them" if self.unmatched else ""
        classes = len(self.classes)
        return (f"{len(self)} proposal{'s' * (len(self) != 1)} from {classes} accepted cluster{'s' * (classes != 1)}"
                f"{none}; {acc}")


def propose_labels(vectors: np.ndarray, labels: np.ndarray, accepted_cluster_ids, seed: int = 0, *,
                   rows: np.ndarray | None = None, skip: np.ndarray | None = None,
                   ignore: np.ndarray | None = None, holdout: float = HOLDOUT,
                   max_per_class: int = MAX_PER_CLASS, other: bool = True) -> Proposals:
    """Fit on the rows of ``accepted_cluster_ids`` and propose labels for the other rows.

    ``labels`` has one cluster id (or -1 noise, -2 empty) per row.  Without
    ``rows``, ``vectors[i]`` is row ``i``; with ``rows`` (the corpus rows that
    were embedded, as ``Session.rows``), ``vectors[i]`` is corpus row
    ``rows[i]`` and ``labels`` covers the whole corpus.  ``skip`` (a bool mask
    over the same rows as ``labels``) excludes rows from getting proposals, e.g.
    rows the person placed by hand; ``ignore`` (same shape) excludes rows from
    both training and proposals, e.g. rows labeled by an earlier proposal.
    With ``other`` (default), rows of the clusters that are not accepted (a
    sample of them) train one more class, "none of these": a row it wins gets
    no proposal (counted in ``Proposals.unmatched``).
    """
    start = time.perf_counter()
    vectors = np.asarray(vectors, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    rows = np.arange(len(vectors)) if rows is None else np.asarray(rows, dtype=np.int64)
    if len(rows) != len(vectors):
        raise ValueError("one vector per row expected")
    y_all = labels[rows]
    accepted = np.unique(np.asarray(list(accepted_cluster_ids), dtype=np.int64))
    accepted = accepted[accepted >= 0]
    ignored = np.zeros(len(rows), bool) if ignore is None else np.asarray(ignore, dtype=bool)[rows]
    labeled = np.isin(y_all, accepted) & ~ignored
    present = np.unique(y_all[labeled])
    if len(present) < 2:
        raise NotEnoughLabels(f"the classifier needs at least two accepted clusters to tell apart "
                              f"({len(present)} accepted with rows); accept more clusters first")
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    train, test = _stratified_split(np.flatnonzero(labeled), y_all, holdout, max_per_class, rng, notes)
    y_fit = y_all.copy()
    if other:
        pool = np.flatnonzero((y_all >= 0) & ~np.isin(y_all, accepted) & ~ignored)
        if len(pool):
            pool = np.sort(rng.choice(pool, min(len(pool), OTHER_PER_CLASS * max_per_class), replace=False))
            y_fit[pool] = OTHER
            train = np.sort(np.concatenate([train, pool]))
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=300, tol=1e-4, warm_start=True)
    accuracy, heldout_none = None, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings: the fit is good enough for proposals
        if len(test):
            model.fit(vectors[train], y_fit[train])
            predicted = model.predict(vectors[test])
            accuracy = float((predicted == y_all[test]).mean())
            heldout_none = float((predicted == OTHER).mean())
        everything = np.sort(np.concatenate([train, test]))
        model.fit(vectors[everything], y_fit[everything])
    candidates = ~np.isin(y_all, accepted) & ~ignored & (y_all >= -1)
    if skip is not None:
        candidates &= ~np.asarray(skip, dtype=bool)[rows]
    positions = np.flatnonzero(candidates)
    cluster_ids, confidence = np.empty(0, np.int64), np.empty(0, np.float32)
    unmatched = 0
    if len(positions):
        proba = model.predict_proba(vectors[positions])
        best = proba.argmax(axis=1)
        cluster_ids = model.classes_[best].astype(np.int64)
        confidence = proba[np.arange(len(positions)), best].astype(np.float32)
        matched = cluster_ids != OTHER
        unmatched = int((~matched).sum())
        positions, cluster_ids, confidence = positions[matched], cluster_ids[matched], confidence[matched]
    trained = int(np.isin(y_fit[everything], present).sum())
    return Proposals(rows[positions], cluster_ids, confidence, accuracy, len(test), trained,
                     present.tolist(), time.perf_counter() - start, notes, unmatched, heldout_none)


def _stratified_split(labeled: np.ndarray, y: np.ndarray, holdout: float, max_per_class: int,
                      rng: np.random.Generator, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per class: shuffle, keep at most ``max_per_class``, hold out a share (>= 1 row when it has >= 2)."""
    train, test = [], []
    capped = 0
    for c in np.unique(y[labeled]):
        members = rng.permutation(labeled[y[labeled] == c])
        if len(members) > max_per_class:
            members = members[:max_per_class]
            capped += 1
        k = 0 if len(members) < 2 else min(len(members) - 1, max(1, int(round(holdout * len(members)))))
        test.append(members[:k])
        train.append(members[k:])
    if capped:
        notes.append(f"{capped} large cluster{'s were' if capped != 1 else ' was'} subsampled to {max_per_class} rows "
                     f"for training")
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def propose_for_review(state, vectors: np.ndarray, rows: np.ndarray, seed: int = 0, **kwargs) -> Proposals:
    """:func:`propose_labels` for a :class:`engine.review.ReviewState`: the person's accepted clusters
    train (rows labeled by an earlier proposal neither train nor get a new proposal); rows the person
    placed by hand (moved, manual, kept) get no proposals.  ``vectors``/``rows`` as in ``Session``."""
    from engine.review import CLASSIFIER, KEPT, MANUAL, MOVED

    skip = np.isin(state.source, (MOVED, MANUAL, KEPT))
    return propose_labels(vectors, state.labels, state.accepted_ids(), seed, rows=rows, skip=skip,
                          ignore=state.source == CLASSIFIER, **kwargs)
