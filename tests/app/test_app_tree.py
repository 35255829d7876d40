"""Zooming the board along the clustering's tree in the real app (Pilot): `+`/`-`, naming and deciding at a
coarse level and seeing it inherited at level 0, undo across levels, the tree tab, merge suggestions,
reducing to N clusters, `open --clusters N`, the level kept on reopen, and the export's tree columns."""

from __future__ import annotations

import numpy as np
import polars as pl

from engine.clustering import ClusterSettings
from engine.options import SessionOptions
from engine.review import ACCEPTED, UNREVIEWED
from tests.app_helpers import wait_opened, wait_until
from tests.conftest import make_app
from tui.screens.choice_screen import ChoiceScreen
from tui.screens.recluster_screen import ReclusterScreen
from tui.screens.suggestions_screen import SuggestionsScreen
from tui.widgets.cluster_table import ClusterTable
from tui.widgets.group_tree import GroupTree
from tui.widgets.member_list import MemberList


async def at_level(pilot, app, level: int) -> None:
    """Wait until the board shows zoom ``level`` and the review's latest version."""
    await wait_until(pilot, lambda: app.board is not None and app.board.level == level
                     and app.board.version == app.board.state.version, 60, f"level {level}")
    await pilot.pause(0.05)


def status_text(app) -> str:
    return str(app.query_one("#status").render())


def title(app) -> str:
    return str(app.query_one("#clusters", ClusterTable).border_title)


async def test_zoom_out_and_in_moves_every_pane_to_the_level(embedder):
    app = make_app(embedder)  # KMeans k=8: levels 0 (8), +1 (4), +2 (2), +3 (1)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        levels = app.review.levels()
        assert levels.ladder()[0] == (0, 8)
        table = app.query_one("#clusters", ClusterTable)
        members = app.query_one("#members", MemberList)
        row = members.current_row
        await pilot.press("plus")
        await at_level(pilot, app, 1)
        view = app.review.level_view(1)
        board = app.board
        assert table.row_count == len(view.nodes) + (1 if (view.labels == -1).any() else 0)
        assert title(app) == f"Level +1 · {len(view.nodes)} groups of 8"
        assert f"level +1 · {len(view.nodes)} groups of 8" in status_text(app)
        # the group under the cursor holds the text that was under the members cursor
        group = table.current_cluster
        assert group == int(view.labels[row])
        assert set(members.rows.tolist()) == set(view.rows(group).tolist())
        assert app.query_one("#keywords-view") is not None
        assert board.keywords(group) == view.nodes[group].keywords
        # the map colours the level's groups
        assert np.array_equal(board.labels, view.labels)
        # ctrl+g finds a group by its name at this level
        await pilot.press("ctrl+g")
        app.screen.query_one("#prompt-input").value = view.nodes[2].label
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert table.current_cluster == 2
        await pilot.press("plus", "plus")
        await at_level(pilot, app, 3)
        await pilot.press("plus")  # the broadest level: says so and stays
        await pilot.pause(0.3)
        assert app.board.level == 3
        for level in (2, 1, 0):
            await pilot.press("minus")
            await at_level(pilot, app, level)
        assert title(app) == "Clusters"
        assert table.row_count >= 8
        await pilot.press("minus")  # KMeans has no finer level than its own clusters
        await pilot.pause(0.3)
        assert app.board.level == 0
        app.board_screen.action_focus_query()  # typed in the search bar, + and - are text
        await pilot.press("plus", "minus")
        await pilot.pause(0.3)
        assert app.query_one("#query").value == "+-" and app.board.level == 0


