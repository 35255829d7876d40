"""Every path that could lose a review, driven in the real app (Pilot): it refuses, asks, or can be undone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.clustering import ClusterSettings
from tests.app_helpers import wait_opened, wait_until
from tests.conftest import SAMPLE, make_app
from tui.screens.choice_screen import ChoiceScreen
from tui.screens.message_screen import MessageScreen
from tui.screens.prompt_screen import PromptScreen
from tui.screens.reviews_screen import ReviewsScreen
from tui.widgets.cluster_table import ClusterTable

KMEANS8 = ClusterSettings("kmeans", k=8)



@pytest.fixture
def comments(tmp_path) -> Path:
    path = tmp_path / "c.jsonl"
    shutil.copy(SAMPLE, path)
    return path


async def choose(pilot, app, answer: str) -> None:
    """Press the dialog's button for ``answer`` once the dialog on top has it (a click could land while a
    busy machine still lays the dialog out)."""
    await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen)
                     and bool(app.screen.query(f"#answer-{answer}")), 60, f"the answer {answer!r}")
    app.screen.query_one(f"#answer-{answer}").press()
    await pilot.pause(0.1)


def status_line(app) -> str:
    return str(app.query_one("#status").render())


async def settle(pilot, app) -> None:
    await wait_until(pilot, lambda: app.board is not None and app.board.version == app.board.state.version, 60,
                     "the refreshed panes")
    await pilot.pause(0.05)


async def name_first(pilot, app, name: str) -> int:
    cid = app.query_one("#clusters", ClusterTable).current_cluster
    await pilot.press("n")
    app.screen.query_one("#prompt-input").value = name
    await pilot.press("enter")
    await settle(pilot, app)
    return cid


async def review_once(path: Path, embedder, name: str = "reviewed once") -> int:
    """Open ``path``, name its first cluster, quit; returns the cluster id."""
    app = make_app(embedder, path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        cid = await name_first(pilot, app, name)
        await pilot.press("q")
    return cid


async def test_export_refuses_the_input_and_asks_before_replacing_a_file(comments, embedder, tmp_path):
    before = comments.read_bytes()
    other = tmp_path / "someone else's.csv"
    other.write_text("keep me")
    app = make_app(embedder, comments)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        await pilot.press("e")
        app.screen.query_one("#prompt-input").value = str(comments)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MessageScreen), 30, "the refusal")
        assert "never writes over its input" in app.screen.message
        await pilot.press("escape")
        await pilot.press("e")
        app.screen.query_one("#prompt-input").value = str(other)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen), 30, "the question")
        assert app.screen.title_text == "Replace the file?"
        await pilot.press("enter")  # the default: choose another name
        await wait_until(pilot, lambda: isinstance(app.screen, PromptScreen), 30, "the path prompt again")
        assert other.read_text() == "keep me"
        app.screen.query_one("#prompt-input").value = str(other)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen), 30, "the question")
        await choose(pilot, app, "yes")
        await wait_until(pilot, lambda: other.read_text() != "keep me", 30, "the export")
    assert comments.read_bytes() == before
    assert other.read_text().startswith("id,text,cluster_id")


async def test_quit_after_a_failed_save_asks_and_names_what_would_be_lost(comments, embedder, monkeypatch):
    import engine.review_store as rs

    real = rs.atomic_write
    app = make_app(embedder, comments)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)

        def full(*args, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(rs, "atomic_write", full)
        await name_first(pilot, app, "not saved yet")
        await pilot.press("a")
        await settle(pilot, app)
        assert "2 changes not saved" in status_line(app)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen), 30, "the quit question")
        assert app.screen.title_text == "2 changes not saved"
        assert "No space left on device" in app.screen.message
        labels = [label for _, label in app.screen.answers]
        assert labels == ["Export elsewhere…", "Stay", "Quit and lose 2 changes"]
        await pilot.press("escape")  # stays
        await pilot.pause(0.2)
        assert app.return_code is None and app.review.state.name(app.board.state.cluster_ids()[0]) is not None
        monkeypatch.setattr(rs, "atomic_write", real)  # space again: quitting saves first and goes
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code is not None, 30, "the exit")
    again = make_app(embedder, comments)
    async with again.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: isinstance(again.screen, ChoiceScreen), 120, "resume?")
        await pilot.press("enter")
        await wait_opened(pilot)
        assert "not saved yet" in again.board.state.names.values()


async def test_quit_and_lose_is_an_explicit_choice(comments, embedder, monkeypatch):
    import engine.review_store as rs

    app = make_app(embedder, comments)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        monkeypatch.setattr(rs, "atomic_write", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space")))
        await name_first(pilot, app, "lost on purpose")
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen), 30, "the quit question")
        await choose(pilot, app, "lose")
        await wait_until(pilot, lambda: app.return_code is not None, 30, "the exit")


async def test_a_grown_file_reopens_with_its_review_carried_over(comments, embedder):
    cid = await review_once(comments, embedder, "before the file grew")
    with open(comments, "a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "c9999", "text": "屏幕太暗了 screen too dim"}, ensure_ascii=False) + "\n")
    app = make_app(embedder, comments)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen), 120, "resume?")
        assert "earlier version of this file" in app.screen.message
        assert "320 rows matched by id, 1 added, 0 removed" in app.screen.message
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.board is not None, 120, "the board")
        await wait_until(pilot, lambda: isinstance(app.screen, MessageScreen), 30, "what was carried")
        assert "1 new row placed in the nearest cluster" in app.screen.message
        await pilot.press("escape")
        assert app.board.state.name(cid) == "before the file grew" and len(app.board.labels) == 321


async def test_start_a_new_review_confirms_and_the_old_one_stays_reachable(comments, embedder):
    cid = await review_once(comments, embedder, "the first review")
    app = make_app(embedder, comments)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen), 120, "resume?")
        await choose(pilot, app, "new")
        await wait_until(pilot, lambda: getattr(app.screen, "title_text", "") == "Start a new review?", 30, "the confirmation")
        assert "set aside, not deleted" in app.screen.message and "qtui reviews" in app.screen.message
        await pilot.press("enter")  # the default goes back
        await wait_until(pilot, lambda: getattr(app.screen, "title_text", "") == "Resume your review?", 30, "the first question")
        await choose(pilot, app, "new")
        await wait_until(pilot, lambda: getattr(app.screen, "title_text", "") == "Start a new review?", 30, "the confirmation")
        await choose(pilot, app, "new")
        await wait_opened(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, MessageScreen), 30, "the notice")
        assert "was set aside" in app.screen.message
        await pilot.press("escape")
        assert app.board.state.name(cid) is None
        app.board_screen.commands.action_earlier_reviews()
        await wait_until(pilot, lambda: isinstance(app.screen, ReviewsScreen), 30, "the reviews list")
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: app.board.state.name(cid) == "the first review", 120, "the earlier review")


async def test_resume_with_other_clustering_options_offers_to_recluster(comments, embedder):
    await review_once(comments, embedder)
    app = make_app(embedder, comments, ClusterSettings("kmeans", k=5), settings_given=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen), 120, "resume?")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen)
                         and app.screen.title_text == "Other clustering options", 120, "the offer")
        assert "kmeans k=5" in app.screen.message and "kmeans k=8" in app.screen.message
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen)
                         and app.screen.title_text.startswith("New clustering"), 120, "the carry-over question")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.analysis.clustering.settings.k == 5, 60, "the new clustering")
        assert "reviewed once" in app.board.state.names.values()
