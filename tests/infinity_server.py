"""Start and stop a real infinity-emb server (its own virtual environment) serving the bundled MiniLM.

The binary is ``$QTUI_INFINITY_BIN`` or ``.venv-infinity/bin/infinity_emb`` (``.ci/run``
installs it there); tests that need it skip, saying so, when it is absent.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVED_NAME = "all-MiniLM-L6-v2"
API_KEY = "qtui-test-key-7f3a"
START_TIMEOUT = 420.0


def infinity_bin() -> Path | None:
    """The infinity_emb executable, or None when it is not installed."""
    env = os.environ.get("QTUI_INFINITY_BIN")
    path = Path(env) if env else ROOT / ".venv-infinity" / "bin" / "infinity_emb"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class InfinityServer:
    """One infinity_emb process on 127.0.0.1:``port`` with ``/v1`` routes; restartable on the same port."""

    def __init__(self, binary: Path, model_dir: Path, log_dir: Path, api_key: str | None = API_KEY) -> None:
        self.binary = binary
        self.model_dir = model_dir
        self.log_dir = log_dir
        self.api_key = api_key
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.start_seconds: list[float] = []

    def start(self) -> None:
        """Start the server and wait until it answers (it takes tens of seconds on two cores)."""
        self.starts += 1
        log = open(self.log_dir / f"infinity-{self.starts}.log", "wb")
        cmd = [str(self.binary), "v2", "--model-id", str(self.model_dir), "--served-model-name", SERVED_NAME,
               "--host", "127.0.0.1", "--port", str(self.port), "--url-prefix", "/v1", "--no-bettertransformer",
               "--batch-size", "32", "--device", "cpu"]
        if self.api_key:
            cmd += ["--api-key", self.api_key]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "INFINITY_ANONYMOUS_USAGE_STATS": "0",
               "DO_NOT_TRACK": "1", "TOKENIZERS_PARALLELISM": "false"}
        t = time.perf_counter()
        self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"infinity_emb exited with {self.process.returncode}: {self.log_tail()}")
            if self._ready():
                self.start_seconds.append(time.perf_counter() - t)
                return
            time.sleep(1.0)
        self.stop()
        raise RuntimeError(f"infinity_emb did not answer within {START_TIMEOUT:.0f}s: {self.log_tail()}")

    def _ready(self) -> bool:
        request = urllib.request.Request(f"{self.url}/models")
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:
                return reply.status == 200 and bool(json.loads(reply.read()).get("data"))
        except (OSError, ValueError):
            return False

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash or a lost machine would."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 20 s)."""
        self._signal(signal.SIGTERM)

    def _signal(self, sig: int) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)  # its own session: the server and any worker it forked
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)

    def log_tail(self, chars: int = 1500) -> str:
        path = self.log_dir / f"infinity-{self.starts}.log"
        try:
            return path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"
