"""``--backend onnx`` / ``onnx-int8``: the bundled MiniLM exported to ONNX and run in onnxruntime.

Real model, real export (once per test session, into the private cache): the vectors
stay close to the torch ones, truncation is counted the same way, and the cache keeps
the vectors of each backend apart.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from engine.embedding import embed_texts, open_cache  # noqa: E402
from engine.errors import ModelError, UsageError  # noqa: E402
from engine.onnx_embedder import OnnxEmbedder, check_backend, pool, read_pooling  # noqa: E402
from engine.options import ModelOptions  # noqa: E402
from engine.session import make_embedder  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "comments.jsonl"
TEXTS = [
    "My card was declined at the shop this morning",
    "how do I top up with apple pay",
    "the refund still has not arrived after two weeks",
    "set an alarm for seven tomorrow",
    "退款什么时候到账",
    "手机电池续航太差了",
    "a",
    "ok!!",
    "Re: Fwd: exchange rate for euros to dollars?",
    " ".join(["a very long comment that goes on and on about the delivery"] * 40),  # past 256 tokens
]


@pytest.fixture(scope="module")
def onnx_embedder():
    embedder = OnnxEmbedder(backend="onnx")
    embedder.load()
    return embedder


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_onnx_vectors_match_torch(onnx_embedder, embedder):
    ours = onnx_embedder.encode(TEXTS)
    theirs = embedder.encode(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384)
    assert ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert cosines(ours, theirs).min() >= 0.99


def test_onnx_matches_sentence_transformers_encode_directly(onnx_embedder, embedder):
    reference = embedder.model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert cosines(onnx_embedder.encode(TEXTS), reference).mean() >= 0.999


def test_query_and_batching_agree(onnx_embedder, embedder):
    query = onnx_embedder.encode_query("card declined")
    assert float(query @ embedder.encode_query("card declined")) >= 0.99
    one_by_one = np.stack([onnx_embedder.encode([t])[0] for t in TEXTS])
    assert cosines(one_by_one, onnx_embedder.encode(TEXTS)).min() >= 0.9999  # padding changes nothing


def test_truncation_is_counted_like_torch(onnx_embedder, embedder):
    assert onnx_embedder.max_seq_length == embedder.max_seq_length == 256
    assert onnx_embedder.truncated_mask(TEXTS).tolist() == embedder.truncated_mask(TEXTS).tolist()
    assert onnx_embedder.truncated_mask(TEXTS)[-1]


def test_export_is_cached_and_reused(onnx_embedder, cache_root):
    path = onnx_embedder.onnx_path()
    assert path.is_file() and cache_root in path.parents
    stamp = path.stat().st_mtime_ns
    again = OnnxEmbedder(backend="onnx")
    assert again.onnx_path() == path
    again.load()
    assert path.stat().st_mtime_ns == stamp


def test_backend_is_part_of_the_cache_key(onnx_embedder, embedder, tmp_path):
    assert embedder.identity["backend"] == "torch" and onnx_embedder.identity["backend"] == "onnx"
    assert open_cache(embedder, tmp_path).dir != open_cache(onnx_embedder, tmp_path).dir
    _, first = embed_texts(TEXTS, onnx_embedder, open_cache(onnx_embedder, tmp_path))
    assert first.embedded == len(TEXTS)
    _, torch_stats = embed_texts(TEXTS, embedder, open_cache(embedder, tmp_path))
    assert torch_stats.cached == 0 and torch_stats.embedded == len(TEXTS)  # never served onnx vectors
    _, again = embed_texts(TEXTS, onnx_embedder, open_cache(onnx_embedder, tmp_path))
    assert again.cached == len(TEXTS) and again.embedded == 0


def test_int8_backend_is_its_own_identity_and_stays_close(embedder):
    int8 = OnnxEmbedder(backend="onnx-int8")
    assert int8.identity["backend"] == "onnx-int8" and int8.precision == "int8"
    assert int8.identity["quantization"] and int8.onnx_path() != OnnxEmbedder(backend="onnx").onnx_path()
    assert cosines(int8.encode(TEXTS), embedder.encode(TEXTS)).mean() >= 0.98


def test_int8_vectors_stay_within_the_target_on_real_comments(embedder):
    """The issue's bar: mean cosine >= 0.99 to the fp32 torch vectors, here on the 320 shipped comments
    (Chinese, English and mixed), embedded in the backend's own token-sorted batches."""
    texts = [json.loads(line)["text"] for line in open(SAMPLES, encoding="utf-8") if line.strip()]
    int8 = OnnxEmbedder(backend="onnx-int8")
    got = cosines(int8.encode(texts), embedder.encode(texts))
    assert got.mean() >= 0.99 and got.min() >= 0.95


