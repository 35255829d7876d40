"""A review on the cluster tree: zoom levels, names and decisions inherited downwards, undo, saving, export, merges."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import polars as pl
import pytest

from engine.clustering import NOISE, ClusterSettings
from engine.options import LoadOptions, SessionOptions
from engine.review import ACCEPTED, REJECTED, UNREVIEWED, same_snapshot
from engine.review_session import ReviewSession
from engine.session import Session
from tests.conftest import shared_slice
from tui.cli import build_parser, cluster_settings, session_options

AUTO = ClusterSettings()


@pytest.fixture(scope="module")
def banking(embedder, tmp_path_factory):
    """Every 8th banking77 query (1,636 rows): auto keeps a finer level below its own (46 communities, 41 clusters)."""
    path = shared_slice("banking77", 8, tmp_path_factory.mktemp("banking"))
    return Session.open(path, SessionOptions(load=LoadOptions(label_col="label")), embedder=embedder)


@pytest.fixture
def review(banking):
    review = ReviewSession.start(banking, AUTO)
    yield review
    review.close()


def group_rows(view) -> list[np.ndarray]:
    return [view.rows(i) for i in range(len(view.nodes))]


def check_level(review, level: int) -> None:
    """A level partitions the clustered rows into its groups; level 0 is the review's own clusters."""
    state = review.state
    view = review.level_view(level)
    clustered = state.labels >= 0
    assert np.array_equal(view.labels < 0, ~clustered) and np.array_equal(view.labels[~clustered],
                                                                          state.labels[~clustered])
    sizes = [node.size for node in view.nodes]
    assert sizes == sorted(sizes, reverse=True) and sum(sizes) == int(clustered.sum())
    for node, rows in zip(view.nodes, group_rows(view)):
        assert len(rows) == node.size > 0
        assert sorted(set(state.labels[rows].tolist())) == sorted(node.clusters)
    keys = [node.key for node in view.nodes]
    if level == 0:
        assert sorted(v for _, v in keys) == state.cluster_ids() and {k for k, _ in keys} == {"cluster"}
    if level > 0:  # whole clusters, grouped
        for node in view.nodes:
            assert node.size == sum(state.size(c) for c in node.clusters)
    if level < 0:  # pieces of one cluster each
        assert all(len(node.clusters) == 1 for node in view.nodes)
    assert len(set(keys)) == len(keys)


def check_nesting(review) -> None:
    """Every group of a level lies inside one group of the next coarser level."""
    levels = review.levels()
    ladder = [lv for lv, _ in levels.ladder()]
    for fine, coarse in zip(ladder, ladder[1:]):
        child, parent = review.level_view(fine, keywords=False), review.level_view(coarse, keywords=False)
        up = levels.parents(child, parent)
        clustered = child.labels >= 0
        assert np.array_equal(up[child.labels[clustered]], parent.labels[clustered])


def test_levels_of_a_fresh_review_follow_the_tree(review):
    levels = review.levels()
    tree = review.analysis.clustering.tree
    ladder = levels.ladder()
    assert dict(ladder)[0] == review.analysis.n_clusters == levels.k0
    assert any(lv < 0 for lv, _ in ladder) and ladder[-1][1] == 1, "auto has finer levels and a top"
    for level, k in ladder:
        check_level(review, level)
        view = review.level_view(level)
        assert all(node.keywords and node.suggested for node in view.nodes)
        if level != 0:  # untouched, a level is the tree's own cut
            assert len(view.nodes) == k
            labels = view.labels[review.session.rows]
            tree_labels = tree.labels_at(k)
            pairs = np.unique(np.stack([labels, tree_labels]), axis=1)
            assert pairs.shape[1] == k, "one group per tree cluster of the cut"
    check_nesting(review)
    assert levels.level_nearest(levels.k0) == 0
    assert levels.count_at(levels.level_nearest(2)) <= 3
    assert levels.clamp(99) == ladder[-1][0] and levels.clamp(-99) == ladder[0][0]


def test_a_name_and_decision_at_a_coarse_level_are_inherited_unless_a_cluster_has_its_own(review):
    coarse = review.level_view(1)
    group = next(n for n in coarse.nodes if n.key[0] == "node" and len(n.clusters) >= 2)
    members = group.clusters
    review.rename_node(group.key, "broad theme", label=group.label)
    review.set_node_status([group.key], ACCEPTED)
    own, other = members[0], members[1]
    review.rename(own, "its own name")
    review.set_status([own], REJECTED)
    base = {n.key[1]: n for n in review.level_view(0).nodes}
    assert base[own].label == "its own name" and base[own].effective_status == REJECTED
    assert base[other].name is None and base[other].label == "broad theme"
    assert base[other].effective_status == ACCEPTED and base[other].status == UNREVIEWED
    outside = [c for c in base if c not in members]
    assert all(base[c].label != "broad theme" and base[c].effective_status == UNREVIEWED for c in outside)
    again = review.level_view(1)
    assert again.nodes[again.find(group.key)].name == "broad theme"
    assert review.level_view(2).nodes[0].name is None, "a name is inherited downwards, never upwards"
    assert review.state.progress().reviewed == 1, "the state alone counts the cluster's own decision"
    progress = review.progress()
    assert progress.reviewed == len(members) and progress.clusters == len(base)
    assert progress.reviewed_rows == sum(review.state.size(c) for c in members)
    cols = review.tree_columns()
    labels = review.state.labels
    for c in members:
        rows = np.flatnonzero(labels == c)
        expect = "its own name" if c == own else "broad theme"
        assert {cols["cluster_label"][r] for r in rows} == {expect}
        assert {cols["status"][r] for r in rows} == {REJECTED if c == own else ACCEPTED}
        assert {cols["label_path"][r] for r in rows} == {"broad theme / its own name" if c == own else "broad theme"}
        assert {cols["parent_label"][r] for r in rows} == {"broad theme"}


