"""Shared fixtures: the real bundled model, a private embedding cache, the shared data sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
SAMPLE = ROOT / "samples" / "comments.jsonl"

_recorded: list[str] = []


def shared_set(name: str) -> Path:
    """Path of a shared labeled data set; skips the test (with the reason) when it is absent."""
    path = SHARED_DATA / f"{name}.jsonl"
    if not path.exists():
        pytest.skip(f"shared data set {path} is not present on this machine")
    return path


def shared_slice(name: str, step: int, folder: Path) -> Path:
    """Every ``step``-th line of a shared data set, written to ``folder`` (skips like :func:`shared_set`)."""
    path = folder / f"{name}-every-{step}.jsonl"
    lines = shared_set(name).read_text(encoding="utf-8").splitlines()[::step]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session", autouse=True)
def cache_root(tmp_path_factory) -> Path:
    """One embedding cache for the whole test session ($QTUI_TEST_CACHE to keep it between runs)."""
    kept = os.environ.get("QTUI_TEST_CACHE")
    root = Path(kept) if kept else tmp_path_factory.mktemp("qtui-cache")
    root.mkdir(parents=True, exist_ok=True)
    os.environ["QTUI_CACHE_DIR"] = str(root)
    return root


@pytest.fixture(scope="session", autouse=True)
def data_root(tmp_path_factory) -> Path:
    """Saved reviews go to a private directory for the whole session, never the user's own."""
    root = tmp_path_factory.mktemp("qtui-data")
    os.environ["QTUI_DATA_DIR"] = str(root)
    return root


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    """Each test saves its reviews in a fresh directory of its own (so no test finds another's review)."""
    path = tmp_path / "qtui-data"
    monkeypatch.setenv("QTUI_DATA_DIR", str(path))
    return path


def make_app(embedder, path: Path = SAMPLE, settings=None, **kwargs):
    """The real app on ``path`` with the session's model (KMeans k=8 unless ``settings`` says otherwise)."""
    from engine.clustering import ClusterSettings
    from tui.app import QtuiApp

    return QtuiApp(path, settings=settings or ClusterSettings("kmeans", k=8), embedder=embedder, **kwargs)


@pytest.fixture(scope="session")
def embedder():
    """The real bundled all-MiniLM-L6-v2, loaded once per session on the CPU."""
    from engine.st_embedder import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(device="cpu")
    embedder.load()  # loaded up front, so what the app shows does not depend on when it loads
    return embedder


@pytest.fixture
def record():
    """Record a measured figure; all of them are printed at the end of the run (never asserted as timings)."""
    return _recorded.append


def pytest_terminal_summary(terminalreporter):
    if _recorded:
        terminalreporter.section("qtui measurements")
        for line in _recorded:
            terminalreporter.write_line(line)
