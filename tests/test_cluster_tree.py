"""The clustering's merge tree: nested cuts, levels, parents and children, merge suggestions, cache, CLI."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from engine.cluster_tree import centre_tree, tree_from_merges, ward_steps
from engine.clustering import ClusterSettings, cluster
from engine.clustering_cache import cached_cluster
from engine.errors import UsageError
from engine.options import LoadOptions, SessionOptions
from engine.session import Session
from tests.cli import run_qtui
from tests.conftest import SAMPLE, shared_slice


@pytest.fixture(scope="module")
def sample(embedder):
    """The bundled sample, embedded with the bundled MiniLM."""
    return Session.open(SAMPLE, SessionOptions(load=LoadOptions(label_col="theme")), embedder=embedder)


@pytest.fixture(scope="module")
def banking(embedder, tmp_path_factory):
    """Every fourth banking77 query (3,271 rows, all 77 intents), embedded with the bundled MiniLM."""
    path = shared_slice("banking77", 4, tmp_path_factory.mktemp("banking"))
    return Session.open(path, SessionOptions(load=LoadOptions(label_col="label")), embedder=embedder)


def refines(fine: np.ndarray, coarse: np.ndarray) -> bool:
    """Every cluster of ``fine`` lies inside one cluster of ``coarse`` (noise stays noise)."""
    if not np.array_equal(fine < 0, coarse < 0):
        return False
    pairs = np.unique(np.stack([fine[fine >= 0], coarse[coarse >= 0]]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1]


def check_tree(clustering) -> None:
    """The contract of a clustering's tree, on every zoom level and every cut."""
    tree = clustering.tree
    assert tree is not None and tree.n_rows == len(clustering.labels)
    assert np.array_equal(tree.labels_at(tree.base), clustering.labels)
    ladder = tree.ladder()
    levels, counts = [lv for lv, _ in ladder], [c for _, c in ladder]
    assert 0 in levels and dict(ladder)[0] == tree.base == clustering.n_clusters
    assert levels == sorted(levels) and counts == sorted(counts, reverse=True) and counts[-1] == 1
    assert counts[0] == tree.n_leaves
    previous = None
    for k in range(tree.n_leaves, 0, -1):  # every cut: k clusters numbered by size, each finer cut nested
        labels = tree.labels_at(k)
        sizes = np.bincount(labels[labels >= 0])
        assert len(sizes) == k and np.all(sizes > 0) and np.all(np.diff(sizes) <= 0)
        if previous is not None:
            assert refines(previous, labels)
            assert len(np.unique(previous[previous >= 0])) == k + 1
        previous = labels
    base = clustering.labels
    for level, k in ladder:  # coarser levels are unions of level-0 clusters, finer ones split them
        labels = tree.labels_at(k)
        assert refines(base, labels) if level >= 0 else refines(labels, base)
        assert tree.count_at(level) == k and tree.level_of(k) == level


def check_family(tree) -> None:
    """parent() and children() agree with each other and with the cuts, on every zoom level."""
    for _, k in tree.ladder():
        up, down = tree.coarser(k), tree.finer(k)
        labels = tree.labels_at(k)
        for c in range(k):
            parent = tree.parent(k, c)
            if up is None:
                assert parent is None
            else:
                assert c in tree.children(up, parent)
                assert np.all(tree.labels_at(up)[labels == c] == parent)
            kids = tree.children(k, c)
            if down is None:
                assert kids == []
            else:
                assert kids and all(tree.parent(down, kid) == c for kid in kids)
                finer = tree.labels_at(down)
                assert np.array_equal(np.isin(finer, kids), labels == c)


def check_suggestions(tree, k: int) -> None:
    """Merge suggestions are sibling pairs of the cut, the cheapest being the tree's next merge."""
    cut = tree.cut(k)
    found = tree.merge_suggestions(k, limit=50)
    assert found, "a cut of two or more clusters has at least one sibling pair"
    costs = [s.cost for s in found]
    assert costs == sorted(costs)
    for s in found:
        assert 0 <= s.a < s.b < k
        assert set(tree.node_children(s.node)) == {int(cut.nodes[s.a]), int(cut.nodes[s.b])}
        assert tree.node_parent(int(cut.nodes[s.a])) == s.node == tree.node_parent(int(cut.nodes[s.b]))
        assert tree.node_size(s.node) == cut.sizes[s.a] + cut.sizes[s.b]
        assert s.distance >= 0
    first = found[0]
    merged = tree.labels_at(k - 1)
    labels = tree.labels_at(k)
    assert len(np.unique(merged[(labels == first.a) | (labels == first.b)])) == 1


