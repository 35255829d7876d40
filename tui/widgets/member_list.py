"""A virtualised list of texts: only the visible lines are ever rendered, so 100k rows cost nothing.

Used for the members of a cluster, search results and the review dialogs' lists.  Each line shows a
score, optionally how a search matched it, the cluster or a short tag (a label), and the text cut to the
pane's width.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip

from tui.actions import bindings
from tui.formatting import fit, pad
from tui.widgets.line_list import LineList
from tui.widgets.virtual_size import set_virtual_size

SCORE_CELLS = 6
CLUSTER_CELLS = 5
#: How a search result matched (engine.hybrid_search): by its words, its meaning, or both.
HOW_TAGS = {"word": "w  ", "meaning": " m ", "both": "wm "}
HOW_CELLS = 3


class MemberList(LineList):
    """Rows of texts with a cursor; the app supplies the rows and how to read their text."""

    BINDINGS = bindings("members")

    COMPONENT_CLASSES = {"member-list--cursor", "member-list--score", "member-list--cluster",
                         "member-list--dim", "member-list--mark", "member-list--how"}

    DEFAULT_CSS = """
    MemberList { background: $surface; overflow-x: hidden; }
    MemberList > .member-list--cursor { background: $block-cursor-background; color: $block-cursor-foreground;
                                        text-style: $block-cursor-text-style; }
    MemberList:blur > .member-list--cursor { background: $block-cursor-blurred-background;
                                             text-style: $block-cursor-blurred-text-style; }
    MemberList > .member-list--score { color: $text-muted; }
    MemberList > .member-list--cluster { color: $accent; }
    MemberList > .member-list--dim { color: $text-muted; }
    MemberList > .member-list--mark { color: $warning; text-style: bold; }
    MemberList > .member-list--how { color: $success; }
    """

    class MarksChanged(Message):
        """The set of marked rows changed."""

        def __init__(self, member_list: "MemberList") -> None:
            super().__init__()
            self.member_list = member_list

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.rows = np.empty(0, dtype=np.int64)
        self.scores: np.ndarray | None = None
        self.clusters: np.ndarray | None = None
        self.how: list[str] | None = None
        self.tags: list[str] | None = None
        self.tag_cells = 0
        self.text_of: Callable[[int], str] = lambda row: ""
        self.empty_message = "Nothing to show."

    # ------------------------------------------------------------------ data

    def set_rows(self, rows: np.ndarray, text_of: Callable[[int], str], scores: np.ndarray | None = None,
                 clusters: np.ndarray | None = None, keep_row: int | None = None, how: list[str] | None = None,
                 tags: list[str] | None = None, tag_cells: int = 0) -> None:
        """Show ``rows`` (corpus row numbers); ``scores``/``clusters``/``how`` (word, meaning, both)/``tags``
        aligned with them if given (a tag is cut to ``tag_cells``, default the longest tag up to 24 cells)."""
        self.rows = np.asarray(rows, dtype=np.int64)
        if self.marked:
            self.marked &= set(self.rows.tolist())
            self.post_message(self.MarksChanged(self))
        self.scores = scores
        self.clusters = clusters
        self.how = how
        self.tags = tags
        self.tag_cells = tag_cells or (min(24, max((cell_len(t) for t in tags), default=1)) + 1 if tags else 0)
        self.text_of = text_of
        set_virtual_size(self, Size(0, len(self.rows)))
        target = 0
        if keep_row is not None and len(self.rows):
            hit = np.flatnonzero(self.rows == keep_row)
            target = int(hit[0]) if len(hit) else 0
        self.scroll_to(0, max(0, target - self.size.height // 2), animate=False, immediate=True)
        self.cursor = target
        self.refresh()

    @property
    def current_row(self) -> int:
        """Corpus row under the cursor, or -1."""
        return int(self.rows[self.cursor]) if 0 <= self.cursor < len(self.rows) else -1

    @property
    def item_count(self) -> int:
        return len(self.rows)

    def mark_key(self, index: int) -> int | None:
        return int(self.rows[index]) if 0 <= index < len(self.rows) else None

    def marks_changed(self) -> None:
        self.post_message(self.MarksChanged(self))

    def scroll_to_cursor(self) -> None:
        self.scroll_to_region(Region(0, self.cursor, 1, 1), animate=False, immediate=True)

    # ------------------------------------------------------------------ marks

    def action_mark_all(self) -> None:
        """Mark every row of the list."""
        self.set_marks(set(self.rows.tolist()))

    def action_invert_marks(self) -> None:
        """Mark the unmarked rows and unmark the marked ones."""
        self.set_marks(set(self.rows.tolist()) - self.marked)

    def selected_rows(self) -> np.ndarray:
        """The marked rows (in list order), or the row under the cursor when none is marked."""
        if self.marked:
            return np.asarray([r for r in self.rows.tolist() if r in self.marked], dtype=np.int64)
        row = self.current_row
        return np.asarray([row] if row >= 0 else [], dtype=np.int64)

    # ------------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        width, top = self.paint_geometry
        index = y + top
        base = self.base_style
        if not len(self.rows):
            if y == 0:
                dim = self.get_component_rich_style("member-list--dim")
                return Strip([Segment(fit(" " + self.empty_message, width), dim)]).adjust_cell_length(width, base)
            return Strip.blank(width, base)
        if index >= len(self.rows):
            return Strip.blank(width, base)
        row = int(self.rows[index])
        line_style = self.get_component_rich_style("member-list--cursor") if index == self.cursor else Style()
        mark = "● " if row in self.marked else "  "
        segments = [Segment(mark, self.get_component_rich_style("member-list--mark") + line_style)]
        used = 2
        if self.scores is not None:
            score = self.scores[index]
            text = " –    " if np.isnan(score) else f"{score:5.2f} "
            segments.append(Segment(text, self.get_component_rich_style("member-list--score") + line_style))
            used += SCORE_CELLS
        if self.how is not None:
            segments.append(Segment(HOW_TAGS.get(self.how[index], "   "),
                                    self.get_component_rich_style("member-list--how") + line_style))
            used += HOW_CELLS
        if self.clusters is not None:
            cid = int(self.clusters[index])
            tag = pad("–" if cid < 0 else f"#{cid}", CLUSTER_CELLS - 1) + " "
            segments.append(Segment(tag, self.get_component_rich_style("member-list--cluster") + line_style))
            used += CLUSTER_CELLS
        if self.tags is not None:
            tag = pad(self.tags[index], self.tag_cells - 1) + " "
            segments.append(Segment(tag, self.get_component_rich_style("member-list--cluster") + line_style))
            used += self.tag_cells
        text = fit(self.text_of(row), max(0, width - used - 1))
        rest = width - used - cell_len(text)  # padded here: a strip of known length is not measured again
        segments.append(Segment(text + " " * rest if rest > 0 else text, base + line_style))
        return Strip(segments, width) if rest >= 0 else Strip(segments).adjust_cell_length(width, base + line_style)
