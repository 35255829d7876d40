"""Faults injected for real: a full or read-only disk under export and autosave, an embedding server that
answers garbage, hangs or drops the connection, a terminal resized and mashed, a second qtui on the same review.

The tiny disk is a 64 KiB tmpfs mounted for the test (root only; skipped, saying so, elsewhere).
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

import numpy as np
import pytest
from textual import events

from engine.cache import EmbeddingCache, text_hashes
from engine.clustering import ClusterSettings
from engine.embedding import embed_texts, open_cache
from engine.loading import load
from engine.options import ModelOptions
from engine.remote_embedder import RemoteEmbedder, RemoteEmbedError
from engine.review import ReviewState, same_snapshot
from engine.review_store import ReviewContext, ReviewSaveError, ReviewStore
from tests.app_helpers import wait_opened, wait_until
from tests.bad_inputs import TEXTS
from tests.cli import ROOT
from tests.conftest import SAMPLE
from tui.app import QtuiApp
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


# --------------------------------------------------------------------------- the terminal: resized and mashed

#: Every key the app binds, navigation and text keys; never q, ctrl+c or the command palette (they quit).
MASH_KEYS = ["1", "2", "3", "4", "A", "C", "D", "G", "I", "L", "M", "S", "a", "c", "ctrl+b", "ctrl+f", "ctrl+s", "ctrl+y", "ctrl+z", "d", "delete", "down", "e", "end", "enter", "equals_sign", "escape", "f1", "g", "home", "j", "k", "m", "minus", "n", "pagedown", "pageup", "plus", "question_mark", "s", "shift+tab", "slash", "space", "tab", "u", "up", "v", "x", "left", "right", "backspace", "b", "h", "o", "r", "t", "w", "y", "z", "0", "9", "comma", "full_stop"]
SIZES = [(40, 12), (120, 36), (60, 20), (200, 60), (40, 12)]


def key_event(key: str) -> events.Key:
    """The event a terminal sends for ``key``, with its character when it has one."""
    chars = {"full_stop": ".", "comma": ",", "minus": "-", "plus": "+", "equals_sign": "=", "question_mark": "?",
             "slash": "/", "space": " "}
    return events.Key(key, chars.get(key, key if len(key) == 1 else None))


async def test_resizing_and_thousands_of_random_keys_keep_the_app_and_the_review_consistent(embedder, tmp_path,
                                                                                             record):
    """Keys arrive faster than the app handles them (posted 25 at a time, as a person mashing the keyboard
    does), between resizes down to 40x12; the app never raises and its autosave equals what it shows."""
    path = tmp_path / "comments.jsonl"  # a copy: an export chosen by the keys lands beside it, in tmp_path
    shutil.copy(SAMPLE, path)
    rng = random.Random(8)
    keys = 0
    app = QtuiApp(path, settings=ClusterSettings("kmeans", k=8), embedder=embedder)
    t = time.perf_counter()
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_opened(pilot)
        for size in SIZES:
            await pilot.resize_terminal(*size)
            for _ in range(16):
                for _ in range(25):
                    app.post_message(key_event(rng.choice(MASH_KEYS)))
                    keys += 1
                await pilot.pause(0.02)
            await pilot.pause()
            assert app.return_code is None and app.board is not None
        await pilot.resize_terminal(120, 36)
        for _ in range(20):  # leave every dialog, let running workers finish
            await pilot.press("escape")
        await wait_until(pilot, lambda: not any(w.is_running for w in app.workers), 120, "the workers")
        await pilot.pause(0.2)
        state = app.board.state
        assert len(state.labels) == len(app.session.corpus) == 320
        assert set(np.unique(state.labels).tolist()) <= set(state.cluster_ids()) | {-1, -2}
        saved = ReviewStore(app.store.directory).load(app.session.corpus).state
        assert same_snapshot(saved.snapshot(), state.snapshot()), "the autosaved review differs from the screen"
        actions = len(state.history()[0])
    record(f"key mashing: {keys} random keys at 5 sizes down to 40x12, {actions} review actions, "
           f"{time.perf_counter() - t:.0f} s, no exception, autosave identical to memory")


# --------------------------------------------------------------------------- a second qtui on the same review

HOLDER = textwrap.dedent("""
    import sys, time
    from engine.review_store import ReviewStore
    store = ReviewStore(sys.argv[1])
    print("locked" if store.acquire() else "busy", flush=True)
    time.sleep(120)
