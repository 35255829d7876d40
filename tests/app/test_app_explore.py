"""Exploring what the rows carry in the real app (Pilot, the sample): the columns tab, a statistic column
with its sorts, the row filter, the comparison, re-clustering the filter's rows, and hybrid search."""

from __future__ import annotations

import numpy as np

from engine.row_filter import RowFilter
from tests.app_helpers import wait_opened, wait_until
from tests.conftest import make_app
from tui.screens.compare_screen import CompareScreen
from tui.screens.pick_screen import PickScreen
from tui.screens.prompt_screen import PromptScreen


async def settle(pilot, app) -> None:
    await wait_until(pilot, lambda: app.board is not None and app.board.version == app.board.state.version, 60,
                     "the refreshed panes")
    await pilot.pause(0.05)


async def apply_filter(pilot, app, where: str) -> None:
    await pilot.press("f")
    assert isinstance(app.screen, PromptScreen)
    app.screen.query_one("#prompt-input").value = where
    await pilot.press("enter")
    await pilot.pause(0.1)


async def test_filter_restricts_the_board_and_a_bad_expression_keeps_the_prompt(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        screen = app.board_screen
        await apply_filter(pilot, app, "rating <= ")
        assert isinstance(app.screen, PromptScreen)  # the prompt stays, with one line saying why
        error = str(app.screen.query_one("#prompt-error").render())
        assert "parse" in error and "\n" not in error.strip()
        app.screen.query_one("#prompt-input").value = "ratin <= 2"
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert "unknown column 'ratin'" in str(app.screen.query_one("#prompt-error").render())
        app.screen.query_one("#prompt-input").value = "rating <= 2"
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, PromptScreen)
        mask = RowFilter(app.session.corpus).mask("rating <= 2")
        board = app.board
        assert board.where == "rating <= 2" and np.array_equal(board.within, mask)
        labels = board.state.labels
        for line in board.lines():  # sizes recounted over the matching rows; no cluster without one
            assert line.size == int(((labels == line.id) & mask).sum()) > 0
        members = screen.members.members
        assert len(members.rows) and mask[members.rows].all()
        status = str(app.query_one("#status").render())
        assert f"where rating <= 2: {int(mask.sum()):,} rows" in status
        # search keeps to the filter, and "mark all matching" marks every word hit among those rows
        await pilot.press("slash", *"battery")
        await wait_until(pilot, lambda: screen.members.search_mode is not None, 60, "search results")
        assert len(members.rows) and mask[members.rows].all()
        assert members.how is not None and set(members.how) <= {"word", "meaning", "both"}
        words = RowFilter(app.session.corpus).mask("text ILIKE '%battery%'") & mask
        assert "word" in members.how or "both" in members.how
        await pilot.press("enter")  # to the results
        await pilot.press("w")
        await pilot.pause(0.1)
        assert members.marked == set(np.flatnonzero(words).tolist())
        await pilot.press("escape", "escape")  # results -> cluster; search cleared
        await wait_until(pilot, lambda: screen.members.search_mode is None, 10, "back to the cluster")
        screen.clusters.table.focus()
        await pilot.press("escape")  # nothing else to back out of: the filter goes
        await pilot.pause(0.1)
        assert app.board.within is None and "where" not in str(app.query_one("#status").render())
        await apply_filter(pilot, app, "rating <= 2")  # the prompt offers the last filter; f again clears it
        assert app.board.where == "rating <= 2"
        await pilot.press("f")
        await pilot.pause(0.1)
        assert app.board.within is None


async def test_columns_tab_and_statistic_column_with_growing_sort(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        screen = app.board_screen
        await wait_until(pilot, lambda: screen.filtering.filter.profiler is not None, 60, "the columns read")
        await pilot.press("5")
        view = screen.detail.columns_view
        await wait_until(pilot, lambda: "rating" in view.plain and "Counting" not in view.plain, 30, "the profiles")
        text = view.plain
        for expected in ("product", "top values", "lift", "mean", "median", "trend", "per week"):
            assert expected in text, expected
        cid = screen.clusters.table.current_cluster
        screen.clusters.table.focus()  # the tab stays open beside the clusters in a wide terminal
        await pilot.press("j")
        await wait_until(pilot, lambda: f"#{screen.clusters.table.current_cluster} " in view.plain
                         and "Counting" not in view.plain, 30, "the next cluster's profiles")
        assert screen.clusters.table.current_cluster != cid
        await pilot.press("t")
        assert isinstance(app.screen, PickScreen)
        keys = [key for key, line in app.screen.lines if line.startswith("trend of date")]
        app.screen.dismiss(keys[0])
        await pilot.pause(0.2)
        table = screen.clusters.table
        assert table.sort_key == "growing" and table.stat_title == "date"
        profiler = screen.filtering.filter.profiler
        stat = profiler.cluster_stat(app.board.labels, ("date", "trend"))
        shown = [r.id for r in table._order if r.id >= 0]
        trends = [stat.of(c) for c in shown]
        assert trends == sorted(trends, reverse=True)  # growing fastest first
        assert all(r.stat_text for r in table._order if r.id >= 0)
        await pilot.press("s")
        assert table.sort_key == "shrinking"
        shown = [r.id for r in table._order if r.id >= 0]
        assert [stat.of(c) for c in shown] == sorted(trends)
        await pilot.press("t")
        keys = [key for key, line in app.screen.lines if line == "mean rating"]
        app.screen.dismiss(keys[0])
        await pilot.pause(0.2)
        assert table.sort_key == "stat"
        means = profiler.cluster_stat(app.board.labels, ("rating", "mean"))
        values = [means.of(r.id) for r in table._order if r.id >= 0]
        assert values == sorted(values, reverse=True)


async def test_compare_goes_to_a_cluster_and_recluster_the_filter_is_one_undoable_step(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        screen = app.board_screen
        await apply_filter(pilot, app, "rating <= 2")
        mask = app.board.within
        await pilot.press("C")
        assert isinstance(app.screen, CompareScreen)
        first = int(app.screen.lines[0][0])
        from engine.compare import compare_clusters

        table = compare_clusters(app.board.state.labels, mask)
        assert first == int(table.ids[0]) and "lift" in app.screen.heading
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert screen.clusters.table.current_cluster == first
        before = app.board.state.labels.copy()
        await pilot.press("R")
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one("#prompt-input").value = "3"
        await pilot.press("enter")
        await wait_until(pilot, lambda: not np.array_equal(app.board.state.labels, before), 120, "the re-clustering")
        await settle(pilot, app)
        labels = app.board.state.labels
        assert len(set(labels[mask].tolist())) == 3
        assert np.array_equal(labels[~mask], before[~mask])
        assert all(line.size > 0 for line in app.board.lines())
        await pilot.press("ctrl+z")
        await settle(pilot, app)
        assert np.array_equal(app.board.state.labels, before)


async def test_open_where_starts_filtered_and_a_bad_one_says_why(embedder):
    from tui.screens.message_screen import MessageScreen

    app = make_app(embedder, where="product = 'X5 Pro' AND rating <= 2")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        await wait_until(pilot, lambda: app.board.within is not None, 30, "the filter")
        mask = RowFilter(app.session.corpus).mask("product = 'X5 Pro' AND rating <= 2")
        assert np.array_equal(app.board.within, mask)
        assert sum(line.size for line in app.board.lines()) == int(mask.sum())
    app = make_app(embedder, where="rating <=")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, MessageScreen), 30, "the message")
        assert app.board.within is None
