"""The static first view: a model2vec model distilled from the bundled MiniLM, cached, and used to embed.

Real parts only: the bundled all-MiniLM-L6-v2 is distilled once per test session into the
session's private cache; the files are the sample and the shared banking77 set.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

pytest.importorskip("model2vec")
pytest.importorskip("skeletoken")

from engine.atomic import atomic_directory  # noqa: E402
from engine.cache import text_hashes  # noqa: E402
from engine.embedding import embed_texts, open_cache  # noqa: E402
from engine.errors import UsageError  # noqa: E402
from engine.first_view import AUTO_STATIC_MIN, choose_first_view, missing_full_vectors  # noqa: E402
from engine.models import cache_key  # noqa: E402
from engine.options import ModelOptions, SessionOptions  # noqa: E402
from engine.progress import CancelToken, Cancelled  # noqa: E402
from engine.session import Session, first_view_embedder  # noqa: E402
from engine.static_embedder import (  # noqa: E402
    PCA_DIMS, StaticEmbedder, make_static_embedder, static_model_dir, static_refusal,
)
from tests.cli import run_qtui  # noqa: E402
from tests.conftest import SAMPLE, shared_set  # noqa: E402

TEXTS = [
    "My card was declined at the shop this morning",
    "card payment declined in the store today",
    "set an alarm for seven tomorrow",
    "wake me up at 7 am",
    "退款什么时候到账",
    "",
    " ".join(["a very long comment that goes on and on about the delivery"] * 40),  # past 256 tokens
]


@pytest.fixture(scope="session")
def distilled(cache_root):
    """The bundled MiniLM distilled into the session cache, and the progress it reported."""
    seen = []
    embedder = StaticEmbedder(cache_root=cache_root, progress=seen.append)
    embedder.load()
    return embedder, seen


def test_distilling_reports_progress_and_is_cached_for_the_next_use(distilled, cache_root):
    embedder, seen = distilled
    target = static_model_dir(embedder.spec, cache_root)
    if any(p.stage == "distill" for p in seen):  # distilled in this session (not read from a kept cache)
        counted = [p for p in seen if p.stage == "distill" and p.total > 1]
        assert counted and counted[-1].done == counted[-1].total > 20_000  # every vocabulary token
        assert [p.done for p in counted] == sorted(p.done for p in counted)
    assert {"model.safetensors", "tokenizer.json", "config.json"} <= {p.name for p in target.iterdir()}
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]  # no temporary left
    again = []
    second = StaticEmbedder(cache_root=cache_root, progress=again.append)
    second.load()
    assert not [p for p in again if p.stage == "distill"]  # read from the cache, not distilled again
    np.testing.assert_array_equal(second.encode(TEXTS), embedder.encode(TEXTS))


def test_static_vectors_are_unit_vectors_that_keep_meaning(distilled):
    embedder, _ = distilled
    vectors = embedder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), PCA_DIMS) == (len(TEXTS), embedder.dim)
    norms = np.linalg.norm(vectors, axis=1)
    np.testing.assert_allclose(norms[[0, 1, 2, 3, 6]], 1.0, atol=1e-5)
    assert norms[4] == norms[5] == 0.0  # no known token: MiniLM's vocabulary lacks these Chinese characters
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] and sims[0, 1] > sims[0, 3]  # declined card: nearer each other than alarms
    assert sims[2, 3] > sims[2, 0]
    np.testing.assert_allclose(embedder.encode_query(TEXTS[0]), vectors[0], atol=1e-6)


def test_long_texts_are_cut_and_counted_like_the_full_model(distilled, embedder):
    static, _ = distilled
    assert static.max_seq_length == embedder.max_seq_length
    np.testing.assert_array_equal(static.truncated_mask(TEXTS), embedder.truncated_mask(TEXTS))
    assert static.truncated_mask(TEXTS)[-1]


def test_static_vectors_have_their_own_identity_and_cache(distilled, embedder, tmp_path):
    static, _ = distilled
    assert static.identity != embedder.identity
    assert cache_key(static.identity) != cache_key(embedder.identity)
    assert static.identity["fingerprint"] == embedder.identity["fingerprint"]  # named after its source
    texts = TEXTS[:5]
    static_cache, full_cache = open_cache(static, tmp_path), open_cache(embedder, tmp_path)
    vectors, stats = embed_texts(texts, static, static_cache)
    assert stats.embedded == len(texts) and vectors.shape[1] == PCA_DIMS
    hashes = text_hashes(texts)
    assert not open_cache(embedder, tmp_path).contains(hashes).any()  # nothing went into the full cache
    assert missing_full_vectors(hashes, open_cache(embedder, tmp_path)) == len(texts)
    full, _ = embed_texts(texts[:2], embedder, full_cache)
    found, got = open_cache(static, tmp_path).lookup(hashes)
    assert found.all() and got.shape[1] == PCA_DIMS
    np.testing.assert_array_equal(got, vectors)  # the full vectors of the same texts did not replace them
    found, got = open_cache(embedder, tmp_path).lookup(hashes)
    assert found.tolist() == [True, True, False, False, False] and got.shape[1] == 384
    again, stats = embed_texts(texts, static, open_cache(static, tmp_path))
    assert stats.cached == len(texts) and stats.embedded == 0
    np.testing.assert_array_equal(again, vectors)


def test_models_without_local_weights_cannot_be_distilled():
    muse = static_refusal(ModelOptions(model="muse"))
    remote = static_refusal(ModelOptions(embed_url="http://127.0.0.1:9/v1", model="some-model"))
    assert muse and "muse" in muse and "\n" not in muse
    assert remote and "--embed-url" in remote and "\n" not in remote
    assert static_refusal(ModelOptions()) is None
    with pytest.raises(UsageError, match="muse"):
        make_static_embedder(ModelOptions(model="muse"))
    with pytest.raises(UsageError, match="--first-view static: .*--embed-url"):
        Session.open(SAMPLE, SessionOptions(model=ModelOptions(embed_url="http://127.0.0.1:9/v1", model="m"),
                                            first_view="static"))


def test_cli_refuses_a_static_view_of_muse_in_one_line():
    result = run_qtui("cluster", str(SAMPLE), "--first-view", "static", "--model", "muse")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qtui: error: --first-view static:") and "muse" in lines[0]


@pytest.mark.parametrize("requested, missing, refusal, kind", [
    ("full", 10**6, None, "full"),
    ("static", 0, None, "static"),
    ("auto", AUTO_STATIC_MIN, None, "static"),
    ("auto", AUTO_STATIC_MIN - 1, None, "full"),
    ("auto", 0, None, "full"),
    ("auto", 10**6, "--model muse cannot", "full"),
    ("full", 10**6, "--model muse cannot", "full"),
    (None, 10**6, None, "full"),
])
def test_choose_first_view(requested, missing, refusal, kind):
    view = choose_first_view(requested, missing, refusal)
    assert view.kind == kind and view.static == (kind == "static")
    assert view.reason and "\n" not in view.reason
    if refusal and requested == "auto":
        assert refusal in view.reason


def test_choose_first_view_refuses_what_cannot_be():
    with pytest.raises(UsageError, match="--first-view static: no weights"):
        choose_first_view("static", 10, "no weights")
    with pytest.raises(UsageError, match="choose from auto, static, full"):
        choose_first_view("fast", 10)
    assert choose_first_view("auto", 99, threshold=100).kind == "full"
    assert choose_first_view("auto", 100, threshold=100).kind == "static"


def test_auto_takes_static_for_a_large_uncached_file_and_full_for_a_small_one(distilled, cache_root, tmp_path):
    path = shared_set("banking77")
    model_dir = static_model_dir(distilled[0].spec, cache_root)
    shutil.copytree(model_dir, static_model_dir(distilled[0].spec, tmp_path))  # no full vectors here
    big = Session.open(path, SessionOptions(first_view="auto", cache_dir=tmp_path))
    assert big.static and big.first_view.static and "13,0" in big.first_view.reason
    assert big.vectors.shape == (len(big.rows), PCA_DIMS)
    assert big.embed_stats.embedded + big.embed_stats.cached == len(big.rows) - big.embed_stats.duplicates
    minilm = ModelOptions(model="all-MiniLM-L6-v2")  # named: --model auto would pick muse for the sample
    small = Session.open(SAMPLE, SessionOptions(model=minilm, first_view="auto"))
    assert not small.static and small.first_view.kind == "full" and small.vectors.shape[1] == 384
    hashes = small.text_hashes
    _, _, view = first_view_embedder(SessionOptions(model=minilm, first_view="auto"), hashes)
    assert view.reason == "full model: all vectors cached"


def test_refined_session_embeds_the_same_rows_with_the_full_model(distilled, embedder):
    static = Session.open(SAMPLE, SessionOptions(model=ModelOptions(model="all-MiniLM-L6-v2"), first_view="static"))
    assert static.static and static.embedder.identity == distilled[0].identity
    stages = []
    full = static.refined(progress=lambda p: stages.append(p.stage), embedder=embedder)
    assert not full.static and full.first_view.kind == "full"
    assert full.embedder.identity == embedder.identity and full.vectors.shape == (len(static.rows), 384)
    np.testing.assert_array_equal(full.rows, static.rows)
    assert full.corpus is static.corpus and "load" not in stages  # the file is not read again
    assert static.vectors.shape[1] == PCA_DIMS  # the static session is left as it was
    direct = Session.open(SAMPLE, SessionOptions(first_view="full"), embedder=embedder)
    np.testing.assert_array_equal(full.vectors, direct.vectors)


def test_cluster_first_view_static_end_to_end_on_banking77(distilled):
    path = shared_set("banking77")
    result = run_qtui("cluster", str(path), "--first-view", "static", "--label-col", "label", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["model"]["static"] is True and summary["model"]["name"].endswith("(static)")
    assert summary["model"]["dim"] == PCA_DIMS
    assert len(summary["clusters"]) > 20
    assert summary["metrics"]["nmi"] > 0.6  # far above chance; the full model scores higher
    text = run_qtui("cluster", str(SAMPLE), "--first-view", "static", "--model", "all-MiniLM-L6-v2", "--top", "3")
    assert text.returncode == 0, text.stderr
    assert "(static)" in text.stdout and "static vectors" in text.stdout


def test_cancelling_a_distillation_leaves_no_model_behind(tmp_path):
    token = CancelToken()
    seen = []

    def progress(p):
        seen.append(p)
        if p.stage == "distill" and p.done > 0:
            token.cancel()

    embedder = StaticEmbedder(cache_root=tmp_path, progress=progress, cancel=token)
    with pytest.raises(Cancelled):
        embedder.load()
    counted = [p for p in seen if p.stage == "distill" and p.total > 1]
    assert counted and counted[-1].done < counted[-1].total  # stopped early, not after the whole vocabulary
    assert not embedder.loaded
    static_dir = tmp_path / "static"
    assert not static_dir.exists() or not os.listdir(static_dir)
    already = CancelToken()
    already.cancel()
    with pytest.raises(Cancelled):
        StaticEmbedder(cache_root=tmp_path, cancel=already).load()


def test_atomic_directory_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "model"
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as tmp:
            (tmp / "a").write_text("half")
            raise RuntimeError("stopped")
    assert not target.exists() and not list(tmp_path.iterdir())
    with atomic_directory(target) as tmp:
        (tmp / "a").write_text("first")
    with atomic_directory(target) as tmp:  # another process finished first: its result is kept
        (tmp / "a").write_text("second")
    assert (target / "a").read_text() == "first" and [p.name for p in tmp_path.iterdir()] == ["model"]