async def test_name_and_decide_at_a_coarse_level_inherited_at_level_0_and_undone(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        table = app.query_one("#clusters", ClusterTable)
        await pilot.press("plus")
        await at_level(pilot, app, 1)
        group = table.current_cluster
        node = app.board.nodes[group]
        assert len(node.clusters) >= 2 and node.key[0] == "node"
        await pilot.press("n")
        app.screen.query_one("#prompt-input").value = "设备 devices"
        await pilot.press("enter")
        await at_level(pilot, app, 1)
        assert app.board.name(group) == "设备 devices"
        table.select_cluster(group)
        await pilot.press("a")
        await at_level(pilot, app, 1)
        assert app.board.status(group) == ACCEPTED
        assert app.review.state.node_status(node.key[1]) == ACCEPTED
        # level 0: every cluster of the group shows the name and decision, inherited (not their own)
        await pilot.press("minus")
        await at_level(pilot, app, 0)
        board = app.board
        lines = {line.id: line for line in board.lines()}
        for c in node.clusters:
            assert board.state.name(c) is None and board.state.status(c) == UNREVIEWED
            assert board.name(c) == "设备 devices" and board.status(c) == ACCEPTED
            assert lines[c].inherited_name and lines[c].inherited_status
        assert app.review.progress().reviewed >= len(node.clusters)
        assert f"reviewed {app.review.progress().describe()}" in status_text(app)
        # a cluster's own name wins over the inherited one
        table.select_cluster(node.clusters[0])
        await pilot.press("n")
        app.screen.query_one("#prompt-input").value = "own name"
        await pilot.press("enter")
        await at_level(pilot, app, 0)
        assert app.board.name(node.clusters[0]) == "own name"
        assert app.board.name(node.clusters[1]) == "设备 devices"
        # undo across the level change: the name, then the decision, then the group's name
        for _ in range(3):
            await pilot.press("ctrl+z")
            await at_level(pilot, app, 0)
        assert app.review.state.node_names == {} and app.review.state.node_statuses == {}
        assert all(app.board.status(c) == UNREVIEWED for c in node.clusters)
        await pilot.press("ctrl+y")  # redo the group's name, seen at level +1 again
        await at_level(pilot, app, 0)
        await pilot.press("plus")
        await at_level(pilot, app, 1)
        assert app.board.name(app.board.level_view.find(node.key)) == "设备 devices"


async def test_merge_and_split_wait_for_level_0_and_moves_go_between_review_clusters(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        await pilot.press("plus")
        await at_level(pilot, app, 1)
        before = app.review.state.labels.copy()
        await pilot.press("space", "space", "M")
        await pilot.pause(0.2)
        await pilot.press("S")
        await pilot.pause(0.2)
        assert np.array_equal(app.review.state.labels, before)  # neither merged nor split
        # a move from the members pane still moves a text between the review's own clusters
        await pilot.press("enter")
        members = app.query_one("#members", MemberList)
        row = members.current_row
        source = int(app.review.state.labels[row])
        target = next(c for c in app.board.view.ids.tolist() if c != source)
        await pilot.press("v")
        app.screen.dismiss(str(target))
        await at_level(pilot, app, 1)
        assert int(app.review.state.labels[row]) == target


async def test_tree_tab_expands_groups_and_enter_goes_to_the_group_on_the_board(embedder):
    app = make_app(embedder, settings=ClusterSettings())  # auto: levels below its own clusters too
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        ladder = app.review.levels().ladder()
        await pilot.press("6")
        tree = app.query_one("#tree-view", GroupTree)
        await wait_until(pilot, lambda: tree.data_shown is not None, 60, "the tree")
        await pilot.pause(0.2)
        data = tree.data_shown
        tops = data.tops()
        assert [c.data for c in tree.root.children] == tops and len(tops) > 1
        assert data.levels == [level for level, _ in ladder][::-1]
        # the selected cluster (level 0) is revealed: its ancestors expanded, the cursor on it
        selected = app.board_screen.selected_cluster
        assert tree.cursor_node is not None and tree.cursor_node.data == (0, app.review.level_view(0).find(
            ("cluster", selected)))
        first = tree.root.children[0]
        label = str(first.label)
        node = data.nodes[tops[0][0]][tops[0][1]]
        assert node.label[:20] in label and f"{node.size:,}" in label
        tree.move_cursor(first)
        await pilot.pause(0.05)
        if first.is_expanded:
            await pilot.press("space")  # collapse it first
        await pilot.press("space")
        await pilot.pause(0.1)
        assert first.is_expanded and [c.data for c in first.children] == data.children(*tops[0])
        child = first.children[0]
        assert sum(data.nodes[c.data[0]][c.data[1]].size for c in first.children) == node.size
        tree.move_cursor(child)
        await pilot.pause(0.05)
        await pilot.press("enter")
        await at_level(pilot, app, child.data[0])
        assert app.query_one("#clusters", ClusterTable).current_cluster == child.data[1]
        assert app.focused is app.query_one("#clusters", ClusterTable)
        # a finer level than the review's own clusters (auto): the groups split clusters along the tree
        finest = ladder[0][0]
        assert finest < 0
        for _ in range(child.data[0] - finest):
            await pilot.press("minus")
        await at_level(pilot, app, finest)
        assert app.board.n_clusters >= len(app.board.view.ids)


async def test_merge_suggestions_list_sibling_pairs_and_enter_merges_one_undoable(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        pairs = app.review.merge_suggestions(20)
        assert pairs
        before = app.review.state.labels.copy()
        await pilot.press("J")
        await wait_until(pilot, lambda: isinstance(app.screen, SuggestionsScreen), 10, "the suggestions")
        assert [(p.a, p.b) for p in app.screen.pairs] == [(p.a, p.b) for p in pairs]
        await pilot.press("enter")
        await wait_until(pilot, lambda: not np.array_equal(app.review.state.labels, before), 30, "the merge")
        a, b = pairs[0].a, pairs[0].b
        state = app.review.state
        assert state.exists(a) != state.exists(b)  # one of the two took the other's texts
        merged = a if state.exists(a) else b
        assert set(np.flatnonzero(np.isin(before, [a, b])).tolist()) <= set(state.members(merged).tolist())
        await at_level(pilot, app, 0)
        await pilot.press("ctrl+z")
        await wait_until(pilot, lambda: np.array_equal(app.review.state.labels, before), 30, "the undo")


async def test_reduce_to_n_clusters_goes_to_the_nearest_level_without_reclustering(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        analysis = app.analysis
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ReclusterScreen), 10, "the dialog")
        app.screen.query_one("#reduce").value = "2"
        app.screen.query_one("#reduce").focus()
        await pilot.press("enter")
        await at_level(pilot, app, 2)
        assert app.board.n_clusters == 2 and app.analysis is analysis


async def test_open_with_clusters_starts_at_that_level_kept_on_reopen_and_exported(embedder, tmp_path):
    app = make_app(embedder, options=SessionOptions(clusters=4))
    target = tmp_path / "labeled.csv"
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        await at_level(pilot, app, 1)
        assert "level +1 · 4 groups of 8" in status_text(app)
        await pilot.press("plus")
        await at_level(pilot, app, 2)
        group = app.query_one("#clusters", ClusterTable).current_cluster
        await pilot.press("n")
        app.screen.query_one("#prompt-input").value = "broad theme"
        await pilot.press("enter")
        await at_level(pilot, app, 2)
        await pilot.pause(1.0)  # the selection (and level) is saved once the cursor rests
        assert app.review.state.ui.get("level") == 2
        rows = app.board.level_view.rows(group)
        await pilot.press("e")
        app.screen.query_one("#prompt-input").value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, target.exists, 60, "the export")
    frame = pl.read_csv(target, infer_schema=False)
    assert {"parent_label", "label_path"} <= set(frame.columns)
    named = frame[rows.tolist()]
    assert set(named["label_path"].to_list()) == {"broad theme"}
    assert set(named["cluster_label"].to_list()) == {"broad theme"}
    again = make_app(embedder)
    async with again.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: again.board is not None or isinstance(again.screen, ChoiceScreen), 60,
                         "the review")
        if isinstance(again.screen, ChoiceScreen):
            await pilot.press("enter")
        await at_level(pilot, again, 2)
        assert again.query_one("#clusters", ClusterTable).current_cluster == group
