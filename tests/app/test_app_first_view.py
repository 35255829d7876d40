"""The static first view in the app: the board appears on the static model's vectors, the full model
refines it in the background, and the switch carries the review over (without asking while nothing is
reviewed; with a question, and undoable, once something is)."""

from __future__ import annotations

from engine.clustering import ClusterSettings
from engine.session import ModelOptions, SessionOptions
from tests.app_helpers import wait_opened, wait_until
from tests.conftest import SAMPLE
from tui.app import QtuiApp
from tui.screens.choice_screen import ChoiceScreen

STATIC = SessionOptions(model=ModelOptions(model="all-MiniLM-L6-v2"), first_view="static")


def status(app) -> str:
    return str(app.query_one("#status").render())


async def test_the_static_board_is_refined_and_switched_without_asking_while_nothing_is_reviewed():
    app = QtuiApp(SAMPLE, STATIC, ClusterSettings("kmeans", k=8))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot, 300)
        # the first board is the static view's (the full model may already be done when it shows: the
        # sample is small, and its full vectors may be cached)
        assert app.review.record.epochs[0].settings["quick"]
        await wait_until(pilot, lambda: not app.session.static, 300, "the switch to the full vectors")
        await wait_until(pilot, lambda: app.board.analysis is app.review.analysis, 60, "the refreshed board")
        assert app.review.record.epoch.note.startswith("refined")
        assert "static" not in status(app) and "all-MiniLM-L6-v2" in status(app)
        assert app.board.n_clusters == 8  # the same settings, on the full vectors
        assert not isinstance(app.screen, ChoiceScreen)  # nothing was reviewed: no question


def review_on_static_vectors(name: str) -> tuple[int, list[int]]:
    """A saved review of the sample made on its static vectors: one cluster named ``name`` and accepted."""
    from engine.review_session import ReviewSession
    from engine.session import Session

    session = Session.open(SAMPLE, STATIC)
    assert session.static
    review = ReviewSession.start(session, ClusterSettings("kmeans", k=8), STATIC.model)
    cid = review.state.cluster_ids()[0]
    review.rename(cid, name)
    review.set_status([cid], "accepted")
    rows = review.state.members(cid).tolist()
    review.close()
    return cid, rows


async def test_a_reviewed_static_board_asks_before_switching_and_the_switch_is_undone_with_ctrl_z():
    cid, rows = review_on_static_vectors("电池 battery")
    app = QtuiApp(SAMPLE, STATIC, ClusterSettings("kmeans", k=8))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen), 300, "the resume question")
        await pilot.press("enter")  # resume
        await wait_opened(pilot, 300)
        assert app.session.static and app.review.state.name(cid) == "电池 battery"
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen), 300, "the offer")
        assert app.screen.title_text.startswith("Refined clusters are ready")
        assert "static vectors · refined clusters ready" in status(app)
        await pilot.press("enter")  # "Switch, carrying the review over"
        await wait_until(pilot, lambda: not app.session.static, 60, "the switch")
        await wait_until(pilot, lambda: app.board.analysis is app.review.analysis, 60, "the refreshed board")
        state = app.review.state
        named = [c for c in state.cluster_ids() if state.name(c) == "电池 battery"]
        assert named and state.status(named[0]) == "accepted"
        assert len(set(state.members(named[0]).tolist()) & set(rows)) >= len(rows) // 2
        assert app.review.record.current == 1
        await pilot.press("ctrl+z")  # back to the static view's clustering (search keeps the full vectors)
        await wait_until(pilot, lambda: app.review.record.current == 0, 60, "the static clustering again")
        assert app.review.settings.quick and app.review.state.name(cid) == "电池 battery"
        assert app.review.state.status(cid) == "accepted"
