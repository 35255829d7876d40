"""Snapshot tests of the key screens (SVG, pytest-textual-snapshot) at 80×24 and 160×48.

The sample mixes Chinese and English, so these also pin down wide-character
alignment.  After an intended change of the look, review the new pictures
and update them with ``pytest tests/app/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.clustering import ClusterSettings
from tests.app_helpers import wait_opened, wait_until
from tui.app import QtuiApp

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = Path("samples/comments.jsonl")  # relative: the title must not depend on where the clone lives


@pytest.fixture(autouse=True)
def in_project_root(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("QTUI_DATA_DIR", str(tmp_path / "data"))  # no saved review: no resume question


def app_for(embedder) -> QtuiApp:
    return QtuiApp(SAMPLE, settings=ClusterSettings("kmeans", k=8), embedder=embedder)


async def settled(pilot) -> None:
    """Wait for the clusters, the selected text's neighbours and the map, so the picture is complete."""
    app = pilot.app
    await wait_opened(pilot)
    await wait_until(pilot, lambda: app.board_screen.detail.neighbours_shown_for >= 0 or app.size.width < 130, 60, "the neighbours")
    await wait_until(pilot, lambda: app.board_screen.detail.map_xy is not None, 60, "the map (laid out after the clusters are shown)")
    await pilot.pause(0.2)


def after(*keys: str):
    async def run(pilot) -> None:
        await settled(pilot)
        if keys:
            await pilot.press(*keys)
            await pilot.pause(0.3)
            if pilot.app.size.width >= 130:
                row = pilot.app.query_one("#members").current_row
                await wait_until(pilot, lambda: pilot.app.board_screen.detail.neighbours_shown_for == row, 60, "the neighbours")
            await pilot.pause(0.2)
    return run


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_main_screen(snap_compare, embedder, size):
    assert snap_compare(app_for(embedder), terminal_size=size, run_before=after())


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_members_and_keywords(snap_compare, embedder, size):
    assert snap_compare(app_for(embedder), terminal_size=size, run_before=after("j", "enter", "j", "2"))


def test_map(snap_compare, embedder):
    assert snap_compare(app_for(embedder), terminal_size=(160, 48), run_before=after("4"))


def test_help_screen(snap_compare, embedder):
    assert snap_compare(app_for(embedder), terminal_size=(80, 24), run_before=after("question_mark"))
