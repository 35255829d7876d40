"""The remote embedder against a real infinity-emb server: same vectors as local, retries, kill and resume.

The server runs from its own virtual environment (``.ci/run`` installs it);
without it these tests skip and say why.  No fake server stands in for it.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from engine.cache import EmbeddingCache
from engine.embedding import embed_texts, open_cache
from engine.errors import ModelError, UsageError
from engine.models import bundled_model_path
from engine.remote_embedder import RemoteEmbedder, RemoteEmbedError
from tests.cli import run_qtui
from tests.conftest import SAMPLE, shared_set
from tests.infinity_server import API_KEY, SERVED_NAME, InfinityServer, free_port, infinity_bin

KEY_ENV = "QTUI_TEST_EMBED_KEY"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real infinity server with the bundled MiniLM, started once for this module."""
    binary = infinity_bin()
    if binary is None:
        pytest.skip("infinity-emb is not installed (.ci/run puts it in .venv-infinity; or set $QTUI_INFINITY_BIN)")
    srv = InfinityServer(binary, bundled_model_path(), tmp_path_factory.mktemp("infinity"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv(KEY_ENV, API_KEY)
    return KEY_ENV


def remote(server, **kwargs) -> RemoteEmbedder:
    kwargs.setdefault("api_key_env", KEY_ENV)
    kwargs.setdefault("retries", 2)
    kwargs.setdefault("backoff", 0.2)
    return RemoteEmbedder(server.url, **kwargs)


def sample_texts(n: int | None = None) -> list[str]:
    texts = [json.loads(line)["text"] for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts[:n] if n else texts


def banking_texts(n: int) -> list[str]:
    path = shared_set("banking77")
    seen: dict[str, None] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            seen.setdefault(json.loads(line)["text"], None)
            if len(seen) >= n:
                break
    return list(seen)


def test_remote_vectors_match_local_ones(server, key_env, embedder, record):
    texts = sample_texts() + banking_texts(400)
    emb = remote(server)
    assert emb.name == SERVED_NAME and emb.dim == embedder.dim == 384
    assert emb.identity == {"name": SERVED_NAME, "kind": "openai-embeddings", "native_dim": 384, "dim": 384,
                            "normalize": "l2"}
    emb.encode(texts[:64])  # warm both sides
    embedder.encode(texts[:64])
    t = time.perf_counter()
    got = emb.encode(texts)
    remote_s = time.perf_counter() - t
    t = time.perf_counter()
    want = embedder.encode(texts)
    local_s = time.perf_counter() - t
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cosine = (got * want).sum(axis=1)
    assert cosine.min() >= 0.999
    record(f"remote (infinity, CPU) vs local MiniLM on {len(texts)} texts: cosine min {cosine.min():.5f} "
           f"mean {cosine.mean():.6f}; {len(texts) / remote_s:,.0f} texts/s remote vs {len(texts) / local_s:,.0f} "
           f"local (same 2-core machine; server start {server.start_seconds[0]:.0f}s)")
    query = "my card was declined"
    assert float(emb.encode_query(query) @ embedder.encode_query(query)) >= 0.999
    emb.close()


def test_dimensions_are_asked_of_the_server_or_truncated_here(server, key_env, embedder):
    texts = sample_texts(40)
    emb = remote(server, dim=64)
    assert emb.dim == 64 and emb.native_dim == 384 and emb.identity["dim"] == 64
    got = emb.encode(texts)
    full = embedder.encode(texts)[:, :64]
    want = full / np.linalg.norm(full, axis=1, keepdims=True)
    assert got.shape == (40, 64)
    assert ((got * want).sum(axis=1)).min() >= 0.999
    with pytest.raises(UsageError, match="--dim 999"):
        remote(server, dim=999)


def test_instruction_is_put_before_queries_only(server, key_env):
    emb = remote(server, instruction="Find the product complaint")
    text = "the battery dies fast"
    prompt = "Instruct: Find the product complaint\nQuery:"
    np.testing.assert_allclose(emb.encode_query(text), emb.encode([prompt + text])[0], atol=1e-5)
    assert float(emb.encode([text])[0] @ emb.encode_query(text)) < 0.999


def test_api_key_comes_from_the_environment_and_is_never_shown(server, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv("QTUI_EMBED_API_KEY", raising=False)
    with pytest.raises(RemoteEmbedError) as missing:
        RemoteEmbedder(server.url, retries=0)
    assert "401" in str(missing.value) or "not authorised" in str(missing.value)
    with pytest.raises(UsageError, match=KEY_ENV):
        RemoteEmbedder(server.url, api_key_env=KEY_ENV)
    monkeypatch.setenv("QTUI_EMBED_API_KEY", "wrong-key")
    with pytest.raises(RemoteEmbedError) as wrong:
        RemoteEmbedder(server.url, retries=0)
    assert "wrong-key" not in str(wrong.value) and "\n" not in str(wrong.value)
    monkeypatch.setenv(KEY_ENV, API_KEY)
    emb = remote(server)
    assert API_KEY not in repr(emb) and API_KEY not in json.dumps(emb.identity)


def test_the_cache_identity_is_the_model_the_server_reports(server, key_env):
    emb = remote(server, model="minilm-by-another-name")  # infinity serves its one model whatever is asked
    assert emb.requested == "minilm-by-another-name"
    assert emb.identity == remote(server).identity and emb.identity["name"] == SERVED_NAME


def test_the_remote_embedder_answers_what_every_embedder_does(server, key_env):
    emb = remote(server, batch_size=8, concurrency=3)
    assert emb.loaded and emb.kind == "openai-embeddings" and emb.device.startswith("remote 127.0.0.1:")
    assert emb.chunk_size == 24 and emb.max_seq_length == 0  # one request per worker; the server cuts texts
    assert emb.truncated_mask(["a", "b " * 5000]).tolist() == [False, False]
    emb.close()


def test_unreachable_server_is_one_clear_line():
    url = f"http://127.0.0.1:{free_port()}/v1"
    t = time.perf_counter()
    with pytest.raises(RemoteEmbedError) as info:
        RemoteEmbedder(url, retries=2, backoff=0.05)
    message = str(info.value)
    assert isinstance(info.value, ModelError)
    assert message == f"embedding server {url}: unreachable (connection refused) (gave up after 3 tries)"
    assert time.perf_counter() - t < 10


def test_cli_reports_an_unreachable_server_in_one_line(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = run_qtui("cluster", str(SAMPLE), "--embed-url", url, "--retries", "1", "--cache-dir", str(tmp_path),
                      timeout=300)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(("Loading", "Load"))]
    assert lines == [f"qtui: error: embedding server {url}: unreachable (connection refused) (gave up after 2 tries)"]


@pytest.mark.parametrize("reply, problem", [
    ({"data": [{"embedding": [0.1, 0.2]}]}, "expected 2 vectors"),
    ({"data": [{"embedding": "x"}, {"embedding": "y"}]}, "no list of numbers"),
    ({"data": [{"embedding": [0.1, 0.2]}, {"embedding": [0.1]}]}, "no list of numbers"),
    ({"data": [{"embedding": [0.1, float("nan")]}, {"embedding": [0.1, 0.2]}]}, "NaN"),
    ({"object": "list"}, "no 'data' list"),
    ([1, 2], "no 'data' list"),
])
def test_malformed_replies_are_one_clear_line(reply, problem):
    emb = object.__new__(RemoteEmbedder)
    emb.url = "http://example.invalid/v1"
    with pytest.raises(RemoteEmbedError, match=problem) as info:
        emb._parse(reply, 2)
    assert str(info.value).startswith("embedding server http://example.invalid/v1: malformed reply: ")


def test_killing_the_server_keeps_the_finished_part_and_a_restart_resumes(server, key_env, tmp_path, embedder,
                                                                          record):
    texts = banking_texts(3000)
    n = len(texts)
    emb = remote(server, batch_size=32, concurrency=2, retries=2, backoff=0.2)
    cache = open_cache(emb, tmp_path)
    killed_at: list[int] = []

    def progress(p):
        if p.stage == "embed" and p.done >= n // 3 and not killed_at:
            killed_at.append(p.done)
            server.kill()

    try:
        with pytest.raises(RemoteEmbedError) as info:
            embed_texts(texts, emb, cache, progress)
        message = str(info.value)
        assert "\n" not in message and "unreachable" in message and server.url in message
        assert killed_at
        kept = len(EmbeddingCache(cache.dir.parent.parent, cache.dir.name, emb.identity))
        assert killed_at[0] <= kept < n
    finally:
        server.start()  # the other tests of this module (and the resume below) need it again
    emb2 = remote(server, batch_size=32, concurrency=2)
    assert emb2.identity == emb.identity
    t = time.perf_counter()
    vectors, stats = embed_texts(texts, emb2, open_cache(emb2, tmp_path))
    assert stats.cached == kept and stats.embedded == n - kept
    record(f"remote kill at {killed_at[0]:,}/{n:,} texts: {kept:,} kept in the cache, resume embedded "
           f"{stats.embedded:,} in {time.perf_counter() - t:.1f}s; restart took {server.start_seconds[-1]:.0f}s")
    check = np.linspace(0, n - 1, 50).astype(int)
    want = embedder.encode([texts[i] for i in check])
    assert ((vectors[check].astype(np.float32) * want).sum(axis=1)).min() >= 0.998
