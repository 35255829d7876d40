"""Classify the rest: proposals from accepted clusters, held-out accuracy, and banking77 with gold-labeled clusters."""

from __future__ import annotations

import time

import numpy as np
import pytest

from engine.classify import NotEnoughLabels, propose_for_review, propose_labels
from engine.review import ACCEPTED, ReviewState

from tests.conftest import shared_set


def blobs(n_per: int, k: int, dim: int = 32, spread: float = 0.25, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    y = np.repeat(np.arange(k), n_per)
    X = centres[y] + rng.normal(0, spread, (len(y), dim))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), y


def test_proposals_for_unlabeled_and_noise_rows_with_accuracy():
    X, y = blobs(60, 5)
    labels = y.copy()
    labels[::7] = -1  # some rows of every group are noise
    p = propose_labels(X, labels, accepted_cluster_ids=[0, 1, 2], seed=0)
    assert p.classes == [0, 1, 2]
    # noise rows of groups 0-2 get proposals; rows of clusters 3 and 4 (and their noise) are "none of these"
    assert np.array_equal(p.rows, np.flatnonzero((labels == -1) & (y <= 2)))
    assert p.unmatched == int((y >= 3).sum())
    assert set(p.cluster_ids.tolist()) <= {0, 1, 2}
    assert p.accuracy is not None and p.accuracy >= 0.95 and p.heldout >= 3
    noise_of_accepted = (labels == -1) & np.isin(y, [0, 1, 2])
    got = dict(zip(p.rows.tolist(), p.cluster_ids.tolist()))
    assert np.mean([got[r] == y[r] for r in np.flatnonzero(noise_of_accepted)]) >= 0.95
    assert ((p.confidence > 0) & (p.confidence <= 1)).all()
    high = p.above(0.9)
    assert len(high) <= len(p) and (high.confidence >= 0.9).all()
    assert "held-out accuracy" in p.describe() and "like none of them" in p.describe()
    forced = propose_labels(X, labels, accepted_cluster_ids=[0, 1, 2], seed=0, other=False)
    assert np.array_equal(forced.rows, np.flatnonzero(~np.isin(labels, [0, 1, 2])))  # every row not accepted
    assert forced.unmatched == 0


def test_one_accepted_cluster_cannot_train():
    X, y = blobs(20, 3)
    with pytest.raises(NotEnoughLabels, match="at least two accepted clusters"):
        propose_labels(X, y, [1])
    with pytest.raises(NotEnoughLabels):
        propose_labels(X, y, [])


def test_tiny_classes_train_but_are_not_held_out():
    X, y = blobs(30, 3)
    labels = y.copy()
    labels[labels == 2] = -1
    labels[np.flatnonzero(y == 2)[0]] = 2  # a cluster of one row
    p = propose_labels(X, labels, [0, 1, 2])
    assert 2 in p.classes and p.trained_on == 61
    assert p.heldout == 12  # 20% of clusters 0 and 1, none of the single row
    only_singles = propose_labels(X[[0, 30]], np.array([0, 1]), [0, 1])
    assert only_singles.accuracy is None and len(only_singles) == 0


def test_corpus_rows_skip_and_ignore():
    X, y = blobs(40, 3)
    n_corpus = len(y) + 5
    rows = np.arange(5, n_corpus)  # corpus rows 0..4 are empty texts, not embedded
    labels = np.full(n_corpus, -2)
    labels[rows] = y
    labels[rows[::5]] = -1
    skip = np.zeros(n_corpus, bool)
    skip[rows[0]] = True
    p = propose_labels(X, labels, [0, 1], rows=rows, skip=skip, other=False)
    assert set(p.rows.tolist()).isdisjoint(range(5)) and rows[0] not in p.rows
    assert set(p.rows.tolist()) == set(np.flatnonzero((labels == -1) | (labels == 2)).tolist()) - {rows[0]}


def test_propose_for_review_uses_the_review_state():
    X, y = blobs(40, 4)
    labels = y.copy()
    labels[1::9] = -1
    state = ReviewState(labels)
    state.set_status([0, 1], ACCEPTED)
    state.move([100], 0)  # a row of group 2 the person put in 0 by hand: trains, never proposed again
    moved_away = int(np.flatnonzero(y == 3)[0])
    state.to_noise([moved_away])
    p = propose_for_review(state, X, np.arange(len(y)))
    assert moved_away not in p.rows and 100 not in p.rows
    assert len(p) >= 5 and (y[p.rows] <= 1).mean() >= 0.9  # the noise rows of the accepted groups
    state.apply_proposals(p.rows, p.cluster_ids, p.confidence)
    again = propose_for_review(state, X, np.arange(len(y)))
    assert not set(again.rows.tolist()) & set(p.rows.tolist())  # labeled by the classifier: not proposed again


