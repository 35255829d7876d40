"""The tree tab: the clustering tree's groups from the broadest down, each with its size, name (own or
inherited, dimmed) and keywords; a group expands into its children in place, Enter shows it on the board.

:func:`tree_levels` gathers the levels (a worker's job: one level view per level of the tree);
:class:`GroupTree` lays them out as a Textual :class:`~textual.widgets.Tree`, adding children as a group
is expanded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets._tree import TreeNode

from engine.review import UNREVIEWED
from engine.review_levels import LevelNode
from tui.actions import bindings
from tui.formatting import fit
from tui.widgets.cluster_table import STATUS_MARK


@dataclass
class TreeLevels:
    """The review at every level of its tree, broadest first, and each group's parent one level up."""

    levels: list[int]  # broadest first
    nodes: dict[int, list[LevelNode]]
    parents: dict[int, np.ndarray]  # level -> per group, its group at the next broader level (-1: none)
    version: int  # the review state's version they show

    def children(self, level: int, group: int) -> list[int]:
        """Groups of the next finer level inside ``group`` of ``level``, largest first."""
        i = self.levels.index(level)
        if i + 1 >= len(self.levels):
            return []
        finer = self.levels[i + 1]
        return np.flatnonzero(self.parents[finer] == group).tolist()

    def tops(self) -> tuple[int, list[int]]:
        """The broadest level with more than one group (the top one when none has) and its groups."""
        for level in self.levels:
            if len(self.nodes[level]) > 1:
                return level, list(range(len(self.nodes[level])))
        level = self.levels[-1] if self.levels else 0
        return level, list(range(len(self.nodes.get(level, []))))

    def path(self, level: int, group: int) -> list[tuple[int, int]]:
        """(level, group) from the top shown down to ``group`` of ``level``."""
        top, _ = self.tops()
        out = [(level, group)]
        while level in self.parents and level != top and group >= 0:
            group = int(self.parents[level][group])
            level = self.levels[self.levels.index(level) - 1]
            out.append((level, group))
        return out[::-1]


def tree_levels(review) -> TreeLevels | None:
    """Every level of ``review``'s tree with its groups and their parents (None without a tree)."""
    levels = review.levels()
    if levels is None:
        return None
    version = review.state.version
    ladder = [level for level, _ in levels.ladder()][::-1]
    views = {level: review.level_view(level) for level in ladder}
    parents = {finer: levels.parents(views[finer], views[broader]) for broader, finer in zip(ladder, ladder[1:])}
    return TreeLevels(ladder, {level: view.nodes for level, view in views.items()}, parents, version)


def node_label(node: LevelNode, width: int = 60) -> Text:
    """'✓ name · 1,234 · keywords' with an inherited name or decision dimmed."""
    status = node.effective_status
    mark = STATUS_MARK.get(status, " ")
    text = Text()
    text.append(mark + " ", style=("green" if status == "accepted" else "red")
                + (" dim" if node.status == UNREVIEWED else ""))
    name_style = "bold" if node.name else "dim" if node.inherited else ""
    text.append(fit(node.label, 36), style=name_style)
    text.append(f" · {node.size:,}")
    keywords = ", ".join(t for t, _ in node.keywords[:5])
    if keywords:
        text.append(" · " + fit(keywords, max(width - len(text), 12)), style="dim")
    return text


class GroupTree(Tree):
    """The tree of groups; ``Enter`` asks the board to show the group under the cursor (:class:`Chosen`)."""

    BINDINGS = bindings("tree")

    class Chosen(Message):
        """Show group ``key`` of zoom ``level`` on the board."""

        def __init__(self, level: int, key: tuple) -> None:
            super().__init__()
            self.level, self.key = level, key

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("groups", id=id)
        self.show_root = False
        self.auto_expand = False
        self.data_shown: TreeLevels | None = None
        self.board_shown = None  # the board whose review the tree shows

    def show_levels(self, data: TreeLevels | None, level: int, key: tuple | None) -> None:
        """Lay out ``data`` (None: no tree), the cursor on the group with ``key`` at ``level`` (its ancestors
        expanded)."""
        self.data_shown = data
        self.clear()
        if data is None:
            self.root.add_leaf(Text("This clustering has no tree.", style="dim"))
            return
        top, groups = data.tops()
        for g in groups:
            self._add(self.root, data, top, g)
        self.root.expand()
        if key is not None:
            self.reveal(level, key)

    def _add(self, parent: TreeNode, data: TreeLevels, level: int, group: int) -> TreeNode:
        node = data.nodes[level][group]
        return parent.add(node_label(node), data=(level, group), allow_expand=bool(data.children(level, group)))

    def _fill(self, node: TreeNode) -> None:
        """Add ``node``'s children the first time it opens."""
        if node.data is None or node.children or self.data_shown is None:
            return
        level, group = node.data
        finer = self.data_shown.levels[self.data_shown.levels.index(level) + 1]
        for child in self.data_shown.children(level, group):
            self._add(node, self.data_shown, finer, child)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        self._fill(event.node)

    def reveal(self, level: int, key: tuple) -> None:
        """Expand the way down to the group with ``key`` at ``level`` and put the cursor on it."""
        if self.data_shown is None or level not in self.data_shown.nodes:
            return
        group = next((n.index for n in self.data_shown.nodes[level] if n.key == key), None)
        if group is None:
            return
        node = self.root
        for step in self.data_shown.path(level, group):
            found = next((c for c in node.children if c.data == step), None)
            if found is None:
                return
            node = found
            if step != (level, group):
                self._fill(node)
                node.expand()
        self.call_after_refresh(self._cursor_to, node)  # a node's line is known once the tree is laid out

    def _cursor_to(self, node: TreeNode) -> None:
        self._tree_lines  # lays the lines out, giving each node its line
        self.move_cursor(node)

    def action_show_on_board(self) -> None:
        node = self.cursor_node
        if node is None or node.data is None or self.data_shown is None:
            return
        level, group = node.data
        self.post_message(self.Chosen(level, self.data_shown.nodes[level][group].key))

    def action_expand_group(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand:
            self._fill(node)
            node.toggle()
