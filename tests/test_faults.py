"""Faults injected for real: a full or read-only disk under export and autosave (the CLI, the store and the
app), an embedding server that answers garbage, hangs or drops the connection, kill -9 while embedding, and
the permissions of what qtui writes.  The app's own faults are in test_app_faults.py.

The tiny disk is a 64 KiB tmpfs mounted for the test (root only; skipped, saying so, elsewhere).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

import numpy as np
import pytest

from engine.cache import EmbeddingCache, text_hashes
from engine.clustering import ClusterSettings
from engine.embedding import embed_texts, open_cache
from engine.options import ModelOptions
from engine.remote_embedder import RemoteEmbedder, RemoteEmbedError
from engine.review import ReviewState, same_snapshot
from engine.review_info import ReviewContext
from engine.review_store import ReviewSaveError, ReviewStore
from tests.app_helpers import wait_opened, wait_until
from tests.bad_inputs import TEXTS
from tests.cli import ROOT
from tests.conftest import SAMPLE
from tui.app import QtuiApp
from tui.cli import main
from tests.test_review_store import Autosaved



@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    directory = tmp_path / "tiny"
    directory.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(directory)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        for _ in range(2):  # the read-only bind mount, if any, then the tmpfs
            subprocess.run(["umount", "-l", str(directory)], capture_output=True, check=False)


def fill(directory: Path) -> Path:
    """Write a file until the disk is full; returns it (delete it to free the space)."""
    filler = directory / "filler.bin"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 1024)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    with open(filler, "ab", buffering=0) as f:  # the last partial blocks too
        try:
            while True:
                f.write(b"\0")
        except OSError:
            pass
    return filler


def remount_read_only(directory: Path) -> None:
    """Make ``directory`` read-only from now on (a read-only bind mount over it: files open for writing
    in it, such as the review's lock, would stop a plain read-only remount)."""
    subprocess.run(["mount", "--bind", str(directory), str(directory)], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(directory)], check=True)


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


# --------------------------------------------------------------------------- export and autosave


@pytest.mark.parametrize("fault", ["disk full", "read-only"])
def test_export_to_a_full_or_read_only_disk_keeps_the_earlier_export(fault, tiny_disk, tmp_path, capsys):
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    out = tiny_disk / "clusters.csv"
    code, _, err = cli(capsys, "cluster", source, "--algo", "kmeans", "--k", "2", "-q", "--export", out)
    assert code == 0, err
    earlier = out.read_bytes()
    source.write_text("\n".join(TEXTS * 40) + "\n", encoding="utf-8")  # a bigger export this time
    filler = fill(tiny_disk) if fault == "disk full" else remount_read_only(tiny_disk)
    code, _, err = cli(capsys, "cluster", source, "--algo", "kmeans", "--k", "2", "-q", "--export", out)
    assert code == 2 and "--force" in err, err  # an existing file is replaced only when asked
    code, _, err = cli(capsys, "cluster", source, "--algo", "kmeans", "--k", "2", "-q", "--export", out, "--force")
    problem = "No space left on device" if fault == "disk full" else "Read-only file system"
    assert code == 1, err
    assert err.startswith(f"qtui: error: {out}: cannot write the export ({problem}") and err.count("\n") == 1
    assert err.endswith("); nothing was written there\n")
    assert out.read_bytes() == earlier
    assert leftovers(tiny_disk) == []
    if filler is not None:
        filler.unlink()
        code, _, err = cli(capsys, "cluster", source, "--algo", "kmeans", "--k", "2", "-q", "--export", out, "--force")
        assert code == 0, err
        assert out.read_bytes().count(b"\n") == len(TEXTS) * 40 + 1


class FakeCorpus:
    """What the review store needs of a corpus (a real one is not needed to test saving)."""

    def __init__(self, n: int) -> None:
        self.path, self.fingerprint, self.text_col = Path("/data/in.jsonl"), "e" * 32, "text"
        self.id_col, self.label_col, self.encoding, self.n = "id", None, "utf-8", n

    def __len__(self) -> int:
        return self.n


@pytest.mark.parametrize("fault", ["disk full", "read-only"])
def test_autosave_on_a_full_or_read_only_disk_keeps_the_saved_state(fault, tiny_disk, monkeypatch):
    monkeypatch.setenv("QTUI_DATA_DIR", str(tiny_disk))
    corpus = FakeCorpus(300)
    state = ReviewState(np.arange(300) % 6, np.full(300, 0.5, dtype=np.float32))
    store = ReviewStore.for_corpus(corpus)
    assert store.acquire()
    store.start(state, ReviewContext.of(corpus, ClusterSettings("kmeans", k=6), ModelOptions(device="cpu"),
                                        {"name": "m", "dim": 4}))
    state = Autosaved(state, store)
    state.rename(0, "saved before the fault")
    before = store.path.read_bytes()
    filler = fill(tiny_disk) if fault == "disk full" else remount_read_only(tiny_disk)
    problem = "No space left on device" if fault == "disk full" else "Read-only file system"
    with pytest.raises(ReviewSaveError, match=problem) as info:
        state.rename(1, "made during the fault")
    assert "\n" not in str(info.value) and "kept in memory" in str(info.value)
    assert state.name(1) == "made during the fault"  # the change is not lost in memory
    assert store.path.read_bytes() == before  # and the saved state is the previous good one
    assert leftovers(store.directory) == []
    again = ReviewStore(store.directory).load(corpus).state
    assert again.name(0) == "saved before the fault" and again.name(1) is None
    if filler is not None:
        filler.unlink()
        state.rename(2, "after the fault")  # the next save catches up with everything
        saved = ReviewStore(store.directory).load(corpus).state
        assert same_snapshot(saved.snapshot(), state.snapshot())
    store.release()


