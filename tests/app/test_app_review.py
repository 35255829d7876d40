"""The review loop in the real app (Pilot): every action, its undo, resume, carry-over and export."""

from __future__ import annotations


import numpy as np
import polars as pl
from textual.content import Content

from engine.clustering import ClusterSettings
from engine.review import ACCEPTED, REJECTED, UNREVIEWED
from tests.app_helpers import wait_opened, wait_until
from tests.conftest import make_app
from tui.screens.choice_screen import ChoiceScreen
from tui.screens.duplicates_screen import DuplicatesScreen
from tui.screens.move_screen import MoveScreen
from tui.screens.name_screen import NameScreen
from tui.screens.prompt_screen import PromptScreen
from tui.screens.proposals_screen import ProposalsScreen
from tui.widgets.cluster_table import ClusterTable
from tui.widgets.member_list import MemberList

KMEANS8 = ClusterSettings("kmeans", k=8)





async def settle(pilot, app, version: int | None = None) -> None:
    """Wait until the board shows the review's latest version."""
    await wait_until(pilot, lambda: app.board is not None and app.board.version == app.board.state.version, 60,
                     "the refreshed panes")
    await pilot.pause(0.05)


async def name_cluster(pilot, app, name: str) -> None:
    """Name the cluster under the cursor through the app's prompt (n, type, Enter) and wait for the panes."""
    await pilot.press("n")
    app.screen.query_one("#prompt-input").value = name
    await pilot.press("enter")
    await settle(pilot, app)


def snapshot(app):
    state = app.board.state
    return state.labels.copy(), dict(state.names), dict(state.statuses)


def same(a, b) -> bool:
    return np.array_equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]