def test_a_finer_node_overrides_its_cluster_for_its_rows(review):
    finer = review.level_view(-1)
    piece = next(n for n in finer.nodes if n.key[0] == "node")
    cluster = piece.clusters[0]
    rows = finer.rows(piece.index)
    review.rename(cluster, "the cluster")
    review.rename_node(piece.key, "a finer topic")
    review.set_node_status([piece.key], ACCEPTED)
    again = review.level_view(-1)
    node = again.nodes[again.find(piece.key)]
    assert node.name == "a finer topic" and node.inherited == "the cluster" and node.status == ACCEPTED
    sibling = next(n for n in again.nodes if n.clusters == [cluster] and n.key != piece.key)
    assert sibling.label == "the cluster" and sibling.effective_status == UNREVIEWED
    base = review.level_view(0)
    assert base.nodes[base.find(("cluster", cluster))].label == "the cluster", "level 0 shows the cluster"
    cols = review.tree_columns()
    members = review.state.members(cluster)
    inside = np.isin(members, rows)
    assert {cols["cluster_label"][r] for r in members[inside]} == {"a finer topic"}
    assert {cols["cluster_label"][r] for r in members[~inside]} == {"the cluster"}
    assert {cols["label_path"][r] for r in members[inside]} == {"the cluster / a finer topic"}
    assert {cols["status"][r] for r in members[inside]} == {ACCEPTED}
    # a row moved out of the cluster leaves the finer node: it takes its new cluster's name
    other = next(c for c in review.state.cluster_ids() if c != cluster)
    review.rename(other, "elsewhere")
    review.move(rows[:1], other)
    assert review.tree_columns()["cluster_label"][int(rows[0])] == "elsewhere"


def test_undo_and_redo_across_level_changes_are_exact(review):
    state = review.state
    start = state.snapshot()
    views = {}
    steps = []
    for level in (1, 0, -1, 2):
        view = review.level_view(level)
        node = view.nodes[min(1, len(view.nodes) - 1)]
        review.rename_node(node.key, f"name at {level}")
        review.set_node_status([node.key], ACCEPTED if level % 2 else REJECTED)
        steps.append(state.snapshot())
        views[level] = review.level_view(level).labels.copy()
    end = state.snapshot()
    for _ in range(8):
        assert review.undo() is not None
    assert same_snapshot(state.snapshot(), start)
    assert not state.node_names and not state.node_statuses
    assert all(node.name is None and node.effective_status == UNREVIEWED for node in review.level_view(1).nodes)
    for _ in range(8):
        assert review.redo() is not None
    assert same_snapshot(state.snapshot(), end)
    for level, labels in views.items():
        assert np.array_equal(review.level_view(level).labels, labels)
    assert review.undo().message.startswith("Undid: mark")


def test_a_review_on_the_tree_is_saved_and_reloaded_with_its_tree(review, banking, tmp_path):
    coarse = review.level_view(1)
    review.rename_node(coarse.nodes[0].key, "saved theme")
    finer = review.level_view(-1)
    piece = next(n for n in finer.nodes if n.key[0] == "node")
    review.set_node_status([piece.key], REJECTED)
    pair = review.merge_suggestions(1)[0]
    review.merge_suggested(pair)
    review.undo()
    snapshot = review.state.snapshot()
    tree = review.record.epoch.tree
    views = {lv: review.level_view(lv, keywords=False).labels.copy() for lv, _ in review.levels().ladder()}
    first = tmp_path / "first.csv"
    review.export(first)
    review.close()
    again = ReviewSession.resume(banking, ReviewSession.find(banking))
    try:
        assert same_snapshot(again.state.snapshot(), snapshot)
        saved = again.record.epoch.tree
        for name in ("merges", "heights", "row_leaf", "leaf_sizes", "leaf_first"):
            assert np.array_equal(getattr(saved, name), getattr(tree, name))
        assert again.analysis.clustering.tree is saved, "the restored analysis has the saved tree"
        for level, labels in views.items():
            assert np.array_equal(again.level_view(level, keywords=False).labels, labels)
        assert again.redo().message.startswith("Redid: merge")
        second = tmp_path / "second.csv"
        again.undo()
        again.export(second)
        assert pl.read_csv(first).equals(pl.read_csv(second))
    finally:
        again.close()


