"""The clusters pane: one row per cluster with id, size, cohesion, review marks, name and top keywords.

Drawn line by line (like :class:`tui.widgets.member_list.MemberList`): a cursor move repaints two
lines, and a change of focus repaints the pane from these cheap lines (its border changes colour).
Textual's DataTable re-rendered every visible cell through Rich on each focus change, which made Tab
between panes cost ~100 ms.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.formatting import fit, num, pad
from tui.widgets.base_style import BaseStyleCache
from tui.widgets.paint_geometry import PaintGeometry
from tui.widgets.virtual_size import set_virtual_size

#: The review status shown next to a cluster's name ("unreviewed" shows nothing).
STATUS_MARK = {"accepted": "✓", "rejected": "✗"}

SORTS = ("size", "cohesion", "name")


@dataclass
class ClusterLine:
    """One row of the clusters pane."""

    id: int
    name: str
    size: int
    cohesion: float | None
    keywords: str
    status: str
    named: bool


@dataclass
class Columns:
    """Cell widths of the pane's columns (0: not shown)."""

    id: int
    size: int
    cohesion: int
    name: int
    keywords: int


def layout(rows: list[ClusterLine], width: int) -> Columns:
    """Column widths for ``rows`` in ``width`` cells: the name gets up to 36, keywords the rest (from 12)."""
    id_w = max(2, len(str(max((r.id for r in rows), default=0))))
    size_w = max(4, len(f"{max((r.size for r in rows), default=0):,}"))
    room = width - (1 + id_w + 1 + size_w + 1 + 2 + 1)  # gaps, id, size, marks
    cohesion_w = 4 if room >= 24 + 5 else 0
    if cohesion_w:
        room -= cohesion_w + 1
    name_w = max(8, min(36, room))  # names come first: they are made from the top keywords anyway
    keywords_w = room - name_w - 1 if room - name_w - 1 >= 12 else 0
    return Columns(id_w, size_w, cohesion_w, name_w, keywords_w)