# --------------------------------------------------------------------------- a remote server answering garbage


class GarbageServer:
    """A real HTTP server on 127.0.0.1 that lists one model, answers the dimension probe well, then
    answers every document batch the way ``mode`` says; it counts the batch requests."""

    DIM = 4

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.batches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def reply(self, status: int, body: bytes, kind: str = "application/json", length: int | None = None):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self.reply(200, json.dumps({"data": [{"id": "garbage-model"}]}).encode())

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                texts = request["input"]
                good = {"model": "garbage-model", "data": [
                    {"index": i, "embedding": [1.0, 0.5, 0.25, float(i)]} for i in range(len(texts))]}
                if texts == ["qtui probe"]:
                    self.reply(200, json.dumps(good).encode())
                    return
                server.batches += 1
                mode = server.mode
                if mode == "html":
                    self.reply(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
                elif mode == "truncated":
                    self.reply(200, json.dumps(good).encode()[:25], length=4000)
                    self.close_connection = True
                elif mode == "drop":
                    self.close_connection = True  # no reply at all
                elif mode == "500":
                    self.reply(500, b'{"error": {"message": "CUDA out of memory"}}')
                elif mode == "hang":
                    time.sleep(2.0)
                    self.reply(200, json.dumps(good).encode())
                elif mode == "too few":
                    self.reply(200, json.dumps({"data": good["data"][:-1]}).encode())
                elif mode == "zeros":
                    self.reply(200, json.dumps({"data": [{"index": i, "embedding": [0.0] * 4}
                                                         for i in range(len(texts))]}).encode())
                elif mode == "strings":
                    self.reply(200, json.dumps({"data": [{"index": i, "embedding": "0.1,0.2"}
                                                         for i in range(len(texts))]}).encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("mode, retried, problem", [
    ("html", False, "malformed reply: reply is not JSON (<html><body>502 Bad Gateway</body></html>)"),
    ("truncated", True, "unreachable"),
    ("drop", True, "connection closed by the server"),
    ("500", True, "HTTP 500 (CUDA out of memory)"),
    ("hang", True, "timed out"),
    ("too few", False, "malformed reply: expected 3 vectors, got 2 vectors"),
    ("zeros", False, "malformed reply: a vector is all zeros"),
    ("strings", False, "malformed reply: an item has no list of numbers"),
])
def test_a_garbage_answering_server_gives_bounded_retries_one_line_and_caches_nothing(mode, retried, problem,
                                                                                       tmp_path):
    texts = ["first text", "second text", "third text"]
    with GarbageServer(mode) as server:
        embedder = RemoteEmbedder(server.url, retries=2, backoff=0.01, timeout=0.5)
        cache = open_cache(embedder, tmp_path)
        with pytest.raises(RemoteEmbedError) as info:
            embed_texts(texts, embedder, cache)
        embedder.close()
    message = str(info.value)
    assert message.startswith(f"embedding server {server.url}: ") and problem in message and "\n" not in message
    assert server.batches == (3 if retried else 1)  # retries=2: at most three tries, then it stops
    fresh = EmbeddingCache(tmp_path, cache.dir.name, embedder.identity)
    found, _ = fresh.lookup(text_hashes(texts))
    assert not found.any()


async def test_the_app_on_a_full_disk_says_so_shows_the_change_and_saves_it_once_there_is_room(embedder, tmp_path,
                                                                                                tiny_disk, monkeypatch):
    monkeypatch.setenv("QTUI_DATA_DIR", str(tiny_disk))
    app = QtuiApp(SAMPLE, settings=ClusterSettings("kmeans", k=8), embedder=embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        first = app.board.state.cluster_ids()[0]
        filler = fill(tiny_disk)
        errors, shown = [], app.notify

        def notify(message, **kw):  # the real notification still shows; the errors are also kept here
            if kw.get("severity") == "error":
                errors.append(message)
            return shown(message, **kw)

        app.notify = notify
        await pilot.press("n")
        app.screen.query_one("#prompt-input").value = "named on a full disk"
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.board.version == app.board.state.version, 60, "the refreshed panes")
        assert errors and all("No space left on device" in e and "kept in memory" in e for e in errors)
        assert app.board.name(first) == "named on a full disk"  # shown, not only held in memory
        assert "1 change not saved" in str(app.query_one("#status").render())
        filler.unlink()
        await pilot.press("a")  # the next action saves both
        await wait_until(pilot, lambda: app.board.version == app.board.state.version, 60, "the refreshed panes")
        saved = ReviewStore(app.review.store.directory).load(app.session.corpus).state
        assert saved.name(first) == "named on a full disk"
        assert same_snapshot(saved.snapshot(), app.board.state.snapshot())
        assert "not saved" not in str(app.query_one("#status").render())


# --------------------------------------------------------------------------- kill -9 while embedding


def test_kill_minus_9_while_embedding_keeps_finished_batches_and_every_cached_vector_is_right(embedder, tmp_path,
                                                                                               record):
    """A real ``qtui cluster`` is killed (SIGKILL) once its first batches are in the cache; the rerun
    embeds only the rest, and every cached vector equals what the model gives for its text."""
    import signal

    words = ["battery", "screen", "delivery", "price", "sound", "refund", "courier", "charger", "speaker", "update"]
    texts = [f"{i} {words[i % 10]} {words[(i * 7) % 10]} comment number {i * 31 % 997}" for i in range(1200)]
    path = tmp_path / "many.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    cache = tmp_path / "cache"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QTUI_CACHE_DIR": str(cache)}
    command = [str(Path(sys.executable).parent / "qtui"), "cluster", str(path), "--algo", "kmeans", "--k", "2",
               "--model", "all-MiniLM-L6-v2", "--device", "cpu", "-q", "--json"]  # the model the test checks with
    child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not list(cache.glob("embeddings/*/*.qvec")):
            assert child.poll() is None, "the run ended before any batch was cached"
            assert time.monotonic() < deadline, "no batch was cached in 300 s"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    kept, vectors = open_cache(embedder, cache).lookup(text_hashes(texts))
    assert 0 < kept.sum() < len(texts)
    fresh = embedder.encode([t for t, k in zip(texts, kept) if k]).astype(np.float16).astype(np.float32)
    cosine = np.sum(vectors.astype(np.float32) * fresh, axis=1)
    assert cosine.min() > 0.999, f"a cached vector is wrong (cosine {cosine.min():.4f})"
    rerun = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert rerun.returncode == 0, rerun.stderr
    embedding = json.loads(rerun.stdout)["embedding"]
    assert embedding["cached"] == kept.sum() and embedding["embedded"] == len(texts) - kept.sum()
    assert open_cache(embedder, cache).lookup(text_hashes(texts))[0].all()
    record(f"kill -9 while embedding: {kept.sum()} of {len(texts)} texts kept, {embedding['embedded']} embedded "
           f"on the rerun, every kept vector right (min cosine {cosine.min():.4f})")


# --------------------------------------------------------------------------- permissions of what qtui writes


def test_cache_review_and_export_files_follow_the_users_umask(tmp_path, capsys, monkeypatch):
    """With umask 027, every file qtui writes (cache shards, review state, lock, blobs, export) is 0640 and
    every directory it makes 0750: the user's default permissions, nothing wider, nothing executable."""
    cache, data = tmp_path / "cache", tmp_path / "data"
    monkeypatch.setenv("QTUI_CACHE_DIR", str(cache))
    monkeypatch.setenv("QTUI_DATA_DIR", str(data))
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(f"{t} (permissions {i})" for i, t in enumerate(TEXTS)) + "\n", encoding="utf-8")
    previous = os.umask(0o027)
    try:
        code, _, err = cli(capsys, "cluster", source, "--algo", "kmeans", "--k", "2", "-q", "--export",
                           tmp_path / "out" / "clusters.csv")
        assert code == 1 and err == (f"qtui: error: {tmp_path / 'out' / 'clusters.csv'}: the folder "
                                     f"{tmp_path / 'out'} does not exist; create it or export somewhere else\n")
        (tmp_path / "out").mkdir()
        code, _, err = cli(capsys, "cluster", source, "--algo", "kmeans", "--k", "2", "-q", "--export",
                           tmp_path / "out" / "clusters.csv")
        assert code == 0, err
        corpus = FakeCorpus(300)
        store = ReviewStore.for_corpus(corpus)
        assert store.acquire()
        state = ReviewState(np.arange(300) % 6, np.full(300, 0.5, dtype=np.float32))
        store.start(state, ReviewContext.of(corpus, ClusterSettings("kmeans", k=6), ModelOptions(device="cpu"),
                                            {"name": "m", "dim": 4}))
        store.release()
    finally:
        os.umask(previous)
    written = [p for root in (cache, data, tmp_path / "out") for p in [root, *root.rglob("*")]]
    assert any(p.suffix == ".qvec" for p in written) and any(p.name == "state.json" for p in written)
    for p in written:
        mode = p.stat().st_mode & 0o777
        assert mode == (0o750 if p.is_dir() else 0o640), f"{p}: {oct(mode)}"
