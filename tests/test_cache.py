"""Embedding cache: hits and misses, shared texts, corruption, interrupted runs — with the real model."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cache import EmbeddingCache, build_shard, parse_shard, text_hashes
from engine.embedding import embed_texts, open_cache
from engine.progress import CancelToken, Cancelled

TEXTS = [f"review number {i}: the {w} is {a}" for i, (w, a) in enumerate(
    [("battery", "weak"), ("screen", "bright"), ("delivery", "late"), ("price", "fair"), ("sound", "clear")] * 8)]


@pytest.fixture
def fresh_cache(embedder, tmp_path):
    return lambda: open_cache(embedder, tmp_path)


def test_second_run_embeds_nothing_and_gives_identical_vectors(embedder, fresh_cache):
    first, s1 = embed_texts(TEXTS, embedder, fresh_cache())
    assert s1.embedded == len(TEXTS) and s1.cached == 0
    second, s2 = embed_texts(TEXTS, embedder, fresh_cache())
    assert s2.embedded == 0 and s2.cached == len(TEXTS)
    assert np.array_equal(first, second)
    norms = np.linalg.norm(first.astype(np.float32), axis=1)
    assert np.allclose(norms, 1.0, atol=2e-3)


def test_a_file_sharing_texts_embeds_only_the_new_ones(embedder, fresh_cache):
    embed_texts(TEXTS[:20], embedder, fresh_cache())
    vectors, stats = embed_texts(TEXTS[10:30] + ["a brand new comment"], embedder, fresh_cache())
    assert stats.cached == 10 and stats.embedded == 11
    direct = embedder.encode(["a brand new comment"])[0]
    assert float(vectors[-1].astype(np.float32) @ direct) > 0.999


def test_duplicates_are_embedded_once(embedder, tmp_path):
    vectors, stats = embed_texts(["same", "same", "other", "same"], embedder, open_cache(embedder, tmp_path))
    assert stats.embedded == 2 and stats.duplicates == 2
    assert np.array_equal(vectors[0], vectors[3])


def test_corrupt_or_truncated_shards_are_detected_and_recomputed(embedder, fresh_cache):
    reference, _ = embed_texts(TEXTS, embedder, fresh_cache())
    cache = fresh_cache()
    shards = sorted(cache.dir.glob("*.qvec"))
    assert shards
    data = bytearray(shards[0].read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip one byte inside the vectors
    shards[0].write_bytes(bytes(data))
    vectors, stats = embed_texts(TEXTS, embedder, fresh_cache())
    assert stats.corrupt_shards and stats.embedded > 0
    assert (cache.dir / "corrupt" / shards[0].name).exists()
    cos = np.sum(vectors.astype(np.float32) * reference.astype(np.float32), axis=1)
    assert cos.min() > 0.999
    # truncation
    shard = sorted(cache.dir.glob("*.qvec"))[0]
    shard.write_bytes(shard.read_bytes()[:-100])
    again, stats = embed_texts(TEXTS, embedder, fresh_cache())
    assert stats.corrupt_shards and np.sum(again.astype(np.float32) * reference.astype(np.float32), axis=1).min() > 0.999


def test_shard_format_rejects_garbage():
    hashes = text_hashes(["a", "b"])
    vectors = np.ones((2, 4), dtype=np.float16)
    blob = build_shard(hashes, vectors)
    got = parse_shard(blob)
    assert got is not None and np.array_equal(got[0], hashes) and np.array_equal(got[1], vectors)
    assert parse_shard(blob[:-1]) is None
    assert parse_shard(b"not a shard at all" * 10) is None
    assert parse_shard(b"") is None


def test_cancelled_run_keeps_the_finished_batches(embedder, tmp_path, monkeypatch):
    import engine.embedding as embedding

    monkeypatch.setattr(embedding, "FLUSH_SECONDS", 0.0)  # write every batch, so the test is quick
    token = CancelToken()
    texts = [f"comment {i} about {'battery screen delivery price sound'.split()[i % 5]}" for i in range(400)]
    batches = []

    def progress(p):
        batches.append(p.done)
        if p.done >= 128:
            token.cancel()

    with pytest.raises(Cancelled):
        embed_texts(texts, embedder, open_cache(embedder, tmp_path), progress=progress, cancel=token)
    _, stats = embed_texts(texts, embedder, open_cache(embedder, tmp_path))
    assert stats.cached >= 128 and stats.embedded == len(texts) - stats.cached


def test_compaction_merges_shards_without_losing_vectors(tmp_path):
    cache = EmbeddingCache(tmp_path, "m", {"dim": 3})
    rng = np.random.default_rng(0)
    texts = [f"t{i}" for i in range(40)]
    hashes = text_hashes(texts)
    vectors = rng.standard_normal((40, 3)).astype(np.float16)
    for lo in range(0, 40, 2):
        cache.add(hashes[lo:lo + 2], vectors[lo:lo + 2])
    cache.add(hashes[5:7], vectors[5:7])  # the same texts again: kept once
    assert cache.compact()
    merged = list(cache.dir.glob("*.qvec"))
    assert len(merged) == 1
    found, got = EmbeddingCache(tmp_path, "m", {"dim": 3}).lookup(hashes)
    assert found.all() and np.array_equal(got, vectors)
    # written piece by piece, the merged shard parses (header, checksum) and holds every text once
    got_hashes, got_vectors = parse_shard(merged[0].read_bytes())
    assert len(got_hashes) == 40
    order = [hashes.tolist().index(h) for h in got_hashes.tolist()]
    assert sorted(order) == list(range(40)) and np.array_equal(got_vectors, vectors[order])


def test_document_terms_are_kept_between_runs(tmp_path):
    from engine.cache import cached_document_terms
    from engine.keywords import document_terms

    texts = TEXTS + ["退款什么时候到账", "手机电池续航太差了"]
    calls = []

    def counted(batch):
        calls.append(len(batch))
        return document_terms(batch)

    first = cached_document_terms(texts, counted, tmp_path)
    second = cached_document_terms(texts, counted, tmp_path)
    assert calls == [len(texts)]  # the second run read the stored counts
    assert (first[0] != second[0]).nnz == 0 and first[0].shape == second[0].shape
    assert second[1].tolist() == first[1].tolist() and second[1].dtype == object
    cached_document_terms(texts[:-1], counted, tmp_path)  # other texts: counted again
    assert len(calls) == 2
    stored = list((tmp_path / "terms").glob("*.npz"))
    assert len(stored) == 2
    for path in stored:
        path.write_bytes(path.read_bytes()[:40])  # truncated: counted again, never trusted
    again = cached_document_terms(texts, counted, tmp_path)
    assert len(calls) == 3 and (again[0] != first[0]).nnz == 0
    cached_document_terms(texts, counted, None)
    assert len(calls) == 4


def test_clusterings_are_kept_between_runs_and_a_damaged_entry_is_recomputed(tmp_path):
    from engine.clustering import ClusterSettings, cluster
    from engine.clustering_cache import cached_cluster

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((5, 32))
    X = np.concatenate([c + 0.2 * rng.standard_normal((80, 32)) for c in centres]).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    settings = ClusterSettings("auto")
    first = cached_cluster(X, settings, tmp_path)
    assert "from_cache" not in first.info
    again = cached_cluster(X, settings, tmp_path)
    assert again.info["from_cache"] and np.array_equal(again.labels, first.labels)
    assert np.array_equal(again.confidence, first.confidence)
    assert np.array_equal(first.labels, cluster(X, settings).labels)
    other = cached_cluster(X, ClusterSettings("kmeans", k=3), tmp_path)
    assert "from_cache" not in other.info and other.n_clusters == 3
    moved = X.copy()
    moved[0] = X[1]
    assert "from_cache" not in cached_cluster(moved, settings, tmp_path).info  # other vectors, other entry

    entries = sorted((tmp_path / "clusterings").glob("*.npz"))
    assert len(entries) == 3
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:100])  # cut short, as by a crash or a full disk
    healed = cached_cluster(X, settings, tmp_path)
    assert "from_cache" not in healed.info and np.array_equal(healed.labels, first.labels)
    assert cached_cluster(X, settings, tmp_path).info["from_cache"]


def test_lookups_after_adds_and_reloads_agree(tmp_path):
    """Vectors stay in shard order behind a sorted index: a hash added twice gives its first vector in this
    process; read back, every hash is found with one of its vectors."""
    rng = np.random.default_rng(1)
    hashes = text_hashes([f"t{i}" for i in range(30)])
    first = rng.standard_normal((30, 4)).astype(np.float16)
    second = rng.standard_normal((10, 4)).astype(np.float16)
    cache = EmbeddingCache(tmp_path, "m", {"dim": 4})
    cache.load()
    cache.add(hashes[:20], first[:20])
    cache.add(hashes[15:25], second)  # 15..19 again, with other vectors: the first ones stay
    cache.add(hashes[25:], first[25:])
    want = np.concatenate([first[:20], second[5:], first[25:]])
    found, got = cache.lookup(hashes[::-1])
    assert found.all() and np.array_equal(got, want[::-1])
    found, got = EmbeddingCache(tmp_path, "m", {"dim": 4}).lookup(hashes)
    assert found.all() and np.array_equal(np.delete(got, range(15, 20), 0), np.delete(want, range(15, 20), 0))
    assert all(np.array_equal(got[i], first[i]) or np.array_equal(got[i], second[i - 15]) for i in range(15, 20))
    found, _ = cache.lookup(text_hashes(["absent", "t3"]))
    assert found.tolist() == [False, True]


def test_code_digest_follows_the_source_and_fails_loudly_on_a_missing_module(tmp_path, monkeypatch):
    import importlib

    from engine.npz_cache import code_digest

    package = tmp_path / "digestpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "steps.py").write_text("def step():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    before = code_digest("digestpkg.steps")
    assert code_digest(importlib.import_module("digestpkg.steps")) == before  # a name or the module itself
    (package / "steps.py").write_text("def step():\n    return 2\n")
    assert code_digest("digestpkg.steps") != before
    assert code_digest("digestpkg.steps", "engine.tokenize") != code_digest("engine.tokenize", "digestpkg.steps")
    with pytest.raises(ModuleNotFoundError, match="digestpkg.moved"):
        code_digest("digestpkg.moved")  # moved or renamed: never a silent constant
    with pytest.raises(ModuleNotFoundError):
        code_digest("engine.no_such_module")
    (package / "steps.py").unlink()  # gone after it was imported: its source cannot be read
    with pytest.raises(FileNotFoundError):
        code_digest("digestpkg.steps")


def test_every_cached_step_names_modules_that_exist():
    """Each cache's code list resolves: a moved module breaks this test, not the invalidation."""
    import engine.analysis_cache as analysis_cache
    import engine.clustering_cache as clustering_cache
    import engine.corpus_cache as corpus_cache
    from engine.npz_cache import code_digest

    for names in (analysis_cache._CODE, clustering_cache._CODE, corpus_cache._CODE, corpus_cache._NOTES_CODE):
        assert len(code_digest(*names)) == 8