@pytest.mark.slow
def test_time_at_100k_rows(record):
    X, y = blobs(1000, 100, dim=384, spread=0.6, seed=1)
    labels = y.copy()
    labels[::3] = -1
    t = time.perf_counter()
    p = propose_labels(X, labels, list(range(60)))
    seconds = time.perf_counter() - t
    record(f"classifier at 100,000 rows x 384 (60 accepted clusters, {p.trained_on:,} training rows + 'none of "
           f"these', {len(p):,} proposals, {p.unmatched:,} none): {seconds:.1f} s, held-out accuracy {p.accuracy:.3f}")
    assert len(p) + p.unmatched == int((~np.isin(labels, range(60))).sum())
    assert p.accuracy >= 0.9


@pytest.mark.slow
def test_banking77_accuracy_with_a_third_of_intents_accepted(embedder, record):
    """Gold intents label the clusters: (a) gold groups as clusters, (b) a real KMeans clustering."""
    from engine.clustering import ClusterSettings
    from engine.options import LoadOptions, SessionOptions
    from engine.session import Session

    session = Session.open(shared_set("banking77"), SessionOptions(load=LoadOptions(label_col="label")),
                           embedder=embedder)
    gold = np.array(session.corpus.gold)
    intents = np.unique(gold)
    rng = np.random.default_rng(0)
    chosen = rng.choice(len(intents), int(round(0.3 * len(intents))), replace=False)

    # (a) clusters = gold intents; 30% of them accepted
    labels = np.searchsorted(intents, gold)
    t = time.perf_counter()
    p = propose_labels(session.vectors, labels, chosen, rows=session.rows, seed=0)
    seconds = time.perf_counter() - t
    forced = propose_labels(session.vectors, labels, chosen, rows=session.rows, seed=0, other=False)
    record(f"banking77, gold intents as clusters, {len(chosen)}/{len(intents)} accepted: held-out accuracy "
           f"{p.accuracy:.3f} on {p.heldout} rows ({p.heldout_none:.1%} called none of these; trained on "
           f"{p.trained_on}), {seconds:.1f} s; without the 'none' class {forced.accuracy:.3f}")
    assert p.accuracy >= 0.75 and forced.accuracy >= 0.85

    # (b) a real clustering with noise (HDBSCAN); clusters named by their majority intent, those of the chosen
    # third of the intents accepted; proposals for the rest checked against the gold intent
    analysis = session.cluster(ClusterSettings("hdbscan", min_cluster_size=15, min_samples=5))
    state = ReviewState.from_analysis(analysis)
    majority = {}
    for c in state.cluster_ids():
        values, counts = np.unique(gold[state.members(c)], return_counts=True)
        majority[c] = values[counts.argmax()]
    wanted = set(intents[chosen].tolist())
    accept = [c for c in state.cluster_ids() if majority[c] in wanted]
    for c in accept:
        state.rename(c, majority[c])
    state.set_status(accept, ACCEPTED)
    t = time.perf_counter()
    p = propose_for_review(state, session.vectors, session.rows)
    seconds = time.perf_counter() - t
    forced = propose_for_review(state, session.vectors, session.rows, other=False)

    def quality(props) -> tuple[str, float]:
        named = np.array([majority[c] for c in props.cluster_ids.tolist()], dtype=object)
        right = named == gold[props.rows]
        parts = []
        for floor in (0.5, 0.9):
            keep = props.confidence >= floor
            parts.append(f"conf>={floor}: {keep.sum()} proposals, {right[keep].mean() if keep.any() else 0:.2f} "
                         f"match the gold intent")
        keep = props.confidence >= 0.5
        return "; ".join(parts), float(right[keep].mean()) if keep.any() else 0.0

    with_other, precision = quality(p)
    without, forced_precision = quality(forced)
    noise = analysis.clustering.noise_share
    record(f"banking77, HDBSCAN ({analysis.n_clusters} clusters, {noise:.0%} unclustered), {len(accept)} clusters "
           f"accepted (named by majority intent; {len(wanted)} intents chosen): held-out accuracy {p.accuracy:.3f} "
           f"on {p.heldout} rows ({p.heldout_none:.1%} called none), fit+predict {seconds:.1f} s; with 'none of "
           f"these' ({p.unmatched} rows): {with_other}; forced choice (held-out {forced.accuracy:.3f}): {without}")
    assert p.accuracy >= 0.8
    assert precision >= 0.45 and precision > forced_precision
