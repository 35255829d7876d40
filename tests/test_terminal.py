"""End to end in a real terminal (tmux) and over SSH on 127.0.0.1: what a person actually sees."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import SAMPLE
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
