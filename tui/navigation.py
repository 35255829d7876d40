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

from tui.screens.help_screen import HelpScreen
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

    def action_sort_clusters(self) -> None:
        self.query_one("#clusters", ClusterTable).action_cycle_sort()
        self._remember_selection()

    def action_escape(self) -> None:
        """Cancel the opening of a file, leave search results, or go back to the clusters."""
        if self.board is None:
            self.cancel_token.cancel()
            return
        if self.search_mode is not None:
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
        """Every binding the app has, by where it applies (the help screen shows these)."""
        return [
            ("Anywhere", [*self.BINDINGS, Binding("ctrl+p", "", "Command palette (every action)")]),
            ("Clusters pane", [Binding("up,k", "", "Previous cluster"), Binding("down,j", "", "Next cluster"),
                               Binding("space", "", "Mark for merging (or for accept/reject in bulk)"),
                               *ClusterTable.BINDINGS]),
            ("Members / results pane", MemberList.BINDINGS),
            ("Search bar", [Binding("enter", "", "Browse the results"), *QueryBar.BINDINGS]),
        ]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        commands = [
            ("Search", "Find texts like a phrase (/)", self.action_focus_query),
            ("Re-cluster", "Switch auto / HDBSCAN / KMeans, change k or min cluster size (c)", self.action_recluster),
            ("Export", "Write every row with its cluster, label and status to a file (e)", self.action_export),
            ("Name cluster", "Name the selected cluster; the keywords suggest a name (n)", self.action_name_cluster),
            ("Accept cluster", "Mark the selected or marked clusters accepted (a)", self.action_accept_cluster),
            ("Reject cluster", "Mark the selected or marked clusters rejected (x)", self.action_reject_cluster),
            ("Mark unreviewed", "Clear the decision on the selected or marked clusters (u)",
             self.action_unreview_cluster),
            ("Merge clusters", "Merge the clusters marked with Space (M)", self.action_merge_clusters),
            ("Split cluster", "Cluster the selected cluster's texts again, into k parts or auto (S)",
             self.action_split_cluster),
            ("Move texts", "Move the marked texts to another cluster, picked by name (v)", self.action_move_members),
            ("Send texts to noise", "Move the marked texts to the unclustered group (d)",
             self.action_members_to_noise),
            ("Undo", "Undo the last review action (Ctrl+Z)", self.action_undo),
            ("Redo", "Redo the last undone action (Ctrl+Y)", self.action_redo),
            ("Classify the rest", "Learn the accepted clusters, propose labels for the other texts (L)",
             self.action_classify_rest),
            ("Near duplicates", "Groups of near-identical texts, to review or collapse once (D)",
             self.action_near_duplicates),
            ("Sort clusters", "Cycle the sort: size, cohesion, name (s)", self.action_sort_clusters),
            ("More like this", "Texts most similar to the selected member (m)", self.action_more_like_this),
            ("Earlier reviews", "Saved reviews of this file: set aside, or of earlier versions; open one",
             self.action_earlier_reviews),
            ("Help", "List every key binding (?)", self.action_help),
            ("Go to clusters", "Focus the clusters pane", self.action_focus_clusters),
            ("Go to members", "Focus the members pane", self.action_focus_members),
        ]
        commands += [(f"Show {tab}", f"Open the {tab} tab ({i})", partial(self.action_show_tab, tab))
                     for i, tab in enumerate(TABS, start=1)]
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)