""")


async def test_a_second_qtui_on_the_same_file_opens_read_only_and_changes_nothing(embedder, tmp_path):
    """The first qtui (a real process holding the review) keeps its saved review byte for byte while a
    second one opens the file, resumes read-only, and has every review key pressed."""
    path = tmp_path / "comments.jsonl"
    shutil.copy(SAMPLE, path)
    first = QtuiApp(path, settings=ClusterSettings("kmeans", k=8), embedder=embedder)
    async with first.run_test(size=(120, 36)) as pilot:
        await wait_opened(pilot)
        first.board.state.rename(first.board.state.cluster_ids()[0], "named by the first qtui")
        directory = first.store.directory
    saved = (directory / "state.json").read_bytes()
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    holder = subprocess.Popen([sys.executable, str(script), str(directory)], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "locked"
        second = QtuiApp(path, settings=ClusterSettings("kmeans", k=8), embedder=embedder)
        async with second.run_test(size=(120, 36)) as pilot:
            await wait_until(pilot, lambda: type(second.screen).__name__ == "ChoiceScreen", 120, "resume?")
            await pilot.press("enter")  # resume
            await wait_opened(pilot)
            assert second.board.state.read_only and second.store.read_only
            assert second.board.state.name(second.board.state.cluster_ids()[0]) == "named by the first qtui"
            for keys in (["n", *"renamed", "enter"], ["a"], ["x"], ["space", "j", "space", "M", "enter"],
                         ["S", "enter"], ["ctrl+z"], ["enter", "A", "v", "enter"], ["escape", "escape"]):
                await pilot.press(*keys)
                await pilot.pause(0.1)
            assert second.board.state.name(second.board.state.cluster_ids()[0]) == "named by the first qtui"
            assert len(second.board.state.history()[0]) == 1  # only the first one's rename is in the log
        assert (directory / "state.json").read_bytes() == saved
    finally:
        holder.kill()
        holder.wait()
    assert (directory / "state.json").read_bytes() == saved


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
        assert len(errors) == 1 and "No space left on device" in errors[0] and "kept in memory" in errors[0]
        assert app.board.name(first) == "named on a full disk"  # shown, not only held in memory
        filler.unlink()
        await pilot.press("a")  # the next action saves both
        await wait_until(pilot, lambda: app.board.version == app.board.state.version, 60, "the refreshed panes")
        saved = ReviewStore(app.store.directory).load(app.session.corpus).state
        assert saved.name(first) == "named on a full disk"
        assert same_snapshot(saved.snapshot(), app.board.state.snapshot())


# --------------------------------------------------------------------------- hostile texts in a real terminal


def test_escape_sequences_in_texts_and_file_names_are_shown_not_run_in_a_real_terminal(tmp_path, cache_root):
    """Texts that would clear the screen, set the window title or ring the bell, in a file whose name holds
    an escape too, are shown as visible escapes in a real terminal (tmux)."""
    from tests.terminal import Terminal, qtui_binary

    path = tmp_path / "evil\x1b[31mname.txt"
    lines = [f"{kind} {topic} number {i}" for i, (kind, topic) in enumerate(
        (kind, topic) for kind in ("red \x1b[31malert\x1b[0m", "clear\x1b[2J\x1b[H screen", "title \x1b]0;pwned\x07 set",
                                   "bell\x07\x07 ring")
        for topic in ("battery drains fast", "screen cracked"))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    term = Terminal([qtui_binary(), "open", str(path), "--algo", "kmeans", "--k", "2"], size="150x40",
                    env={"QTUI_CACHE_DIR": str(cache_root), "QTUI_DATA_DIR": str(tmp_path / "data")})
    try:
        screen = term.wait("Members of", timeout=300)
        shown = [kind for kind in ("\\x1b[31malert", "\\x1b[2J", "\\x1b]0;pwned\\x07", "bell\\x07\\x07") if kind in screen]
        assert shown, screen
        assert "Clusters" in screen  # nothing cleared the screen
        term.keys("q")
        assert term.exit_status(15).startswith("exited 0")
    finally:
        term.stop()


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
               "--device", "cpu", "-q", "--json"]
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


# --------------------------------------------------------------------------- kill -9 during review, in a real terminal


def test_kill_minus_9_during_review_in_a_real_terminal_and_resume(tmp_path, cache_root):
    """Name and accept a cluster in the real app in tmux, kill -9 it, open the file again: resuming
    shows both decisions."""
    import signal

    from tests.terminal import Terminal, qtui_binary

    path = tmp_path / "comments.jsonl"
    shutil.copy(SAMPLE, path)
    pid_file = tmp_path / "qtui.pid"
    env = {"QTUI_CACHE_DIR": str(cache_root), "QTUI_DATA_DIR": str(tmp_path / "data")}
    launch = f'echo $$ > "{pid_file}"; exec "{qtui_binary()}" open "{path}" --algo kmeans --k 8'
    term = Terminal(["sh", "-c", launch], size="140x40", env=env)
    try:
        term.wait("Members of", timeout=300)
        term.keys("n")
        term.wait("Esc cancels", timeout=30)
        term.keys("C-u")
        term.type("killed-but-kept")
        term.keys("Enter")
        term.wait("killed-but-kept", timeout=30)
        term.keys("a")
        term.wait("1/8 clusters", timeout=30)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
    finally:
        term.stop()
    corpus = load(path)  # the review is saved in this test's data dir (QTUI_DATA_DIR, set above and by the fixture)
    state = ReviewStore.for_corpus(corpus).load(corpus).state
    named = [c for c in state.cluster_ids() if state.name(c) == "killed-but-kept"]
    assert len(named) == 1 and state.status(named[0]) == "accepted"
    term = Terminal([qtui_binary(), "open", str(path), "--algo", "kmeans", "--k", "8"], size="140x40", env=env)
    try:
        term.wait("Resume", timeout=300)
        term.keys("Enter")
        screen = term.wait("Members of", timeout=300)
        assert "killed-but-kept" in screen and "1/8 clusters" in screen
        term.keys("q")
    finally:
        term.stop()


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
