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


def run_qtui(*args: str, timeout: float = 1800, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``qtui ARGS`` from the project root and capture its output (text)."""
    # PYTHONPATH: this checkout's code, not that of wherever the console script's package was installed from
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "120", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([*qtui_command(), *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout)