class ClusterTable(PaintGeometry, BaseStyleCache, ScrollView, can_focus=True):
    """Clusters, largest first by default; the unclustered and empty groups always last."""

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False),
        Binding("pagedown,ctrl+f", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("enter", "open_members", "Members", show=False),
        Binding("n", "app.name_cluster", "Name"),
        Binding("a", "app.accept_cluster", "Accept"),
        Binding("x", "app.reject_cluster", "Reject"),
        Binding("u", "app.unreview_cluster", "Unreviewed", show=False),
        Binding("space", "toggle_mark", "Mark", show=False),
        Binding("M", "app.merge_clusters", "Merge"),
        Binding("S", "app.split_cluster", "Split"),
        Binding("s", "cycle_sort", "Sort", show=False),
    ]

    COMPONENT_CLASSES = {"cluster-table--header", "cluster-table--cursor", "cluster-table--dim",
                         "cluster-table--mark", "cluster-table--accepted", "cluster-table--rejected"}

    DEFAULT_CSS = """
    ClusterTable { background: $surface; overflow-x: hidden; }
    ClusterTable > .cluster-table--header { color: $text-muted; text-style: bold; }
    ClusterTable > .cluster-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground;
                                            text-style: $block-cursor-text-style; }
    ClusterTable:blur > .cluster-table--cursor { background: $block-cursor-blurred-background;
                                                 text-style: $block-cursor-blurred-text-style; }
    ClusterTable > .cluster-table--dim { color: $text-muted; }
    ClusterTable > .cluster-table--mark { color: $warning; text-style: bold; }
    ClusterTable > .cluster-table--accepted { color: $success; text-style: bold; }
    ClusterTable > .cluster-table--rejected { color: $error; text-style: bold; }
    """

    #: The cursor's position in the shown order.  The app watches it (``App.watch``): its watcher runs in
    #: the same call, so the cluster's members are painted with the cursor.  (A message would arrive after
    #: the cursor's paint, and the members' paint then waited 5-30 ms for Textual's next frame.)
    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)  # watch_cursor repaints two lines
    sort_key = "size"

    class MarksChanged(Message):
        """The set of clusters marked for merging changed."""

    class Sorted(Message):
        """The clusters are now sorted by :attr:`ClusterTable.sort_key`."""

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._rows: list[ClusterLine] = []
        self._order: list[ClusterLine] = []
        self._columns = layout([], 0)
        self.marked: set[int] = set()

    # ------------------------------------------------------------------ data

    def show(self, rows: list[ClusterLine], keep: int | None = None) -> None:
        """Replace the rows, keep the cursor on cluster ``keep`` if it is still there."""
        self._rows = rows
        alive = {r.id for r in rows if r.id >= 0}
        if self.marked - alive:
            self.marked &= alive
            self.post_message(self.MarksChanged())
        self._fill(keep)

    def _ordered(self) -> list[ClusterLine]:
        real = [r for r in self._rows if r.id >= 0]
        rest = sorted((r for r in self._rows if r.id < 0), key=lambda r: -r.id)
        if self.sort_key == "cohesion":
            real.sort(key=lambda r: (-(r.cohesion or 0.0), r.id))
        elif self.sort_key == "name":
            real.sort(key=lambda r: (r.name.casefold(), r.id))
        else:
            real.sort(key=lambda r: (-r.size, r.id))
        return real + rest

    def _fill(self, keep: int | None) -> None:
        self._order = self._ordered()
        self._columns = layout(self._rows, self.scrollable_content_region.width or self.size.width)
        set_virtual_size(self, Size(0, len(self._order) + 1))  # + the header line
        target = next((i for i, r in enumerate(self._order) if r.id == keep), 0)
        self.cursor = target
        self.refresh()

    def on_resize(self) -> None:
        self._columns = layout(self._rows, self.scrollable_content_region.width or self.size.width)
        self._scroll_to_cursor()
        self.refresh()

    @property
    def row_count(self) -> int:
        """Number of rows (clusters and the unclustered/empty groups)."""
        return len(self._order)

    @property
    def current_cluster(self) -> int | None:
        """Id of the cluster under the cursor, or None when the table is empty."""
        return self._order[self.cursor].id if 0 <= self.cursor < len(self._order) else None

    def select_cluster(self, cluster_id: int) -> None:
        """Move the cursor to ``cluster_id``."""
        for i, r in enumerate(self._order):
            if r.id == cluster_id:
                self.cursor = i
                return

    # ------------------------------------------------------------------ cursor

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self._order) - 1)) if self._order else 0

    def watch_cursor(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        top, visible = self.scroll_offset.y, max(1, self.size.height - 1)  # line 0 is the header
        if self.cursor < top:
            top = self.cursor
        elif self.cursor >= top + visible:
            top = self.cursor - visible + 1
        if top != self.scroll_offset.y:
            self.scroll_to(0, top, animate=False, immediate=True)

    def _refresh_row(self, index: int) -> None:
        y = index - self.scroll_offset.y + 1
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))  # a line of the pane (not refresh_line: see MemberList)

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(1, self.size.height - 2)

    def action_jump(self, index: int) -> None:
        self.cursor = index if index >= 0 else len(self._order) - 1

    def on_click(self, event) -> None:
        if event.y >= 1:
            index = event.y - 1 + self.scroll_offset.y
            if 0 <= index < len(self._order):
                self.cursor = index

    # ------------------------------------------------------------------ marks and sort

    def action_toggle_mark(self) -> None:
        """Mark or unmark the cluster under the cursor for merging, then move down."""
        cid = self.current_cluster
        if cid is None or cid < 0:
            return
        self.marked.symmetric_difference_update({cid})
        self._refresh_row(self.cursor)
        self.cursor += 1
        self.post_message(self.MarksChanged())

    def clear_marks(self) -> None:
        if self.marked:
            self.marked = set()
            self.refresh()
            self.post_message(self.MarksChanged())

    def action_cycle_sort(self) -> None:
        """Sort by size → cohesion → name → size."""
        keep = self.current_cluster
        self.sort_key = SORTS[(SORTS.index(self.sort_key) + 1) % len(SORTS)]
        self._fill(keep)
        self.post_message(self.Sorted())
        self.notify(f"Clusters sorted by {self.sort_key}", timeout=2)

    def action_open_members(self) -> None:
        self.app.action_focus_members()

    # ------------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        width, top = self.paint_geometry
        base = self.base_style
        if y == 0:
            return self._header(width, base)
        index = y - 1 + top
        if index >= len(self._order):
            return Strip.blank(width, base)
        r = self._order[index]
        c = self._columns
        line = self.get_component_rich_style("cluster-table--cursor") if index == self.cursor else Style()
        dim = self.get_component_rich_style("cluster-table--dim")
        segments = [Segment(" " + ("–" if r.id < 0 else str(r.id)).rjust(c.id) + " ", (dim if r.id < 0 else base) + line),
                    Segment(f"{r.size:,}".rjust(c.size) + " ", base + line)]
        if c.cohesion:
            segments.append(Segment(num(r.cohesion, 2).removeprefix("0").rjust(c.cohesion) + " ", base + line))
        segments.append(Segment("▸" if r.id in self.marked else " ",
                                self.get_component_rich_style("cluster-table--mark") + line))
        status = STATUS_MARK.get(r.status, " ")
        status_style = "cluster-table--accepted" if r.status == "accepted" else "cluster-table--rejected"
        segments.append(Segment(status + " ", self.get_component_rich_style(status_style) + line))
        name_style = Style(italic=True) if r.id < 0 else Style(bold=r.named)
        segments.append(Segment(pad(r.name, c.name) + " ", base + name_style + line))
        if c.keywords:
            segments.append(Segment(fit(r.keywords, c.keywords), dim + line))
        return Strip(segments).adjust_cell_length(width, base + line)

    def _header(self, width: int, base: Style) -> Strip:
        c = self._columns
        text = " " + "#".rjust(c.id) + " " + "size".rjust(c.size) + " "
        if c.cohesion:
            text += "coh.".rjust(c.cohesion) + " "
        text += "  " + pad("name", c.name) + " " + ("keywords" if c.keywords else "")
        return Strip([Segment(fit(text, width), base + self.get_component_rich_style("cluster-table--header"))]) \
            .adjust_cell_length(width, base)
