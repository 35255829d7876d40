"""Faults injected for real: a full or read-only disk under export and autosave, an embedding server that
answers garbage, hangs or drops the connection, a terminal resized and mashed, a second qtui on the same review.

The tiny disk is a 64 KiB tmpfs mounted for the test (root only; skipped, saying so, elsewhere).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from engine.cache import EmbeddingCache, text_hashes
from engine.clustering import ClusterSettings
from engine.embedding import embed_texts, open_cache
from engine.options import ModelOptions
from engine.remote_embedder import RemoteEmbedder, RemoteEmbedError
from engine.review import ReviewState, same_snapshot
from engine.review_store import ReviewContext, ReviewSaveError, ReviewStore
from tests.bad_inputs import TEXTS
from tui.cli import main


@pytest.fixture(autouse=True)
def fresh_review_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("QTUI_DATA_DIR", str(tmp_path / "data"))


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
    problem = "No space left on device" if fault == "disk full" else "Read-only file system"
    assert code == 1
    assert err.startswith(f"qtui: error: {out}: cannot write the export ({problem}") and err.count("\n") == 1
    assert err.endswith("); nothing was written there\n")
    assert out.read_bytes() == earlier
    assert leftovers(tiny_disk) == []
    if filler is not None:
        filler.unlink()
        code, _, err = cli(capsys, "cluster", source, "--algo", "kmeans", "--k", "2", "-q", "--export", out)
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
    store.attach(state)
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

    def __enter__(self) -> GarbageServer:
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
