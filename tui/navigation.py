"""Moving around the app: panes, tabs, escape, help and the command palette.

A mixin of :class:`tui.app.QtuiApp`.
"""

from __future__ import annotations

from functools import partial
from typing import Iterable

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import TabbedContent

from tui.actions import help_groups, palette
from tui.screens.help_screen import HelpScreen, key_label
from tui.screens.prompt_screen import PromptScreen
from tui.widgets.cluster_table import ClusterTable
from tui.widgets.member_list import MemberList
from tui.widgets.query_bar import QueryBar

TABS = ("detail", "keywords", "metrics", "map")


class NavigationActions:
    """Tab/shift+tab between panes, the right-hand tabs, escape, help and the palette (mixed into the app)."""

    def action_cycle_pane(self, step: int) -> None:
        """Tab / Shift+Tab: clusters → members → the open tab on the right → search bar → clusters."""
        if self.screen is not self.screen_stack[0]:
            self.screen.focus_next() if step > 0 else self.screen.focus_previous()
            return
        if self.board is None:
            return
        panes = ["clusters", "members", "right", "query"]
        focused = self.focused
        current = 0
        if focused is not None:
            for i, pane in enumerate(panes):
                if any(node.id == pane for node in focused.ancestors_with_self):
                    current = i
                    break
        target = panes[(current + step) % len(panes)]
        if target == "right":
            self.action_show_tab(self.query_one("#right", TabbedContent).active or "detail")
        elif target == "query":
            self.action_focus_query()
        else:
            self.query_one(f"#{target}").focus()

    def action_focus_query(self) -> None:
        query = self.query_one("#query", QueryBar)
        if not query.disabled:
            query.focus()

    def action_focus_members(self) -> None:
        self.query_one("#members", MemberList).focus()

    def action_focus_clusters(self) -> None:
        self.query_one("#clusters", ClusterTable).focus()

    def action_show_tab(self, tab: str) -> None:
        """Open a tab on the right (in a narrow terminal it takes the members pane's place) and focus it."""
        if tab not in TABS:
            return
        self.query_one("#right", TabbedContent).active = tab
        self.show_info(True)
        views = {"detail": "#detail-view", "keywords": "#keywords-view", "metrics": "#metrics-view",
                 "map": "#map-view"}
        self.call_after_refresh(self.query_one(views[tab]).focus)
        self._remember_selection()

    def action_go_to_cluster(self) -> None:
        """Jump to a cluster by its number or (part of) its name."""
        if self.board is None:
            return
        board = self.board

        def chosen(value: str | None) -> None:
            if not value:
                return
            if value.lstrip("#").isdigit():
                found = [int(value.lstrip("#"))]
            else:
                found = board.state.find_clusters(value, board.view.suggested, limit=1)
            table = self.query_one("#clusters", ClusterTable)
            if not found or not table.select_cluster(found[0]):
                self.notify(f"No cluster matches “{value}”.", severity="warning", timeout=3)
                return
            self.show_info(False)
            table.focus()

        self.push_screen(PromptScreen("Go to cluster (its number, or part of its name)", "",
                                      hint="Enter goes there · Esc cancels"), chosen)

    def action_next_unreviewed(self, step: int) -> None:
        """Move to the next (or previous) cluster without a decision, in the order shown."""
        table = self.query_one("#clusters", ClusterTable)
        if self.board is None:
            return
        target = table.next_matching(step, "unreviewed")
        if target is None:
            self.notify("Every cluster shown has a decision.", timeout=3)
            return
        table.select_cluster(target)
        self.show_info(False)
        table.focus()

    def action_filter_clusters(self) -> None:
        """Show only some clusters: part of a name or number, or unreviewed / accepted / rejected / new."""
        if self.board is None:
            return
        table = self.query_one("#clusters", ClusterTable)

        def chosen(value: str | None) -> None:
            if value is not None:
                table.set_filter(value)
                self._show_clusters_subtitle()

        self.push_screen(PromptScreen("Filter the clusters", table.filter_text,
                                      hint="part of a name or a number, or: unreviewed · accepted · rejected · new "
                                           "(reviewed clusters with new rows) · empty shows all · Esc cancels"),
                         chosen)

    def action_sort_clusters(self) -> None:
        self.query_one("#clusters", ClusterTable).action_cycle_sort()
        self._remember_selection()

    def action_escape(self) -> None:
        """Cancel the opening of a file, leave search results, or go back to the clusters."""
        if self.board is None:
            self.cancel_token.cancel()
            return
        if self.search_mode is not None:
            if self.back_to_earlier_results():
                return
            query = self.query_one("#query", QueryBar)
            if query.value:
                query.action_clear_query()  # its change brings the cluster's members back
            else:
                self.leave_results()  # results of "more like this": no query to clear
                self.action_focus_members()
            return
        self.show_info(False)
        self.action_focus_clusters()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.binding_groups()))

    def binding_groups(self) -> list[tuple[str, list[Binding]]]:
        """Every key the app has, by where it works (the help screen shows these)."""
        return [("Anywhere", [Binding("ctrl+p", "", "Command palette (every action by name)")]), *help_groups()]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for action in palette():
            key = key_label(action.keys.split(",")[0]) if action.keys else ""
            yield SystemCommand(action.palette, f"{action.explain or action.description}" + (f" ({key})" if key else ""),
                                partial(self.run_action, action.app_action))