def test_npz_cache_reads_back_ignores_damage_and_keeps_the_newest(tmp_path):
    import os

    from engine.npz_cache import NpzCache

    cache = NpzCache(tmp_path, "things", keep=2)
    assert cache.read("a", lambda arrays: arrays["x"]) is None  # absent
    cache.write("a", x=np.arange(3))
    assert cache.read("a", lambda arrays: arrays["x"]).tolist() == [0, 1, 2]
    assert cache.read("a", lambda arrays: None) is None  # refused by the caller's check
    assert cache.read("a", lambda arrays: arrays["missing"]) is None  # a field it lacks: a miss
    cache.write("o", x=np.asarray(["text"], dtype=object).astype(str))
    assert cache.read("o", lambda arrays: arrays["x"]).tolist() == ["text"]
    pickled = NpzCache(tmp_path, "pickled", keep=2)
    pickled.dir.mkdir()
    with open(pickled.path("p"), "wb") as f:
        np.savez(f, x=np.asarray([{"a": 1}], dtype=object))  # a pickled array is never loaded
    assert pickled.read("p", lambda arrays: arrays["x"]) is None
    cache.path("a").write_bytes(cache.path("a").read_bytes()[:30])  # cut short: a miss, then replaced
    assert cache.read("a", lambda arrays: arrays["x"]) is None
    cache.write("a", x=np.arange(4))
    assert cache.read("a", lambda arrays: arrays["x"]).tolist() == [0, 1, 2, 3]
    assert sorted(p.name for p in cache.dir.glob("*.npz")) == ["a.npz", "o.npz"]  # the oldest went
    os.utime(cache.path("o"), (1, 1))
    assert cache.read("o", lambda arrays: arrays["x"]) is not None  # a hit is marked recently used
    cache.write("b", x=np.arange(1))
    assert sorted(p.name for p in cache.dir.glob("*.npz")) == ["b.npz", "o.npz"]
    assert not [p for p in cache.dir.iterdir() if p.suffix != ".npz"]  # no temporary files left
