"""The clusters pane: one row per cluster with id, size, cohesion, a statistic of a column (when one is
chosen), review marks, name and top keywords.

Drawn line by line (like :class:`tui.widgets.member_list.MemberList`): a cursor move repaints two
lines, and a change of focus repaints the pane from these cheap lines (its border changes colour).
Textual's DataTable re-renders every visible cell through Rich on each focus change, which a Tab between
panes would pay.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from tui.actions import bindings
from tui.formatting import fit, num, pad
from tui.widgets.line_list import LineList
from tui.widgets.virtual_size import set_virtual_size

#: The review status shown next to a cluster's name ("unreviewed" shows nothing).
STATUS_MARK = {"accepted": "✓", "rejected": "✗"}

SORTS = ("size", "cohesion", "name")
#: The sorts a statistic column adds: by its value (largest first), or for a trend growing / shrinking fastest.
STAT_SORTS = ("stat",)
TREND_SORTS = ("growing", "shrinking")


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
    new_rows: int = 0  # rows of a reviewed cluster that no decision covers yet
    stat: float = math.nan  # the chosen column statistic (the sort's value)
    stat_text: str = ""  # … as shown (a figure or a sparkline)
    inherited_name: bool = False  # the name comes from a broader group of the tree (shown dimmed)
    inherited_status: bool = False  # so does the decision


@dataclass
class Columns:
    """Cell widths of the pane's columns (0: not shown)."""

    id: int
    size: int
    cohesion: int
    stat: int
    name: int
    keywords: int


def layout(rows: list[ClusterLine], width: int, cohesion: bool = False, stat: int = 0) -> Columns:
    """Column widths for ``rows`` in ``width`` cells: the name gets up to 36, keywords the rest (from 12).

    Nothing overflows the width (a name is cut with "…"); cohesion is shown when there is room, and
    always when the clusters are sorted by it (``cohesion``); a statistic column of ``stat`` cells comes
    before the name when there is room for a name of 6 beside it."""
    id_w = max(2, len(str(max((r.id for r in rows), default=0))))
    size_w = max(4, len(f"{max((r.size for r in rows), default=0):,}"))
    room = max(0, width - (1 + id_w + 1 + size_w + 1 + 2 + 1))  # gaps, id, size, marks
    cohesion_w = 4 if room >= 24 + 5 or (cohesion and room >= 5 + 6) else 0
    if cohesion_w:
        room -= cohesion_w + 1
    stat_w = stat if stat and room - stat - 1 >= 6 else 0
    if stat_w:
        room -= stat_w + 1
    name_w = min(36, room)  # names come first: they are made from the top keywords anyway
    keywords_w = room - name_w - 1 if room - name_w - 1 >= 12 else 0
    return Columns(id_w, size_w, cohesion_w, stat_w, name_w, keywords_w)