def test_auto_tree_of_the_sample(sample):
    clustering = sample.cluster(ClusterSettings()).clustering
    tree = clustering.tree
    assert tree.n_leaves > tree.base, "auto keeps its fine communities as finer levels"
    check_tree(clustering)
    check_family(tree)
    check_suggestions(tree, tree.base)


@pytest.mark.slow
def test_auto_tree_of_banking77(banking, record):
    from sklearn.metrics import normalized_mutual_info_score

    clustering = banking.cluster(ClusterSettings()).clustering
    tree = clustering.tree
    check_tree(clustering)
    check_family(tree)
    check_suggestions(tree, tree.base)
    gold = np.asarray(banking.corpus.gold)[banking.rows]
    nmi = {k: normalized_mutual_info_score(gold, tree.labels_at(k)) for _, k in tree.ladder()}
    at77 = normalized_mutual_info_score(gold, tree.labels_at(77))
    kmeans = normalized_mutual_info_score(gold, cluster(banking.vectors, ClusterSettings("kmeans", k=77)).labels)
    record(f"banking77[::4] auto tree: NMI by level {[(k, round(v, 3)) for k, v in nmi.items()]}; "
           f"cut at 77: {at77:.3f}, KMeans k=77: {kmeans:.3f}")
    assert nmi[tree.base] > 0.7
    # broad themes are fewer clusters mixing intents: NMI falls as the level coarsens
    coarse = [nmi[k] for level, k in tree.ladder() if level >= 0]
    assert coarse == sorted(coarse, reverse=True)
    assert at77 >= kmeans - 0.02


@pytest.mark.parametrize("settings", [ClusterSettings("kmeans", k=12), ClusterSettings("hdbscan", min_cluster_size=5)])
def test_kmeans_and_hdbscan_trees_are_over_their_clusters(sample, settings):
    clustering = cluster(sample.vectors, settings)
    tree = clustering.tree
    assert tree.n_leaves == tree.base == clustering.n_clusters
    assert tree.finer(tree.base) is None, "no cut is finer than the clustering's own"
    check_tree(clustering)
    check_family(tree)
    check_suggestions(tree, tree.base)
    if settings.algo == "hdbscan":
        assert (clustering.labels < 0).any(), "the sample has rows HDBSCAN leaves out"
        assert np.array_equal(tree.labels_at(1) < 0, clustering.labels < 0)


def test_level_nearest_n_and_clusters_setting(sample):
    clustering = cluster(sample.vectors, ClusterSettings())
    tree = clustering.tree
    for level, k in tree.ladder():
        assert tree.level_of(k) == level
        assert tree.level_of(k * 1.05) == level  # nearest by ratio
    assert tree.level_of(10**6) == tree.ladder()[0][0] and tree.level_of(1) == tree.ladder()[-1][0]
    assert tree.count_at(99) == 1 and tree.count_at(-99) == tree.n_leaves
    for n in (1, 2, tree.base + 1, tree.n_leaves, tree.n_leaves + 50):
        cut = cluster(sample.vectors, ClusterSettings(clusters=n))
        assert cut.n_clusters == min(n, tree.n_leaves)
        assert cut.info["tree"]["clusters"] == cut.n_clusters and cut.info["tree"]["level"] == tree.level_of(n)
        assert cut.settings.clusters == n
        assert np.array_equal(cut.labels, tree.labels_at(n))
    with pytest.raises(UsageError):
        ClusterSettings(clusters=0)


