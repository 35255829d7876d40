"""Run the real ``qtui`` command in a subprocess (the console script of this environment)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def qtui_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m tui.cli``."""
    script = Path(sys.executable).parent / "qtui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tui.cli"]


def qtui_env(**extra: str) -> dict:
    """The environment for a ``qtui`` subprocess: offline, and the project root first on ``PYTHONPATH``, so
    it runs this checkout's code even where the console script was installed (editable) from another one."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": path, **extra}


def run_qtui(*args: str, timeout: float = 1800, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``qtui ARGS`` from the project root and capture its output (text)."""
    full_env = qtui_env(COLUMNS="120", **(env or {}))
    return subprocess.run([*qtui_command(), *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout)