class ClusterTable(LineList):
    """Clusters, largest first by default; the unclustered and empty groups always last."""

    HEADER = 1

    BINDINGS = bindings("clusters")

    COMPONENT_CLASSES = {"cluster-table--header", "cluster-table--cursor", "cluster-table--dim",
                         "cluster-table--mark", "cluster-table--accepted", "cluster-table--rejected",
                         "cluster-table--stat"}

    DEFAULT_CSS = """
    ClusterTable { background: $surface; overflow-x: hidden; }
    ClusterTable > .cluster-table--header { color: $text-muted; text-style: bold; }
    ClusterTable > .cluster-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground;
                                            text-style: $block-cursor-text-style; }
    ClusterTable:blur > .cluster-table--cursor { background: $block-cursor-blurred-background;
                                                 text-style: $block-cursor-blurred-text-style; }
    ClusterTable > .cluster-table--dim { color: $text-muted; }
    ClusterTable > .cluster-table--stat { color: $accent; }
    ClusterTable > .cluster-table--mark { color: $warning; text-style: bold; }
    ClusterTable > .cluster-table--accepted { color: $success; text-style: bold; }
    ClusterTable > .cluster-table--rejected { color: $error; text-style: bold; }
    """

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
        #: Shows only clusters whose name or number contains it, or with that status
        #: (unreviewed, accepted, rejected, new); "" shows all.
        self.filter_text = ""
        #: The heading and width of the statistic column ("" and 0: none), and the sorts it adds.
        self.stat_title = ""
        self.stat_width = 0
        self.stat_sorts: tuple[str, ...] = ()

    # ------------------------------------------------------------------ data

    def show(self, rows: list[ClusterLine], keep: int | None = None) -> None:
        """Replace the rows, keep the cursor on cluster ``keep`` if it is still there."""
        self._rows = rows
        alive = {r.id for r in rows if r.id >= 0}
        if self.marked - alive:
            self.marked &= alive
            self.marks_changed()
        self._fill(keep)

    def set_filter(self, text: str) -> None:
        """Show only the clusters :attr:`filter_text` lets through (the cursor stays on its cluster if shown)."""
        self.filter_text = text.strip()
        self._fill(self.current_cluster)

    def _shown(self, r: ClusterLine) -> bool:
        f = self.filter_text.casefold()
        if not f:
            return True
        if r.id < 0:
            return False
        if f in ("unreviewed", "accepted", "rejected"):
            return r.status == f
        if f == "new":
            return r.new_rows > 0
        return f == str(r.id) or f in r.name.casefold()

    @property
    def hidden(self) -> int:
        """Clusters the filter hides."""
        return len(self._rows) - len(self._order)

    def _ordered(self) -> list[ClusterLine]:
        real = [r for r in self._rows if r.id >= 0 and self._shown(r)]
        rest = sorted((r for r in self._rows if r.id < 0 and self._shown(r)), key=lambda r: -r.id)
        if self.sort_key == "cohesion":
            real.sort(key=lambda r: (-(r.cohesion or 0.0), r.id))
        elif self.sort_key == "name":
            real.sort(key=lambda r: (r.name.casefold(), r.id))
        elif self.sort_key in ("stat", "growing", "shrinking"):  # clusters without a value last
            sign = 1 if self.sort_key == "shrinking" else -1
            real.sort(key=lambda r: (math.isnan(r.stat), sign * (0.0 if math.isnan(r.stat) else r.stat), r.id))
        else:
            real.sort(key=lambda r: (-r.size, r.id))
        return real + rest

    def _fill(self, keep: int | None) -> None:
        self._order = self._ordered()
        self._columns = self._layout()
        set_virtual_size(self, Size(0, len(self._order) + 1))  # + the header line
        target = next((i for i, r in enumerate(self._order) if r.id == keep), 0)
        self.cursor = target
        self.refresh()

    def _layout(self) -> Columns:
        width = self.scrollable_content_region.width or self.size.width
        return layout(self._rows, width, self.sort_key == "cohesion", self.stat_width)

    def on_resize(self) -> None:
        self._columns = self._layout()
        self.scroll_to_cursor()
        self.refresh()

    @property
    def row_count(self) -> int:
        """Number of rows (clusters and the unclustered/empty groups)."""
        return len(self._order)

    @property
    def item_count(self) -> int:
        return len(self._order)

    def mark_key(self, index: int) -> int | None:
        cid = self._order[index].id if 0 <= index < len(self._order) else -1
        return cid if cid >= 0 else None  # the unclustered and empty groups cannot be merged

    def marks_changed(self) -> None:
        self.post_message(self.MarksChanged())

    @property
    def current_cluster(self) -> int | None:
        """Id of the cluster under the cursor, or None when the table is empty."""
        return self._order[self.cursor].id if 0 <= self.cursor < len(self._order) else None

    def select_cluster(self, cluster_id: int) -> bool:
        """Move the cursor to ``cluster_id`` (clearing a filter that hides it); False when there is none."""
        if self.filter_text and not any(r.id == cluster_id for r in self._order):
            if not any(r.id == cluster_id for r in self._rows):
                return False
            self.filter_text = ""
            self._fill(cluster_id)
        for i, r in enumerate(self._order):
            if r.id == cluster_id:
                self.cursor = i
                return True
        return False

    def next_cluster(self) -> int | None:
        """The cluster after the cursor in the shown order (None at the end)."""
        nxt = self.cursor + 1
        return self._order[nxt].id if nxt < len(self._order) and self._order[nxt].id >= 0 else None

    def next_matching(self, step: int, status: str = "") -> int | None:
        """The next cluster (after the cursor, in the shown order, wrapping) whose status is ``status``."""
        n = len(self._order)
        for k in range(1, n + 1):
            r = self._order[(self.cursor + step * k) % n]
            if r.id >= 0 and r.status == status:
                return r.id
        return None

    # ------------------------------------------------------------------ marks and sort

    def set_stat(self, title: str, width: int, sorts: tuple[str, ...]) -> None:
        """Show a statistic column headed ``title`` of ``width`` cells (0: none) adding ``sorts``; the rows
        carry the values (:attr:`ClusterLine.stat`)."""
        self.stat_title, self.stat_width, self.stat_sorts = title, width, sorts
        if self.sort_key not in SORTS + sorts:
            self.sort_key = sorts[0] if sorts else "size"
            self.post_message(self.Sorted())

    @property
    def sorts(self) -> tuple[str, ...]:
        """The sorts offered now: size, cohesion, name and those of the statistic column."""
        return SORTS + self.stat_sorts

    def action_cycle_sort(self) -> None:
        """Sort by size → cohesion → name → (the statistic's sorts) → size."""
        keep = self.current_cluster
        sorts = self.sorts
        self.sort_key = sorts[(sorts.index(self.sort_key) + 1) % len(sorts)] if self.sort_key in sorts else sorts[0]
        self._fill(keep)
        self.post_message(self.Sorted())
        self.notify(f"Clusters sorted by {self.sort_key}", timeout=2)

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
        if c.stat:
            shown = fit(r.stat_text, c.stat)
            segments.append(Segment(" " * (c.stat - cell_len(shown)) + shown + " ",
                                    self.get_component_rich_style("cluster-table--stat") + line))
        segments.append(Segment("▸" if r.id in self.marked else " ",
                                self.get_component_rich_style("cluster-table--mark") + line))
        status = STATUS_MARK.get(r.status, " ")
        status_style = "cluster-table--accepted" if r.status == "accepted" else "cluster-table--rejected"
        inherited = Style(dim=True)
        segments.append(Segment(status + " ", self.get_component_rich_style(status_style)
                                + (inherited if r.inherited_status else Style()) + line))
        name_style = Style(italic=True) if r.id < 0 else dim if r.inherited_name else Style(bold=r.named)
        segments.append(Segment(pad(r.name, c.name) + " ", base + name_style + line))
        if c.keywords:
            segments.append(Segment(fit(r.keywords, c.keywords), dim + line))
        return Strip(segments).adjust_cell_length(width, base + line)

    def _header(self, width: int, base: Style) -> Strip:
        c = self._columns
        text = " " + "#".rjust(c.id) + " " + "size".rjust(c.size) + " "
        if c.cohesion:
            text += "coh.".rjust(c.cohesion) + " "
        if c.stat:
            text += fit(self.stat_title, c.stat).rjust(c.stat) + " "
        text += "  " + pad("name", c.name) + " " + ("keywords" if c.keywords else "")
        return Strip([Segment(fit(text, width), base + self.get_component_rich_style("cluster-table--header"))]) \
            .adjust_cell_length(width, base)