def test_batches_are_cut_from_texts_sorted_by_token_count(onnx_embedder, monkeypatch):
    seen = []
    run = onnx_embedder._run
    monkeypatch.setattr(onnx_embedder, "_run", lambda encoded: seen.append([len(e.ids) for e in encoded]) or run(encoded))
    monkeypatch.setattr(onnx_embedder, "_wanted_batch", 3)
    texts = ["退款什么时候到账啊", "ok", "how do I top up with apple pay please", "手机", "a b c d e f g h i j k l"]
    vectors = onnx_embedder.encode(texts)
    assert [len(b) for b in seen] == [3, 2]
    flat = [n for b in seen for n in b]
    assert flat == sorted(flat, reverse=True)  # longest first, whatever the characters say
    assert cosines(vectors, np.stack([onnx_embedder.encode([t])[0] for t in texts])).min() >= 0.9999  # rows kept
    assert onnx_embedder.chunk_size >= 2 * onnx_embedder.batch_size


def test_make_embedder_picks_the_backend():
    chosen = make_embedder(ModelOptions(backend="onnx"))
    assert isinstance(chosen, OnnxEmbedder) and not chosen.loaded
    assert make_embedder(ModelOptions(backend="torch")).identity["backend"] == "torch"


def test_bad_backend_requests_fail_with_a_usage_error():
    with pytest.raises(UsageError, match="choose from"):
        check_backend("tensorrt")
    with pytest.raises(UsageError, match="runs on the CPU"):
        check_backend("onnx", "cuda")
    assert check_backend(None) == "torch"


def test_pooling_is_read_from_the_model_files(onnx_embedder, tmp_path):
    assert read_pooling(onnx_embedder.spec.path) == ("mean", True)
    (tmp_path / "modules.json").write_text('[{"type": "sentence_transformers.models.Dense", "path": "2_Dense"}]')
    with pytest.raises(ModelError, match="Dense"):
        read_pooling(tmp_path)
    hidden = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    mask = np.array([[1, 1, 0]])
    assert pool(hidden, mask, "mean").tolist() == [[2.0, 3.0, 4.0, 5.0]]
    assert pool(hidden, mask, "cls").tolist() == [[0.0, 1.0, 2.0, 3.0]]
    assert pool(hidden, mask, "max").tolist() == [[4.0, 5.0, 6.0, 7.0]]


@pytest.mark.parametrize("options", [ModelOptions(backend="onnx", embed_url="http://127.0.0.1:9/v1", model="m"),
                                     ModelOptions(backend="onnx-int8", model="muse")])
def test_backend_that_does_not_apply_is_refused(options):
    with pytest.raises(UsageError, match="--backend"):
        make_embedder(options)


def test_a_file_with_cached_vectors_opens_without_importing_torch(onnx_embedder, cache_root):
    """Reopening a file embedded with an onnx backend needs neither the model nor torch (~1.5 s to import)."""
    import os
    import subprocess
    import sys

    from engine.options import SessionOptions
    from engine.session import Session

    first = Session.open(SAMPLES, SessionOptions(model=ModelOptions(backend="onnx")), embedder=onnx_embedder)
    assert first.embed_stats.embedded + first.embed_stats.cached == len(first.rows)
    probe = ("import sys\nfrom engine.options import ModelOptions, SessionOptions\nfrom engine.session import Session\n"
             f"s = Session.open({str(SAMPLES)!r}, SessionOptions(model=ModelOptions(backend='onnx')))\n"
             "print(s.embed_stats.embedded, 'torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=SAMPLES.parent.parent, capture_output=True, text=True,
                          env={**os.environ, "QTUI_CACHE_DIR": str(cache_root), "HF_HUB_OFFLINE": "1"}, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["0", "False"], done.stdout
