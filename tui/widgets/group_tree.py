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
    parents: dict[int, np.ndarray]  # level to, per group, its group at the next broader level (-1: none)
    version: int  # the review state's version they show

    def _finer(self, level: int, group: int) -> list[tuple[int, int]]:
        """(level, group) of the groups of the next finer level inside ``group`` of ``level``, largest first."""
        i = self.levels.index(level)
        if i + 1 >= len(self.levels):
            return []
        finer = self.levels[i + 1]
        return [(finer, g) for g in np.flatnonzero(self.parents[finer] == group).tolist()]

    def _same(self, level: int, group: int) -> list[tuple[int, int]]:
        """The group and the finer groups that hold it whole (one child of the same size), broadest first."""
        out = [(level, group)]
        while len(kids := self._finer(*out[-1])) == 1 and self.size(*kids[0]) == self.size(*out[-1]):
            out.append(kids[0])
        return out

    def size(self, level: int, group: int) -> int:
        return self.nodes[level][group].size

    def shown(self, level: int, group: int) -> tuple[int, int]:
        """The one of the same groups the tree shows: the review's own cluster where it is one, else the broadest."""
        same = self._same(level, group)
        return next((step for step in same if step[0] == 0), same[0])

    def children(self, level: int, group: int) -> list[tuple[int, int]]:
        """(level, group) of the finer groups the tree shows inside ``group`` of ``level``, largest first."""
        return [self.shown(*kid) for kid in self._finer(*self._same(level, group)[-1])]

    def tops(self) -> list[tuple[int, int]]:
        """The groups of the broadest level with more than one group (of the top one when none has)."""
        top = self._top()
        return [self.shown(top, g) for g in range(len(self.nodes[top]))]

    def _top(self) -> int:
        return next((level for level in self.levels if len(self.nodes[level]) > 1), self.levels[-1])

    def path(self, level: int, group: int) -> list[tuple[int, int]]:
        """(level, group) from the top shown down to ``group`` of ``level``."""
        top = self._top()
        out = [(level, group)]
        while level in self.parents and level < top and group >= 0:
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


def node_label(node: LevelNode, width: int = 60, leaf: bool = False) -> Text:
    """'✓ name · 1,234 · keywords' in ``width`` cells, an inherited name or decision dimmed (``leaf``: no
    expand icon, so two cells more, filled to line up with the siblings that have one)."""
    status = node.effective_status
    text = Text("  " if leaf else "")
    text.append(STATUS_MARK.get(status, " ") + " ", style=("green" if status == "accepted" else "red")
                + (" dim" if node.status == UNREVIEWED else ""))
    name_style = "bold" if node.name else "dim" if node.inherited else ""
    text.append(fit(node.label, max(min(36, width - text.cell_len - 8), 8)), style=name_style)
    text.append(f" · {node.size:,}")
    keywords = ", ".join(t for t, _ in node.keywords[:5])
    if keywords and width - text.cell_len - 3 >= 8:
        text.append(" · " + fit(keywords, width - text.cell_len - 3), style="dim")
    return text


class GroupTree(Tree):
    """The tree of groups; ``Enter`` asks the board to show the group under the cursor (:class:`Chosen`)."""

    BINDINGS = bindings("tree")

    DEFAULT_CSS = "GroupTree { overflow-x: hidden; }"

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
        for level_, group in data.tops():
            self._add(self.root, data, level_, group)
        self.root.expand()
        if key is not None:
            self.reveal(level, key)

    def _label(self, level: int, group: int, depth: int) -> Text:
        """The line of ``group`` of ``level`` at ``depth`` (0: the top), fitted to the tree's width."""
        width = max((self.scrollable_content_region.width or 60) - 4 * depth - 3, 20)  # guides, expand icon
        leaf = not self.data_shown.children(level, group)
        return node_label(self.data_shown.nodes[level][group], width + 2 * leaf, leaf)

    def _add(self, parent: TreeNode, data: TreeLevels, level: int, group: int, depth: int = 0) -> TreeNode:
        return parent.add(self._label(level, group, depth), data=(level, group),
                          allow_expand=bool(data.children(level, group)))

    def on_resize(self) -> None:
        """Fit every line to the new width."""
        if self.data_shown is None:
            return
        todo = [(child, 0) for child in self.root.children]
        while todo:
            node, depth = todo.pop()
            if node.data is not None:
                node.set_label(self._label(*node.data, depth))
            todo.extend((child, depth + 1) for child in node.children)

    def _fill(self, node: TreeNode) -> None:
        """Add ``node``'s children the first time it opens."""
        if node.data is None or node.children or self.data_shown is None:
            return
        depth, above = 1, node.parent
        while above is not None and above is not self.root:
            depth, above = depth + 1, above.parent
        for level, group in self.data_shown.children(*node.data):
            self._add(node, self.data_shown, level, group, depth)

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
                continue  # a level that holds the group above whole is not shown
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
