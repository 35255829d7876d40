"""End to end in a real terminal (tmux) and over SSH on 127.0.0.1: what a person actually sees."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SAMPLE
from tests.test_faults import fill
from tests.terminal import ROOT, SSH_LOOPBACK, Terminal, free_port, need_tool, qtui_binary

ARGS = ["--algo", "kmeans", "--k", "8"]


def walk_the_app(term: Terminal) -> None:
    """The same short session a new user would have: look, move, search, help, quit."""
    screen = term.wait("Members of", timeout=300)
    assert "Clusters" in screen and "320 texts" in screen
    term.keys("Down", "Down")
    term.keys("Enter", "j")
    term.keys("/")
    term.type("电池 battery")
    screen = term.wait("Texts like", timeout=60)
    assert "#" in screen
    term.keys("Escape")
    term.wait("Members of", timeout=30)
    term.keys("?")
    term.wait("qtui help", timeout=30)
    term.keys("Escape")
    term.keys("q")
    assert term.exit_status(15).startswith("exited 0")


def test_real_terminal_session(tmp_path, cache_root):
    term = Terminal([qtui_binary(), "open", str(SAMPLE), *ARGS], size="120x36",
                    env={"QTUI_CACHE_DIR": str(cache_root)})
    try:
        walk_the_app(term)
    finally:
        term.stop()


def test_over_ssh(tmp_path, cache_root):
    tool = need_tool(SSH_LOOPBACK)
    port = str(free_port())
    env = {**os.environ, "SSH_LOOPBACK_DIR": str(tmp_path / "ssh")}
    started = subprocess.run([tool, "start", "--port", port], env=env, capture_output=True, text=True, timeout=900)
    if started.returncode != 0:
        pytest.skip(f"sshd could not be started on 127.0.0.1 (not installable here?): {started.stderr.strip()[-300:]}")
    try:
        # sshd does not pass our environment on: name the test's cache and review directories
        # explicitly, or the remote app would find reviews saved by earlier runs and ask to resume.
        remote = ["env", f"QTUI_CACHE_DIR={cache_root}", f"QTUI_DATA_DIR={tmp_path / 'reviews'}", "HF_HUB_OFFLINE=1", f"HOME={os.environ.get('HOME', '/root')}",
                  qtui_binary(), "open", str(SAMPLE), *ARGS]
        term = Terminal([tool, "ssh", *remote], size="100x30", env={"SSH_LOOPBACK_DIR": str(tmp_path / "ssh"),
                                                                     "SSH_LOOPBACK_PORT": port})
        try:
            walk_the_app(term)
        finally:
            term.stop()
    finally:
        subprocess.run([tool, "stop"], env=env, capture_output=True, text=True, timeout=60)
    assert ROOT.exists()


# ---------------------------------------------------------------------- a review is never lost, seen for real


def open_in_terminal(path, cache_root, data_dir, size="120x36") -> Terminal:
    return Terminal([qtui_binary(), "open", str(path), *ARGS], size=size,
                    env={"QTUI_CACHE_DIR": str(cache_root), "QTUI_DATA_DIR": str(data_dir)})


def test_export_over_the_input_is_refused_on_screen(tmp_path, cache_root):
    path = tmp_path / "c.jsonl"
    path.write_bytes(SAMPLE.read_bytes())
    term = open_in_terminal(path, cache_root, tmp_path / "data")
    try:
        term.wait("Members of", timeout=300)
        term.keys("e")
        term.wait("Export the review to", timeout=30)
        term.keys("C-u")
        term.type(str(path))
        term.keys("Enter")
        screen = term.wait("Not exported", timeout=30)
        assert "never writes" in screen and "over its input" in screen
        term.png(tmp_path / "export-refused.png")
        term.keys("Escape")
        term.keys("q")
        assert term.exit_status(15).startswith("exited 0")
    finally:
        term.stop()
    assert path.read_bytes() == SAMPLE.read_bytes()


def test_quit_after_a_failed_save_on_a_full_disk_asks(tmp_path, cache_root):
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(tiny)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    term = None
    try:
        term = open_in_terminal(SAMPLE, cache_root, tiny)
        term.wait("Members of", timeout=300)
        filler = fill(tiny)
        term.keys("n")
        term.wait("Name cluster", timeout=30)
        term.keys("C-u")
        term.type("named on a full disk")
        term.keys("Enter")
        term.wait("1 change not saved", timeout=30)
        term.keys("q")
        screen = term.wait("Quit and lose 1 change", timeout=30)
        assert "No space" in screen and "left on device" in screen and "Stay" in screen  # wrapped in the dialog
        term.png(tmp_path / "quit-unsaved.png")
        term.keys("Escape")
        filler.unlink()
        term.keys("q")
        assert term.exit_status(15).startswith("exited 0")
        states = list(tiny.glob("reviews/*/state.json"))
        assert states and "named on a full disk" in states[0].read_text(encoding="utf-8")
    finally:
        if term is not None:
            term.stop()
        subprocess.run(["umount", "-l", str(tiny)], capture_output=True)


def test_a_grown_file_is_reopened_with_its_review(tmp_path, cache_root):
    path = tmp_path / "c.jsonl"
    path.write_bytes(SAMPLE.read_bytes())
    data = tmp_path / "data"
    term = open_in_terminal(path, cache_root, data)
    try:
        term.wait("Members of", timeout=300)
        term.keys("n")
        term.wait("Name cluster", timeout=30)
        term.keys("C-u")
        term.type("kept across edits")
        term.keys("Enter")
        term.wait("kept across edits", timeout=30)
        term.keys("q")
        assert term.exit_status(15).startswith("exited 0")
    finally:
        term.stop()
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"id": "c9999", "text": "充电很快 charges fast"}\n')
    term = open_in_terminal(path, cache_root, data)
    try:
        screen = term.wait("Resume your review", timeout=300)
        assert "320 rows matched by id, 1 added, 0 removed" in screen.replace("\n", " ").replace("  ", " ") or \
            "1 added" in screen
        term.png(tmp_path / "grown-resume.png")
        term.keys("Enter")
        term.wait("1 new row placed", timeout=120)
        term.keys("Escape")
        screen = term.wait("kept across edits", timeout=60)
        assert "321 texts" in screen
        term.keys("q")
        assert term.exit_status(15).startswith("exited 0")
    finally:
        term.stop()


# ---------------------------------------------------------------------- the suspects queue, seen for real


@pytest.mark.parametrize("size", ["80x24", "160x48"])
def test_a_suspects_review_in_a_real_terminal(tmp_path, cache_root, size):
    """Name a cluster, open the suspects (!), keep one (n), move one to its likely label (y), send one to an
    alternative (2), undo it; a PNG of each screen goes to $QTUI_SHOTS (else the test's folder) to look at."""
    shots = Path(os.environ.get("QTUI_SHOTS", tmp_path))
    term = open_in_terminal(SAMPLE, cache_root, tmp_path / "data", size=size)
    try:
        term.wait("Members of", timeout=300)
        term.keys("n")
        term.wait("Name cluster", timeout=30)
        term.keys("C-u")
        term.type("battery")
        term.keys("Enter")
        term.wait("battery", timeout=30)
        term.keys("!")
        screen = term.wait("suspects open", timeout=120)
        assert "(0 decided)" in screen and "conf." in screen and "likely" in screen
        term.png(shots / f"suspects-{size}-1-open.png")
        term.keys("n")
        term.wait("Kept 1 text where it is", timeout=30)
        term.keys("y")
        screen = term.wait("Moved 1 text to", timeout=30)
        assert "(2 decided)" in screen
        term.png(shots / f"suspects-{size}-2-kept-and-moved.png")
        term.keys("2")
        term.wait("(3 decided)", timeout=30)
        term.keys("C-z")
        screen = term.wait("(2 decided)", timeout=30)
        term.png(shots / f"suspects-{size}-3-undone.png")
        term.keys("Escape")
        term.wait("Members of", timeout=30)
        term.keys("q")
        assert term.exit_status(15).startswith("exited 0")
    finally:
        term.stop()
