"""The real app driven through Textual's Pilot: open, navigate, search, re-cluster, help, palette, export."""

from __future__ import annotations

import io
import re
import uuid

import polars as pl
from rich.console import Console

from engine.clustering import ClusterSettings
from tests.app_helpers import wait_opened, wait_until
from tests.conftest import make_app
from tui.screens.help_screen import HelpScreen, bindings_table
from tui.screens.message_screen import MessageScreen
from tui.screens.prompt_screen import PromptScreen
from tui.screens.recluster_screen import ReclusterScreen
from tui.widgets.cluster_table import ClusterTable
from tui.widgets.member_list import MemberList

KMEANS8 = ClusterSettings("kmeans", k=8)





async def test_open_shows_clusters_members_and_detail(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        table = app.query_one("#clusters", ClusterTable)
        assert table.row_count == app.analysis.n_clusters == 8
        members = app.query_one("#members", MemberList)
        first = app.analysis.members(table.current_cluster)
        assert members.rows.tolist() == first.tolist()
        assert app.screen.focused is table
        status = str(app.query_one("#status").render())
        assert "320 texts" in status and "8 clusters" in status


async def test_keyboard_navigation_between_clusters_members_and_tabs(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        table = app.query_one("#clusters", ClusterTable)
        members = app.query_one("#members", MemberList)
        before = table.current_cluster
        await pilot.press("j")
        await pilot.pause()
        assert table.current_cluster != before
        assert members.rows.tolist() == app.analysis.members(table.current_cluster).tolist()
        await pilot.press("enter")
        assert app.focused is members
        await pilot.press("j", "j", "k")
        assert members.cursor == 1
        detail = app.query_one("#detail-view")
        await pilot.pause()
        text = detail.plain
        assert app.session.corpus.texts[members.current_row].split("\n")[0][:10] in text
        await pilot.press("tab")
        assert app.query_one("#right").active == "detail"
        await pilot.press("3")
        assert app.query_one("#right").active == "metrics"
        await pilot.press("tab")
        assert app.focused.id == "query"
        await pilot.press("tab")
        assert app.focused is table


async def test_map_shows_the_cluster_selected_while_its_tab_was_hidden(embedder):
    """The hidden map is not repainted on each cluster move (that re-arranged the whole screen); it must
    not show a stale picture when its tab comes back."""
    from textual.geometry import Region

    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        await wait_until(pilot, lambda: app.board_screen.detail.map_xy is not None, 60, "the map")
        view = app.query_one("#map-view")
        await pilot.press("4")  # drawn once, with the first cluster
        await pilot.pause(0.2)
        await pilot.press("1", "escape")
        await pilot.pause(0.2)
        app.board_screen.action_focus_clusters()
        await pilot.press("j", "j")
        await pilot.pause(0.2)
        assert view.selected == app.board_screen.selected_cluster
        await pilot.press("4")
        await pilot.pause(0.2)
        region = Region(0, 0, view.outer_size.width, view.outer_size.height)
        shown = [list(strip) for strip in view.render_lines(region)]
        view._styles_cache.clear()
        assert shown == [list(strip) for strip in view.render_lines(region)]
        assert any(segment.text.strip() for line in shown for segment in line)


async def test_cursor_moves_in_scrolled_lists_repaint_the_right_lines(embedder):
    """Moving up inside a scrolled list repaints the rows the cursor left and reached (the cached lines
    equal freshly drawn ones)."""
    from textual.geometry import Region

    app = make_app(embedder, settings=ClusterSettings("kmeans", k=20))
    async with app.run_test(size=(160, 14)) as pilot:
        await wait_opened(pilot)
        for pane, focus in (("#members", app.board_screen.action_focus_members), ("#clusters", app.board_screen.action_focus_clusters)):
            focus()
            widget = app.query_one(pane)
            await pilot.press(*["j"] * 12)
            await pilot.pause(0.2)
            assert widget.scroll_offset.y > 0
            await pilot.press("k", "k")
            await pilot.pause(0.2)
            region = Region(0, 0, widget.outer_size.width, widget.outer_size.height)
            shown = [list(strip) for strip in widget.render_lines(region)]
            widget._styles_cache.clear()
            assert shown == [list(strip) for strip in widget.render_lines(region)], pane


async def test_live_query_replaces_results_as_you_type_and_esc_returns(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        members = app.query_one("#members", MemberList)
        cluster_rows = members.rows.tolist()
        await pilot.press("slash")
        assert app.focused.id == "query"
        await pilot.press(*"battery")
        await wait_until(pilot, lambda: app.board_screen.members.search_mode is not None, 30, "search results")
        assert members.clusters is not None and len(members.rows) > 0
        top = app.session.corpus.texts[int(members.rows[0])].lower()
        assert "battery" in top or "电池" in top or "续航" in top or "charge" in top
        first_results = members.rows.tolist()
        await pilot.press(*" screen colours")
        await wait_until(pilot, lambda: members.rows.tolist() != first_results, 30, "updated results")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.board_screen.members.search_mode is None, 10, "back to the cluster")
        assert members.rows.tolist() == cluster_rows


async def test_more_like_this_on_a_member(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        await pilot.press("enter", "j", "m")
        await wait_until(pilot, lambda: app.board_screen.members.search_mode is not None, 30, "the similar texts")
        members = app.query_one("#members", MemberList)
        assert members.clusters is not None
        scores = members.scores.tolist()
        assert scores == sorted(scores, reverse=True)
        await pilot.press("escape")  # back to the cluster's members
        assert app.board_screen.members.search_mode is None
        assert members.rows.tolist() == app.analysis.members(app.board_screen.selected_cluster).tolist()


async def test_recluster_from_the_app_replaces_the_result(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot)
        old = app.analysis
        await pilot.press("c")
        assert isinstance(app.screen, ReclusterScreen)
        await pilot.click("#algo-kmeans")
        app.screen.query_one("#k").value = "5"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.analysis is not old, 60, "the new clusters")
        assert app.analysis.n_clusters == 5
        assert app.query_one("#clusters", ClusterTable).row_count == 5


async def test_help_lists_bindings_and_palette_lists_actions(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_opened(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(bindings_table(app.screen.groups))
        help_text = console.export_text()
        for words in ("Re-cluster", "Search", "More like this", "Sort", "Quit"):
            assert words in help_text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Re-cluster")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReclusterScreen), 10, "the re-cluster dialog")


async def test_narrow_terminal_swaps_members_for_tabs(embedder):
    app = make_app(embedder)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_opened(pilot)
        assert app.screen.has_class("-narrow")
        assert app.query_one("#middle").display and not app.query_one("#right").display
        await pilot.press("2")
        await pilot.pause()
        assert app.query_one("#right").display and not app.query_one("#middle").display
        await pilot.press("escape")
        await pilot.pause()
        assert app.query_one("#middle").display and app.focused.id == "clusters"


async def test_export_from_the_app(embedder, tmp_path):
    app = make_app(embedder)
    target = tmp_path / "from-app.csv"
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_opened(pilot)
        await pilot.press("e")
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one("#prompt-input").value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, target.exists, 30, "the export")
    frame = pl.read_csv(target, infer_schema=False)
    assert len(frame) == 320 and frame.columns[:4] == ["id", "text", "cluster_id", "cluster_label"]


async def test_bad_file_shows_the_error_in_a_dialog(embedder, tmp_path):
    app = make_app(embedder, tmp_path / "missing.jsonl")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, MessageScreen), 30, "the error dialog")
        assert "missing.jsonl" in app.screen.message and "no such file" in app.screen.message
        await pilot.press("escape")
        await pilot.press("q")
    assert app.return_code == 2 and "no such file" in app.open_error  # a failed open is an error for the shell


async def test_escape_cancels_the_opening_and_keeps_what_was_embedded(embedder, tmp_path):
    """Esc while a file is being embedded stops the worker; the app stays alive and q quits; a reopen
    embeds only the texts the first run did not finish."""
    from engine.embedding import embed_texts, open_cache

    run = uuid.uuid4().hex[:8]  # texts no earlier run has cached (QTUI_TEST_CACHE keeps caches between runs)
    texts = [f"ticket {run}-{i}: order number {i * 7919 % 100003} arrived {['late', 'broken', 'early'][i % 3]}"
             for i in range(6000)]
    path = tmp_path / "tickets.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    app = make_app(embedder, path)
    async with app.run_test(size=(100, 30)) as pilot:
        stage = app.query_one("#progress-stage")
        def embedded_some() -> bool:  # at least one batch done (and cached): "Embedding texts · 256 / 6,000"
            found = re.search(r"Embedding texts\D*([\d,]+) / ", str(stage.render()))
            return found is not None and int(found.group(1).replace(",", "")) > 0

        await wait_until(pilot, embedded_some, 120, "the first batch to be embedded")
        await pilot.press("escape")
        await wait_until(pilot, lambda: "Cancelled." in str(stage.render()), 60, "the cancellation")
        assert app.board is None
        await pilot.press("q")
    stats = embed_texts(texts, embedder, open_cache(embedder))[1]
    assert 0 < stats.cached < len(texts) and stats.cached + stats.embedded == len(texts)
