"""The suspects queue, the labels list and proposals by label, on real banking77 rows with the bundled model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.classify import NotEnoughLabels
from engine.clustering import ClusterSettings
from engine.label_names import labels_in_use, match_labels
from engine.options import LoadOptions, SessionOptions
from engine.review import CLASSIFIER, CLUSTER, KEPT, MOVED, ReviewError
from engine.review_session import ReviewSession
from engine.session import Session
from engine.suspects import find_suspects, nearest_neighbours
from tests.conftest import shared_set

LABELS = ["card_arrival", "exchange_rate", "lost_or_stolen_card", "top_up_failed", "atm_support",
          "change_pin", "terminate_account", "apple_pay_or_google_pay"]
PER_LABEL = 40


def labeled_sample(path, labels=LABELS, per_label=PER_LABEL, skip=0) -> None:
    """``per_label`` rows of each of ``labels`` from banking77 (after the first ``skip`` of each), as JSON lines."""
    taken: dict[str, int] = {}
    lines = []
    for line in shared_set("banking77").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)["label"]
        if label in labels:
            taken[label] = taken.get(label, 0) + 1
            if skip < taken[label] <= skip + per_label:
                lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def session(embedder, tmp_path_factory) -> Session:
    path = tmp_path_factory.mktemp("suspects") / "banking.jsonl"
    labeled_sample(path)
    return Session.open(path, SessionOptions(load=LoadOptions(label_col="label")), embedder=embedder)


def gold_of(session) -> np.ndarray:
    return np.asarray(session.corpus.gold, dtype=object)


def named_review(session) -> ReviewSession:
    """A review of KMeans k=8 with every cluster named after the gold label most of its rows carry."""
    review = ReviewSession.start(session, ClusterSettings("kmeans", k=8))
    gold = gold_of(session)
    for c in review.state.cluster_ids():
        values, counts = np.unique(gold[review.state.members(c)].astype(str), return_counts=True)
        review.rename(c, str(values[counts.argmax()]))
    return review


def test_the_queue_ranks_planted_label_errors_first_with_their_true_label(session):
    gold = gold_of(session)[session.rows]
    codes = np.unique(gold, return_inverse=True)[1].ravel()
    rng = np.random.default_rng(0)
    planted = rng.choice(len(codes), len(codes) // 10, replace=False)
    groups = codes.copy()
    groups[planted] = (codes[planted] + rng.integers(1, len(LABELS), len(planted))) % len(LABELS)
    neighbours = nearest_neighbours(session.vectors)
    assert neighbours.shape == (len(codes), 10) and not (neighbours == np.arange(len(codes))[:, None]).any()
    for method in ("neighbours", "classifier", "both"):
        found = find_suspects(session.vectors, groups, method=method, neighbours=neighbours)
        top = found.positions[:len(planted)]
        assert np.isin(top, planted).mean() >= 0.7, method  # planted errors are 10% of the rows
        assert (found.current == groups[found.positions]).all() and (found.likely != found.current).all()
        assert (np.diff(found.margin) <= 1e-6).all()  # most likely misplaced first
        back = np.isin(found.positions, planted)
        assert (found.likely[back] == codes[found.positions[back]]).mean() >= 0.8, method
        assert (found.alternatives[:, 0] == found.likely).all()
    # rows that are not candidates or have no group are never suspects
    candidates = np.ones(len(codes), bool)
    candidates[planted[:5]] = False
    groups[planted[5]] = -1
    found = find_suspects(session.vectors, groups, candidates, neighbours=neighbours)
    assert not np.isin(found.positions, np.r_[planted[:5], planted[5]]).any()


def test_labels_list_and_naming_with_a_label_in_use_joins_it(session):
    review = named_review(session)
    labels = review.labels()
    assert sum(lab.rows for lab in labels) == len(session.rows)
    assert [lab.rows for lab in labels] == sorted((lab.rows for lab in labels), reverse=True)
    first, other = labels[0], labels[-1]
    cluster = other.cluster_ids[0]
    outcome = review.rename(cluster, "  " + first.name.upper().replace("_", "_ ") + " ")
    assert review.state.name(cluster) != first.name  # not the same name after all: "A_ B" is its own label
    outcome = review.rename(cluster, first.name.upper())
    assert review.state.name(cluster) == first.name and "joins that label" in outcome.message
    joined = review.label(first.name)
    assert cluster in joined.cluster_ids and joined.rows == first.rows + review.state.size(cluster)
    assert joined.cluster == max(joined.cluster_ids, key=review.state.size)
    # the export's label is the name: both clusters' rows carry it
    frame = review.view()
    assert all(frame.label(review.state, c) == first.name for c in joined.cluster_ids)
    review.close()


def test_fuzzy_pick_of_labels_in_use():
    labels = labels_in_use({1: "card arrival", 2: "Card payment", 3: "exchange rate", 4: "card arrival"},
                           {1: 10, 2: 30, 3: 5, 4: 20})
    assert [(lab.name, lab.rows, lab.cluster_ids) for lab in labels] == [
        ("card arrival", 30, [4, 1]), ("Card payment", 30, [2]), ("exchange rate", 5, [3])]
    assert [lab.name for lab in match_labels("card", labels)] == ["card arrival", "Card payment"]
    assert [lab.name for lab in match_labels("rate", labels)] == ["exchange rate"]
    assert [lab.name for lab in match_labels("exchnage rate", labels)] == ["exchange rate"]  # a typo
    assert match_labels("refund", labels) == []
    assert len(match_labels("", labels)) == 3


def test_suspects_keep_and_send_to_label_are_saved_and_undone(session):
    review = named_review(session)
    gold = gold_of(session)
    queue = review.suspects()
    assert len(queue) > 0 and queue.checked == len(session.rows)
    assert all(alts[0] == (lab or f"#{c}") for alts, lab, c in zip(queue.alternatives, queue.likely_label,
                                                                   queue.likely_cluster.tolist()))
    wrong = np.array([review.state.name(c) != g for c, g in zip(queue.cluster_ids, gold[queue.rows])])
    assert wrong.mean() >= 0.5  # most suspects are in a cluster named for another intent
    kept, moved = queue.rows[:1], queue.rows[1:3]
    label = queue.likely_label[1]
    review.keep(kept)
    assert review.state.source[kept[0]] == KEPT and review.state.labels[kept[0]] == queue.cluster_ids[0]
    outcome = review.send_to_label(moved[:1], label)
    assert review.state.labels[moved[0]] == review.label(label).cluster and review.state.source[moved[0]] == MOVED
    assert label in outcome.message
    assert queue.still_open(review.state)[:3].tolist() == [False, False, True]
    assert not np.isin(np.r_[kept, moved[:1]], review.suspects().rows).any()  # decided rows leave the queue
    new = review.send_to_label(moved[1:2], "a label nobody used")
    assert review.state.name(new.cluster) == "a label nobody used"
    # saved at once: a reopen has the same rows kept and moved
    where = review.state.labels[moved[0]]
    review.close()
    review = ReviewSession.resume(session, ReviewSession.find(session))
    assert review.state.source[kept[0]] == KEPT and review.state.labels[moved[0]] == where
    review.undo()
    review.undo()
    assert review.state.source[moved[0]] == CLUSTER and review.state.labels[moved[0]] == queue.cluster_ids[1]
    review.undo()
    assert review.state.source[kept[0]] == CLUSTER
    review.close()


def test_proposals_by_label_one_label_one_row_and_across_a_reclustering(session):
    review = ReviewSession.start(session, ClusterSettings("kmeans", k=12))
    gold = gold_of(session)
    with pytest.raises(NotEnoughLabels):
        review.propose()
    majority = {}
    for c in review.state.cluster_ids():
        values, counts = np.unique(gold[review.state.members(c)].astype(str), return_counts=True)
        majority[c] = str(values[counts.argmax()])
    named = {}
    for label in sorted(set(majority.values())):  # each intent's largest cluster named, none accepted
        c = max((c for c in majority if majority[c] == label), key=review.state.size)
        named[c] = label
        review.rename(c, label)
    unnamed = [c for c in majority if c not in named]
    assert unnamed  # 12 clusters of 8 intents: some intents are in two clusters
    proposals = review.propose()
    assert len(proposals) > 0 and set(proposals.labels) <= set(named.values())
    right = gold[proposals.rows] == np.asarray(proposals.labels, dtype=object)
    sure = proposals.confidence >= 0.5  # the rows KMeans put apart from their intent: the hard ones
    assert right.mean() > 0.5 and right[sure].mean() >= 0.75 and right[sure].mean() > right[~sure].mean()
    assert not np.isin(proposals.rows, np.flatnonzero(np.isin(review.state.labels, list(named)))).any()
    assert sum(proposals.counts().values()) == len(proposals)
    label = next(iter(proposals.counts()))
    one_label = proposals.of_label(label)
    review.accept_proposals(one_label)
    target = review.label(label).cluster
    assert (review.state.labels[one_label.rows] == target).all()
    assert (review.state.source[one_label.rows] == CLASSIFIER).all()
    rest = proposals.only(np.setdiff1d(proposals.rows, one_label.rows))
    review.reject_proposals(rest.only(rest.rows[:1]))
    assert review.state.source[rest.rows[0]] == KEPT
    assert rest.rows[0] not in review.propose().rows  # a rejected proposal is not made again
    # proposals name labels: after a re-clustering they are accepted into the cluster carrying the label now
    review.adopt(review.cluster_again(ClusterSettings("kmeans", k=6)))
    left = rest.only(rest.rows[1:])
    still = [lab for lab in left.labels if review.label(lab) is not None]
    if still:
        pick = left.of_label(still[0])
        outcome = review.accept_proposals(pick)
        ok = review.state.source[pick.rows] == CLASSIFIER
        assert ok.any() and (review.state.labels[pick.rows[ok]] == review.label(still[0]).cluster).all()
        assert "Accepted" in outcome.message
    with pytest.raises(ReviewError):
        review.reject_proposals(left.only([]))
    review.close()
