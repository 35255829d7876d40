"""Faults in the app itself: a terminal resized and mashed, a second qtui on the same review, escape sequences
in a real terminal, kill -9 of the app in the middle of a review (real processes in tmux where it matters)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
from textual import events

from engine.clustering import ClusterSettings
from engine.loading import load
from engine.review import same_snapshot
from engine.review_store import ReviewStore
from tests.app_helpers import wait_opened, wait_until
from tests.cli import ROOT
from tests.conftest import SAMPLE
from tests.terminal import Terminal, qtui_binary
from tui.app import QtuiApp



# --------------------------------------------------------------------------- the terminal: resized and mashed

#: Every key the app binds, navigation and text keys; never q, ctrl+c or the command palette (they quit).
MASH_KEYS = [
    "1", "2", "3", "4", "5", "6", "A", "C", "D", "G", "I", "L", "M", "R", "S", "a", "c", "ctrl+b", "ctrl+f", "ctrl+s",
    "ctrl+y", "ctrl+z", "f", "d", "delete", "down", "e", "end", "enter", "equals_sign", "escape", "f1", "g", "home",
    "j", "k", "m", "minus", "n", "pagedown", "pageup", "plus", "question_mark", "s", "shift+tab", "slash", "space",
    "tab", "u", "up", "v", "x", "left", "right", "backspace", "b", "h", "o", "r", "t", "w", "y", "z", "0", "9",
    "comma", "full_stop", "exclamation_mark", "N", "P",
]
SIZES = [(40, 12), (120, 36), (60, 20), (200, 60), (40, 12)]


def key_event(key: str) -> events.Key:
    """The event a terminal sends for ``key``, with its character when it has one."""
    chars = {"full_stop": ".", "comma": ",", "exclamation_mark": "!", "minus": "-", "plus": "+", "equals_sign": "=", "question_mark": "?",
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
        saved = ReviewStore(app.review.store.directory).load(app.session.corpus).state
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
        first.review.rename(first.board.state.cluster_ids()[0], "named by the first qtui")
        directory = first.review.store.directory
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
            assert second.review.read_only
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


# --------------------------------------------------------------------------- hostile texts in a real terminal


def test_escape_sequences_in_texts_and_file_names_are_shown_not_run_in_a_real_terminal(tmp_path, cache_root):
    """Texts that would clear the screen, set the window title or ring the bell, in a file whose name holds
    an escape too, are shown as visible escapes in a real terminal (tmux)."""
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


# --------------------------------------------------------------------------- kill -9 during review, in a real terminal


def test_kill_minus_9_during_review_in_a_real_terminal_and_resume(tmp_path, cache_root):
    """Name and accept a cluster in the real app in tmux, kill -9 it, open the file again: resuming
    shows both decisions."""
    path = tmp_path / "comments.jsonl"
    shutil.copy(SAMPLE, path)
    pid_file = tmp_path / "qtui.pid"
    env = {"QTUI_CACHE_DIR": str(cache_root), "QTUI_DATA_DIR": os.environ["QTUI_DATA_DIR"]}
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
        term.wait("Members of", timeout=300)
        # both decisions on screen (a wait, not the first frame read: tmux can be read while a frame is
        # still arriving, which under load once gave a screen with the board's title but not yet its rows)
        term.wait("killed-but-kept", timeout=30)
        term.wait("1/8 clusters", timeout=30)
        term.keys("q")
    finally:
        term.stop()