def test_cache_round_trip_keeps_the_tree_and_a_new_level_is_not_reclustered(sample, tmp_path):
    first = cached_cluster(sample.vectors, ClusterSettings(), tmp_path)
    again = cached_cluster(sample.vectors, ClusterSettings(), tmp_path)
    assert again.info.get("from_cache") and not first.info.get("from_cache")
    for name in ("merges", "heights", "row_leaf", "leaf_sizes", "leaf_first"):
        a, b = getattr(first.tree, name), getattr(again.tree, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert again.tree.base == first.tree.base
    assert len(list((tmp_path / "clusterings").glob("*.npz"))) == 1
    coarse = cached_cluster(sample.vectors, ClusterSettings(clusters=2), tmp_path)
    assert coarse.info.get("from_cache"), "another level is a cut of the stored tree"
    assert coarse.n_clusters == 2 and np.array_equal(coarse.labels, first.tree.labels_at(2))
    assert len(list((tmp_path / "clusterings").glob("*.npz"))) == 1


def test_ward_steps_agree_with_scipy_on_single_points():
    from scipy.cluster.hierarchy import linkage

    rng = np.random.default_rng(7)
    P = rng.normal(size=(40, 5))
    ours = tree_from_merges(np.arange(40), list(ward_steps(P, np.ones(40))), 40)
    Z = linkage(P, method="ward")
    # scipy's Ward distance is sqrt(2 * the sum of squares the merge adds)
    assert np.allclose(np.sqrt(2 * ours.heights), Z[:, 2])
    assert np.array_equal(np.sort(ours.merges, axis=1), np.sort(Z[:, :2].astype(np.int64), axis=1))


def test_centre_tree_weighs_clusters_by_size():
    # two big clusters 1 apart and two single rows 3 apart: Ward joins the single rows first (cost 4.5
    # against 50), where a linkage of the bare centres would join the nearer big clusters
    X = np.array([[0.0]] * 100 + [[1.0]] * 100 + [[5.0], [8.0]])
    labels = np.repeat([0, 1, 2, 3], [100, 100, 1, 1])
    tree = centre_tree(X, labels)
    assert np.allclose(tree.heights[:2], [4.5, 50.0])
    assert tree.labels_at(3).tolist() == [0] * 100 + [1] * 100 + [2, 2]
    assert tree.merge_suggestions(4)[0].distance == pytest.approx(3.0)


def test_cli_clusters_option_end_to_end(tmp_path):
    own = json.loads(run_qtui("cluster", str(SAMPLE), "--json").stdout)
    tree = own["clustering"]["tree"]
    assert tree["level"] == 0 and tree["clusters"] == tree["base_clusters"] == own["metrics"]["clusters"]
    assert own["clustering"]["clusters"] is None
    n = min(tree["base_clusters"] + 2, tree["leaves"])  # finer than the method's own, as the tree allows
    assert n > tree["base_clusters"]
    out = tmp_path / "finer.csv"
    result = run_qtui("cluster", str(SAMPLE), "--json", "--clusters", str(n), "--export", str(out))
    assert result.returncode == 0, result.stderr
    finer = json.loads(result.stdout)
    assert finer["clustering"]["clusters"] == n and finer["clustering"]["tree"]["clusters"] == n
    assert len([c for c in finer["clusters"] if c["id"] >= 0]) == n == finer["metrics"]["clusters"]
    assert finer["clustering"]["info"]["from_cache"], "the level is cut from the cached tree"
    frame = pl.read_csv(out, infer_schema=False)
    assert frame.columns[:6] == ["id", "text", "cluster_id", "cluster_label", "parent_id", "parent_label"]
    pairs = frame.select("cluster_id", "parent_id", "parent_label").unique()
    assert pairs["cluster_id"].n_unique() == len(pairs), "one parent per cluster"
    assert pairs["parent_id"].n_unique() < n and pairs["parent_label"].null_count() == 0
    summary = run_qtui("cluster", str(SAMPLE), "--clusters", "2", "--top", "3")
    assert summary.returncode == 0 and "2 clusters (auto clusters=2)" in summary.stdout
    assert "tree level" in summary.stdout or "tree between levels" in summary.stdout
    bad = run_qtui("cluster", str(SAMPLE), "--clusters", "0")
    assert bad.returncode == 2 and "--clusters 0" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert "--clusters" in run_qtui("open", "--help").stdout


def test_export_parent_columns_with_noise(sample):
    from engine.analysis import NOISE_NAME, parent_level
    from engine.export import export_frame

    analysis = sample.cluster(ClusterSettings("hdbscan", min_cluster_size=5))
    parents = parent_level(analysis, *sample.document_terms())
    tree = analysis.clustering.tree
    up = tree.coarser(analysis.n_clusters)
    parent_of, infos = parents
    assert len(parent_of) == analysis.n_clusters and len(infos) == up
    assert [i.id for i in infos] == list(range(up)) and all(i.name and i.keywords for i in infos)
    frame = export_frame(analysis, parents=parents)
    assert frame.columns[4:6] == ["parent_id", "parent_label"]
    noise = frame.filter(pl.col("cluster_id") == -1)
    assert len(noise) and noise["parent_id"].to_list() == [-1] * len(noise)
    assert set(noise["parent_label"]) == {NOISE_NAME}
    rows = frame.filter(pl.col("cluster_id") >= 0)
    want = tree.labels_at(up)[analysis.clustering.labels >= 0]
    assert rows["parent_id"].to_list() == want.tolist()
    assert rows["parent_label"].to_list() == [infos[p].name for p in want]
    assert "parent_id" not in export_frame(analysis).columns
    top = sample.cluster(ClusterSettings("kmeans", k=3, clusters=1))
    assert parent_level(top, *sample.document_terms()) is None, "the coarsest level has no parent"
