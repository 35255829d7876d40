"""Drive the real ``qtui`` in a real terminal: tmux through ../shared/tools/tui-drive, sshd through ssh-loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT.parent / "shared" / "tools"
TUI_DRIVE = TOOLS / "tui-drive"
SSH_LOOPBACK = TOOLS / "ssh-loopback"


def qtui_binary() -> str:
    script = Path(sys.executable).parent / "qtui"
    if not script.exists():
        pytest.skip(f"the qtui console script is not installed beside {sys.executable}")
    return str(script)


def need_tool(path: Path) -> str:
    if not path.exists():
        pytest.skip(f"{path} is not present on this machine")
    return str(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Terminal:
    """One tmux session running a command, read and driven like a person would."""

    def __init__(self, command: list[str], size: str = "100x30", env: dict | None = None) -> None:
        self.tool = need_tool(TUI_DRIVE)
        self.name = f"qtui-test-{uuid.uuid4().hex[:8]}"
        self.env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
        result = self._run("start", self.name, "--size", size, "--cwd", str(ROOT), "--", *command, timeout=900)
        if result.returncode != 0:
            pytest.skip(f"tui-drive could not start a terminal (tmux missing and not installable?): "
                        f"{result.stderr.strip()[-300:]}")

    def _run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([self.tool, *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def wait(self, pattern: str, timeout: float = 120) -> str:
        result = self._run("wait", self.name, pattern, "--timeout", str(int(timeout)), timeout=timeout + 30)
        assert result.returncode == 0, f"did not see {pattern!r}:\n{result.stdout}\n{result.stderr}"
        return self.screen()

    def keys(self, *keys: str, settle: str | None = None) -> None:
        extra = ["--settle", settle] if settle is not None else []
        result = self._run("keys", self.name, *extra, *keys, timeout=60)
        assert result.returncode == 0, f"keys {keys} failed:\n{result.stdout}\n{result.stderr}"

    def type(self, text: str) -> None:
        result = self._run("keys", self.name, "-l", text, timeout=60)
        assert result.returncode == 0, result.stderr

    def screen(self) -> str:
        return self._run("screen", self.name).stdout

    def png(self, path: Path) -> Path:
        result = self._run("png", self.name, str(path), timeout=600)
        assert result.returncode == 0, result.stderr
        return path

    def exit_status(self, wait: float = 10) -> str:
        return self._run("status", self.name, "--wait", str(int(wait)), timeout=wait + 30).stdout.strip()

    def stop(self) -> None:
        self._run("stop", self.name)


def have_sshd() -> bool:
    return shutil.which("sshd") is not None or Path("/usr/sbin/sshd").exists()
