"""Review actions: each one's effect, exact undo/redo (property-tested), progress, carry-over to a new clustering."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.analysis import EMPTY
from engine.carry_over import carry_over
from engine.clustering import NOISE
from engine.fuzzy import fuzzy_find
from engine.review import (ACCEPTED, CLASSIFIER, CLUSTER, MANUAL, MOVED, REJECTED, UNREVIEWED, ReviewError,
                           ReviewState, same_snapshot)
from engine.split import split_parts

#   rows: 0 1 2 3 4 5 6 7 8 9 10 11
BASE = [0, 0, 0, 1, 1, 1, 2, 2, -1, -2, 0, 1]


def fresh() -> ReviewState:
    return ReviewState(np.array(BASE), np.linspace(0.2, 0.9, len(BASE)))


def test_rename_and_status_then_undo_redo():
    s = fresh()
    v = s.version
    s.rename(0, "  refunds ")
    assert s.name(0) == "refunds" and s.version > v
    s.set_status([0, 1], ACCEPTED)
    assert s.status(0) == s.status(1) == ACCEPTED and s.status(2) == UNREVIEWED
    assert s.accepted_ids() == [0, 1]
    s.undo()
    assert s.status(0) == UNREVIEWED and s.name(0) == "refunds"
    s.undo()
    assert s.name(0) is None and not s.can_undo
    s.redo()
    s.redo()
    assert s.name(0) == "refunds" and s.status(1) == ACCEPTED and not s.can_redo


def test_merge_keeps_target_id_and_a_name():
    s = fresh()
    s.rename(2, "delivery")
    target = s.merge([1, 2])
    assert target == 1
    assert s.cluster_ids() == [0, 1]
    assert s.members(1).tolist() == [3, 4, 5, 6, 7, 11]
    assert s.name(1) == "delivery"
    assert (s.source[[6, 7]] == CLUSTER).all()  # merging is a cluster decision, rows keep their source
    s.undo()
    assert s.cluster_ids() == [0, 1, 2] and s.name(1) is None and s.name(2) == "delivery"


def test_merge_status_rule():
    s = fresh()
    s.set_status([0, 1], ACCEPTED)
    s.merge([0, 1])
    assert s.status(0) == ACCEPTED
    s.set_status([2], REJECTED)
    s.merge([0, 2], into=2)
    assert s.status(2) == UNREVIEWED and s.cluster_ids() == [2]


def test_split_creates_new_ids_never_reused():
    s = fresh()
    new = s.split(0, [0, 1, 1, 0])
    assert len(new) == 2 and min(new) >= 3
    assert not s.exists(0)
    assert sorted(np.concatenate([s.members(c) for c in new]).tolist()) == [0, 1, 2, 10]
    s.undo()
    assert s.members(0).tolist() == [0, 1, 2, 10]
    again = s.new_cluster([3, 4])
    assert again not in new and again > max(new)  # undone ids are not handed out again


def test_split_part_minus_one_goes_to_noise_and_larger_part_gets_first_id():
    s = fresh()
    new = s.split(0, np.array([1, 1, -1, 0]), rows=np.array([0, 1, 2, 10]))
    assert s.labels[2] == NOISE and s.confidence[2] == 0
    assert s.members(new[0]).tolist() == [0, 1] and s.members(new[1]).tolist() == [10]


def test_move_to_noise_new_cluster_sources_and_confidence():
    s = fresh()
    s.move([0, 8], 2)
    assert s.labels[[0, 8]].tolist() == [2, 2] and (s.source[[0, 8]] == MOVED).all() and (s.confidence[[0, 8]] == 1).all()
    s.to_noise([3])
    assert s.labels[3] == NOISE and s.source[3] == MOVED
    c = s.new_cluster([4, 5], name="mine")
    assert s.members(c).tolist() == [4, 5] and s.name(c) == "mine" and (s.source[[4, 5]] == MANUAL).all()
    s.apply_proposals([1, 2], [c, 2], [0.7, 0.9])
    assert s.labels[[1, 2]].tolist() == [c, 2] and (s.source[[1, 2]] == CLASSIFIER).all()
    assert np.allclose(s.confidence[[1, 2]], [0.7, 0.9])
    assert s.source_names([0, 1, 4, 6]) == ["moved", "classifier", "manual", "cluster"]
    while s.undo():
        pass
    assert same_snapshot(s.snapshot(), fresh().snapshot())


def test_invalid_actions_are_refused_and_change_nothing():
    s = fresh()
    before = s.snapshot()
    with pytest.raises(ReviewError):
        s.move([9], 0)  # empty text
    with pytest.raises(ReviewError):
        s.move([0], 7)  # no such cluster
    with pytest.raises(ReviewError):
        s.merge([0])
    with pytest.raises(ReviewError):
        s.split(0, [0, 0, 0, 0])
    with pytest.raises(ReviewError):
        s.set_status([0], "maybe")
    with pytest.raises(ReviewError):
        s.move([], 0)
    with pytest.raises(ReviewError):
        s.set_ui(bad=object())
    assert same_snapshot(s.snapshot(), before) and not s.can_undo


def test_progress_counts_reviewed_clusters_and_row_share():
    s = fresh()
    p = s.progress()
    assert (p.reviewed, p.clusters, p.rows) == (0, 3, 11)
    s.set_status([0], ACCEPTED)
    s.set_status([2], REJECTED)
    p = s.progress()
    assert (p.reviewed, p.clusters, p.reviewed_rows) == (2, 3, 6)
    assert p.describe() == "2/3 clusters, 55% of rows"


def test_version_grows_with_actions_undo_and_redo_but_not_ui():
    s = fresh()
    versions = [s.version]
    s.rename(0, "a")
    versions.append(s.version)
    s.undo()
    versions.append(s.version)
    s.redo()
    versions.append(s.version)
    s.set_ui(cluster=0, row=3, tab="members")
    assert versions == sorted(set(versions)) and s.version == versions[-1]
    assert s.ui == {"cluster": 0, "row": 3, "tab": "members"}


def test_read_only_state_refuses_actions_but_keeps_ui():
    s = fresh()
    s.read_only = True
    with pytest.raises(ReviewError, match="read-only"):
        s.rename(0, "x")
    s.set_ui(cluster=1)
    assert s.ui["cluster"] == 1


def test_fuzzy_find_ranks_substring_before_scattered_letters():
    names = {0: "card arrival", 1: "refund request", 2: "card payment fee", 12: "top up"}
    assert fuzzy_find("card", names)[:2] == [0, 2]
    assert fuzzy_find("rfd", names) == [1]
    assert fuzzy_find("12", names)[0] == 12
    s = fresh()
    s.rename(1, "delivery late")
    assert s.find_clusters("deliv") == [1]
    assert s.find_clusters("rfnd", suggested={0: "refund / money", 2: "x"}) == [0]


def test_split_parts_kmeans_and_auto_never_drop_rows():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 0.05, (30, 8)) + np.eye(8)[0]
    b = rng.normal(0, 0.05, (30, 8)) + np.eye(8)[1]
    X = np.vstack([a, b]).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    parts, conf = split_parts(X, k=2)
    assert len(set(parts[:30].tolist())) == 1 and len(set(parts[30:].tolist())) == 1 and parts[0] != parts[30]
    parts, conf = split_parts(X, k=None)
    assert (parts >= 0).all() and len(conf) == 60


# ---------------------------------------------------------------------- property: undo-all / redo-all

OPS = ["rename", "status", "merge", "split", "move", "noise", "new", "proposals", "undo", "redo"]


@st.composite
def bases(draw):
    n = draw(st.integers(4, 40))
    k = draw(st.integers(1, 6))
    labels = draw(st.lists(st.integers(-2, k - 1), min_size=n, max_size=n))
    conf = draw(st.lists(st.floats(0, 1, width=32), min_size=n, max_size=n))
    return np.array(labels), np.array(conf, dtype=np.float32)


def random_step(state: ReviewState, data) -> None:
    op = data.draw(st.sampled_from(OPS))
    ids = state.cluster_ids()
    movable = np.flatnonzero(state.base_labels != EMPTY)
    try:
        if op == "undo":
            state.undo()
        elif op == "redo":
            state.redo()
        elif not ids or not len(movable):
            return
        elif op == "rename":
            state.rename(data.draw(st.sampled_from(ids)), data.draw(st.none() | st.text(max_size=8)))
        elif op == "status":
            state.set_status(data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3)),
                             data.draw(st.sampled_from(["accepted", "rejected", "unreviewed"])))
        elif op == "merge":
            chosen = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=4, unique=True))
            state.merge(chosen, into=data.draw(st.sampled_from(chosen)))
        elif op == "split":
            c = data.draw(st.sampled_from(ids))
            m = state.size(c)
            parts = data.draw(st.lists(st.integers(-1, 3), min_size=m, max_size=m))
            state.split(c, np.array(parts, dtype=np.int64))
        else:
            rows = data.draw(st.lists(st.sampled_from(movable.tolist()), min_size=1, max_size=6))
            if op == "move":
                state.move(rows, data.draw(st.sampled_from(ids + [NOISE])))
            elif op == "noise":
                state.to_noise(rows)
            elif op == "new":
                state.new_cluster(rows, data.draw(st.none() | st.text(max_size=5)))
            else:
                rows = sorted(set(rows))
                targets = data.draw(st.lists(st.sampled_from(ids), min_size=len(rows), max_size=len(rows)))
                conf = data.draw(st.lists(st.floats(0, 1, width=32), min_size=len(rows), max_size=len(rows)))
                state.apply_proposals(rows, targets, conf)
    except ReviewError:
        pass  # an invalid random action (e.g. a split with one part): refused, nothing changed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=bases(), data=st.data())
def test_random_actions_then_undo_all_give_back_the_base_and_redo_all_the_result(base, data):
    labels, conf = base
    state = ReviewState(labels, conf)
    original = state.snapshot()
    for _ in range(data.draw(st.integers(0, 25))):
        random_step(state, data)
        assert (state.labels[state.base_labels == EMPTY] == EMPTY).all()
        if not state.can_undo:
            continue
        # every single step undoes exactly and redoes exactly
        after = state.snapshot()
        state.undo()
        state.redo()
        assert same_snapshot(state.snapshot(), after)
    final = state.snapshot()
    n_done = len(state.done)
    while state.undo():
        pass
    assert same_snapshot(state.snapshot(), original)
    assert np.array_equal(state.labels, labels)
    for _ in range(n_done):  # redo all that had been done
        state.redo()
    assert same_snapshot(state.snapshot(), final)


@settings(max_examples=60, deadline=None)
@given(base=bases(), data=st.data())
def test_replaying_the_log_gives_the_same_state(base, data):
    labels, conf = base
    state = ReviewState(labels, conf)
    for _ in range(data.draw(st.integers(0, 20))):
        random_step(state, data)
    actions, cursor = state.history()
    from engine.review import Action

    copy = ReviewState(labels, conf)
    copy.replay([Action(a.op, dict(a.args)) for a in actions], cursor)
    assert same_snapshot(copy.snapshot(), state.snapshot())
    while state.redo():
        copy.redo()
    assert same_snapshot(copy.snapshot(), state.snapshot())


# ---------------------------------------------------------------------- carry-over


def test_carry_over_follows_renumbered_clusters():
    old = ReviewState(np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, -1, -2]))
    old.rename(0, "billing")
    old.set_status([0, 1], ACCEPTED)
    old.set_status([2], REJECTED)
    new_labels = np.array([2, 2, 2, 0, 0, 0, 1, 1, 1, -1, -2])  # same groups, other ids
    result = carry_over(old, new_labels)
    s = result.state
    assert result.mapping == {0: 2, 1: 0, 2: 1} and not result.uncarried
    assert s.name(2) == "billing" and s.status(2) == ACCEPTED and s.status(0) == ACCEPTED and s.status(1) == REJECTED
    assert not s.can_undo  # nothing row-level to keep
    assert result.describe()[0] == "carried 3 of 3 reviewed clusters to the new clustering"


def test_carry_over_reports_split_merged_and_noise_clusters():
    old_labels = np.array([0] * 10 + [1] * 10 + [2] * 4 + [3] * 10 + [4] * 6)
    old = ReviewState(old_labels)
    for c, name in enumerate(["split me", "stays", "small", "to noise", "untouched"]):
        old.rename(c, name)
    new = np.array([0] * 5 + [1] * 5 + [2] * 10 + [2] * 4 + [-1] * 10 + [3] * 6)
    pinned = carry_over(old, new)  # the default keeps what cannot be carried as it was
    assert {pinned.mapping[c] for c in (0, 2, 3)} == {4, 5, 6}
    assert [pinned.state.name(pinned.mapping[c]) for c in (0, 2, 3)] == ["split me", "small", "to noise"]
    assert np.array_equal(pinned.state.labels[:10], np.full(10, pinned.mapping[0]))
    result = carry_over(old, new, pin=False)
    by_old = {u.old_id: u for u in result.uncarried}
    assert set(result.mapping) == {1, 4}
    assert by_old[0].reason == "split" and {c.new_id for c in by_old[0].candidates} == {0, 1}
    assert by_old[2].reason == "merged" and by_old[2].candidates[0].new_id == 2
    assert by_old[3].reason == "noise"
    assert result.state.name(2) == "stays" and result.state.name(3) == "untouched"
    lines = result.describe()
    assert any("'split me'" in line and "split" in line for line in lines)


def test_carry_over_keeps_row_decisions():
    old = ReviewState(np.array([0] * 4 + [1] * 4 + [2] * 8 + [-1]))
    for c, name in enumerate("abc"):
        old.rename(c, name)
    old.move([3], 1)  # into "b", which is carried
    old.move([16], 0)  # a noise row into "a"
    old.to_noise([5])
    old.move([8], 2)  # "c" is split by the new clustering: this decision cannot be carried
    new = np.array([1] * 4 + [0] * 4 + [2] * 4 + [3] * 4 + [2])
    result = carry_over(old, new, pin=False)
    s = result.state
    assert result.mapping == {0: 1, 1: 0}
    assert s.labels[3] == 0 and s.source[3] == MOVED  # followed "b"
    assert s.labels[16] == 1  # followed "a"
    assert s.labels[5] == NOISE
    assert set(result.kept_rows.tolist()) == {3, 16, 5}
    assert result.dropped_rows.tolist() == [8] and s.labels[8] == 2 and s.source[8] == CLUSTER
    assert not s.can_undo  # the kept decisions are the new review's base; undoing the re-clustering is the session's
    assert any(u.old_id == 2 and u.reason == "split" for u in result.uncarried)
    assert any("follow the new clustering" in line for line in result.describe())


def test_carry_over_of_an_untouched_review_is_a_fresh_review():
    old = ReviewState(np.array([0, 1, 1, -1]))
    result = carry_over(old, np.array([1, 0, 0, 0]))
    assert not result.carried and not result.uncarried and not result.state.can_undo
    assert result.state.next_id >= 2