def test_a_review_saved_before_trees_opens_with_one(review, banking):
    """A format-2 file (no tree in its epochs) loads; its tree comes from the clustering kept in the cache."""
    review.rename(review.state.cluster_ids()[0], "old name")
    tree = review.record.epoch.tree
    path = review.store.path
    review.close()
    header, body = path.read_bytes().split(b"\n", 1)
    payload = json.loads(body)
    for epoch in payload["epochs"]:
        del epoch["tree"]
    body = json.dumps(payload, separators=(",", ":")).encode()
    header = json.dumps({"format": "qtui-review", "version": 2, "length": len(body),
                         "checksum": hashlib.blake2b(body, digest_size=16).hexdigest()}).encode()
    path.write_bytes(header + b"\n" + body)
    again = ReviewSession.resume(banking, ReviewSession.find(banking))
    try:
        assert again.state.name(again.state.cluster_ids()[0]) == "old name"
        assert again.record.epoch.tree is None or again.record.epoch.tree.n_rows == len(banking.rows)
        levels = again.levels()
        assert levels is not None and np.array_equal(levels.tree.row_leaf, tree.row_leaf)
        check_level(again, 1)
        again.rename(again.state.cluster_ids()[1], "new name")  # saved again, now with the tree
        assert b'"tree":' in path.read_bytes()
    finally:
        again.close()


def test_suggested_merges_are_sibling_clusters_and_climb_the_tree(review):
    tree, k0 = review.levels().tree, review.levels().k0
    found = review.merge_suggestions(5)
    assert found and [s.cost for s in found] == sorted(s.cost for s in found)
    expected = tree.merge_suggestions(k0, 5)
    assert [s.node for s in found] == [s.node for s in expected], "untouched: the tree's own sibling pairs"
    first = found[0]
    outcome = review.merge_suggested(first)
    merged = outcome.cluster
    assert merged in (first.a, first.b) and not review.state.exists(({first.a, first.b} - {merged}).pop())
    after = review.merge_suggestions(20)
    assert all(review.state.exists(s.a) and review.state.exists(s.b) for s in after)
    assert first.node not in [s.node for s in after]
    parent = tree.node_parent(first.node)
    sibling = [s for s in after if s.node == parent]
    if sibling:  # the merged cluster stands for the joined node: it pairs with that node's sibling
        assert merged in (sibling[0].a, sibling[0].b)
    review.undo()
    assert [s.node for s in review.merge_suggestions(5)] == [s.node for s in found]


def test_tree_names_and_decisions_are_carried_to_a_new_clustering(review):
    coarse = review.level_view(1)
    group = coarse.nodes[0]
    review.rename_node(group.key, "carried theme")
    review.set_node_status([group.key], ACCEPTED)
    plan = review.cluster_again(ClusterSettings(seed=0))  # the same clustering again: every node carries
    outcome = review.adopt(plan)
    assert review.record.current == 1
    assert review.state.node_names == {group.key[1]: "carried theme"}
    assert review.state.node_statuses == {group.key[1]: ACCEPTED}
    again = review.level_view(1)
    assert again.nodes[again.find(group.key)].name == "carried theme"
    assert review.state.seen[again.rows(again.find(group.key))].all(), "the rows it covered stay decided"
    assert "ctrl+z" in outcome.message
    review.undo()
    assert review.record.current == 0 and review.state.node_names == {group.key[1]: "carried theme"}
    kmeans = review.cluster_again(ClusterSettings("kmeans", k=12))
    review.adopt(kmeans)
    levels = review.levels()
    assert levels.k0 == 12 and levels.tree.n_leaves == 12
    for level, _ in levels.ladder():
        check_level(review, level)


def test_qtui_open_clusters_is_a_zoom_level_and_cluster_clusters_a_cut():
    parser = build_parser()
    args = parser.parse_args(["open", "x.jsonl", "--clusters", "12"])
    assert session_options(args).clusters == 12 and cluster_settings(args).clusters is None
    args = parser.parse_args(["cluster", "x.jsonl", "--clusters", "12"])
    assert session_options(args).clusters is None and cluster_settings(args).clusters == 12


def test_edited_clusters_keep_every_level_a_partition(review):
    """Rows sent to noise stay out of every level; a hand-made cluster and the parts of a split are placed in
    the tree where most of their rows are, and each finer piece belongs to one cluster."""
    state = review.state
    rows = state.members(state.cluster_ids()[0])[:2]
    review.to_noise(rows)
    made = review.new_cluster(review.state.members(state.cluster_ids()[1])[:3], "hand made").cluster
    biggest = max(state.cluster_ids(), key=state.size)
    review.split(biggest, k=2)
    for level, _ in review.levels().ladder():
        view = review.level_view(level, keywords=False)
        assert (view.labels[rows] == NOISE).all()
        assert any(made in node.clusters for node in view.nodes)
        check_level(review, level)
    check_nesting(review)