async def test_name_accept_reject_and_undo(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        table = app.query_one("#clusters", ClusterTable)
        before = snapshot(app)
        first = table.current_cluster
        await pilot.press("n")
        assert isinstance(app.screen, NameScreen)
        suggested = app.screen.query_one("#prompt-input").value
        assert suggested == app.board.suggested(first)
        app.screen.query_one("#prompt-input").value = "电池 battery life"
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.board.state.name(first) == "电池 battery life"
        assert app.board.name(first) == "电池 battery life"
        await pilot.press("a")
        await settle(pilot, app)
        assert app.board.state.status(first) == ACCEPTED
        assert table.current_cluster != first  # on to the next cluster
        second = table.current_cluster
        await pilot.press("x")
        await settle(pilot, app)
        assert app.board.state.status(second) == REJECTED
        assert "2/8 clusters" in str(app.query_one("#status").render())
        for _ in range(3):
            await pilot.press("ctrl+z")
            await settle(pilot, app)
        assert same(snapshot(app), before)
        assert app.board.state.status(first) == UNREVIEWED and app.board.state.name(first) is None
        await pilot.press("ctrl+y")
        await settle(pilot, app)
        assert app.board.state.name(first) == "电池 battery life"


async def test_names_and_searches_with_brackets_show_literally(embedder):
    """A name or a search that looks like markup ("[/x]", "[bold]") is shown as typed, not parsed."""
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        first = app.query_one("#clusters", ClusterTable).current_cluster
        await name_cluster(pilot, app, "[/x] refunds [bold]")
        assert app.board.name(first) == "[/x] refunds [bold]"
        members = app.query_one("#members")
        assert "[/x] refunds [bold]" in Content.from_markup(members.border_title).plain
        await pilot.press("slash", *"[/b] battery")
        await wait_until(pilot, lambda: app.board_screen.members.search_mode is not None, 30, "search results")
        assert len(app.query_one("#members", MemberList).rows) > 0


async def test_merge_marked_clusters_and_undo(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        table = app.query_one("#clusters", ClusterTable)
        before = snapshot(app)
        a = table.current_cluster
        await pilot.press("space")
        b = table.current_cluster
        await pilot.press("space")
        assert table.marked == {a, b}
        size = app.board.size(a) + app.board.size(b)
        await pilot.press("M")
        await settle(pilot, app)
        assert app.board.n_clusters == 7 and app.board.size(a) == size and not table.marked
        await pilot.press("ctrl+z")
        await settle(pilot, app)
        assert same(snapshot(app), before)


async def test_split_a_cluster_and_undo(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        before = snapshot(app)
        cid = app.query_one("#clusters", ClusterTable).current_cluster
        size = app.board.size(cid)
        await pilot.press("S")
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one("#prompt-input").value = "3"
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.board.n_clusters == 10, 60, "the split")
        assert not app.board.exists(cid) or app.board.size(cid) < size
        await pilot.press("ctrl+z")
        await settle(pilot, app)
        assert same(snapshot(app), before)


async def test_move_marked_members_to_a_cluster_picked_by_name(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        before = snapshot(app)
        source = app.query_one("#clusters", ClusterTable).current_cluster
        target = [c for c in app.board.view.ids.tolist() if c != source][-1]
        await pilot.press("enter")
        members = app.query_one("#members", MemberList)
        await pilot.press("space", "space", "space")
        picked = sorted(members.marked)
        assert len(picked) == 3
        await pilot.press("I")  # invert, and back
        await pilot.press("I")
        assert sorted(members.marked) == picked
        await pilot.press("v")
        assert isinstance(app.screen, MoveScreen)
        await pilot.press(*str(target))
        await pilot.pause(0.2)
        await pilot.press("enter")
        await settle(pilot, app)
        state = app.board.state
        assert all(state.labels[r] == target for r in picked)
        assert state.source_names(np.array(picked)) == ["moved"] * 3
        await pilot.press("ctrl+z")
        await settle(pilot, app)
        assert same(snapshot(app), before)


async def test_send_to_noise_and_new_cluster(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        before = snapshot(app)
        await pilot.press("enter")
        members = app.query_one("#members", MemberList)
        row = members.current_row
        await pilot.press("d")
        await settle(pilot, app)
        assert app.board.labels[row] == -1
        await pilot.press("A")  # mark every member of the cluster
        rows = sorted(members.marked)
        await pilot.press("v")
        await pilot.press("down", "down")
        app.screen.query_one("#move-options").highlighted = app.screen.query_one("#move-options").option_count - 2
        await pilot.press("enter")
        await settle(pilot, app)
        new = int(app.board.labels[rows[0]])
        assert new not in before[0] and all(app.board.labels[r] == new for r in rows)
        await pilot.press("ctrl+z", "ctrl+z")
        await settle(pilot, app)
        assert same(snapshot(app), before)


async def test_classify_the_rest_from_accepted_clusters_accepts_proposals_in_bulk(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        before = snapshot(app)
        for _ in range(4):
            await pilot.press("a")
            await settle(pilot, app)
        app.board_screen.labelling.action_classify_accepted()  # the palette's "Classify the rest from accepted …"
        await wait_until(pilot, lambda: isinstance(app.screen, ProposalsScreen) and app.screen.query("#threshold-input"),
                         120, "the proposals")
        screen = app.screen
        assert "held-out accuracy" in screen.summary
        screen.query_one("#proposals-filter #threshold-input").value = "0.5"
        await pilot.pause(0.2)
        shown = len(screen.query_one("#proposals-list", MemberList).rows)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        state = app.board.state
        assert (state.source == 2).sum() == shown  # label_source "classifier"
        await pilot.press("ctrl+z")
        await settle(pilot, app)
        assert np.array_equal(app.board.state.labels, before[0])


async def test_near_duplicates_are_listed_and_collapsed(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        await pilot.press("D")
        assert isinstance(app.screen, DuplicatesScreen)
        screen = app.screen
        screen.query_one("#dup-filter #threshold-input").value = "0.80"
        # the groups at 0.80: the search is done (the groups of the first search, at 0.95, are shown until then)
        await wait_until(pilot, lambda: screen.threshold == 0.8 and len(screen.groups) > 0
                         and "searching" not in str(screen.query_one("#dup-filter #threshold-count").render()), 60, "groups")
        await pilot.press("C")
        spread = [g for g in screen.groups if len(set(app.board.labels[g].tolist())) > 1]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        for group in spread:
            assert len(set(app.board.labels[group].tolist())) == 1


async def test_reopen_offers_to_resume_exactly_where_the_person_left_off(embedder, data_dir):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        await pilot.press("a")
        await settle(pilot, app)
        await pilot.press("j", "n")
        app.screen.query_one("#prompt-input").value = "送货 delivery"
        await pilot.press("enter")
        await settle(pilot, app)
        cluster = app.query_one("#clusters", ClusterTable).current_cluster
        await pilot.press("enter", "j", "j")
        row = app.query_one("#members", MemberList).current_row
        await pilot.press("3")
        await pilot.pause(1.0)  # the selection is saved once the cursor rests
        saved = snapshot(app)
    again = make_app(embedder, settings=ClusterSettings("kmeans", k=3))  # the saved settings win on resume
    async with again.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: isinstance(again.screen, ChoiceScreen), 60, "the resume question")
        await pilot.press("enter")
        await wait_opened(pilot)
        assert same(snapshot(again), saved)
        assert again.analysis.clustering.settings == KMEANS8
        assert again.query_one("#clusters", ClusterTable).current_cluster == cluster
        assert again.board.state.ui.get("row") == row, again.board.state.ui
        assert again.query_one("#members", MemberList).current_row == row
        assert again.query_one("#right").active == "metrics"
        await pilot.press("ctrl+z")  # the history came back too
        await settle(pilot, again)
        assert again.board.state.name(cluster) is None


async def test_recluster_carries_decisions_over_and_undo_restores_the_clustering_before(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        cid = app.query_one("#clusters", ClusterTable).current_cluster
        rows = app.board.state.members(cid)
        await name_cluster(pilot, app, "kept")
        await pilot.press("a")
        await settle(pilot, app)
        await pilot.press("c")
        app.screen.query_one("#seed").value = "1"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen), 60, "the carry-over question")
        message = app.screen.message
        assert "carried" in message
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.analysis.clustering.settings.seed == 1, 60, "the new clustering")
        await settle(pilot, app)
        carried = [c for c in app.board.view.ids.tolist() if app.board.state.name(c) == "kept"]
        if message.startswith("carried 1 of 1"):
            assert len(carried) == 1
            overlap = np.isin(rows, app.board.state.members(carried[0])).mean()
            assert overlap > 0.5
        else:  # not carried: named in what the person was asked about, and kept as it was (pinned)
            assert "'kept'" in message and len(carried) == 1
            assert np.array_equal(np.sort(app.board.state.members(carried[0])), np.sort(rows))
        assert app.board.state.status(carried[0]) == ACCEPTED
        await pilot.press("ctrl+z")  # the re-clustering itself is undone, names and decisions with it
        await wait_until(pilot, lambda: app.analysis.clustering.settings.seed == 0, 60, "the clustering before")
        await settle(pilot, app)
        assert app.board.state.name(cid) == "kept" and app.board.state.status(cid) == ACCEPTED
        assert np.array_equal(app.board.state.members(cid), rows)
        await pilot.press("ctrl+y")
        await wait_until(pilot, lambda: app.analysis.clustering.settings.seed == 1, 60, "the re-clustering again")


async def test_export_from_the_app_has_the_review_columns(embedder, tmp_path):
    app = make_app(embedder)
    target = tmp_path / "labeled.csv"
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        first = app.query_one("#clusters", ClusterTable).current_cluster
        await name_cluster(pilot, app, "first, \"quoted\" 名字")
        await pilot.press("a")
        await settle(pilot, app)
        await pilot.press("e")
        app.screen.query_one("#prompt-input").value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, target.exists, 30, "the export")
    frame = pl.read_csv(target, infer_schema=False)
    assert frame.columns[:8] == ["id", "text", "cluster_id", "cluster_label", "status", "score", "label_source",
                                 "confidence"]
    assert len(frame) == 320
    named = frame.filter(pl.col("cluster_id") == str(first))
    assert set(named["cluster_label"].to_list()) == {"first, \"quoted\" 名字"}
    assert set(named["status"].to_list()) == {"accepted"}
