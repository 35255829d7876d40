"""The clusters pane: one row per cluster with id, name, size, cohesion and top keywords; sortable."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from tui.formatting import fit, num

#: The review status shown next to a cluster's name ("unreviewed" shows nothing).
STATUS_MARK = {"accepted": "✓", "rejected": "✗"}


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


SORTS = ("size", "cohesion", "name")


class ClusterTable(DataTable):
    """Clusters, largest first by default; the unclustered and empty groups always last."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
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

    sort_key = "size"

    class ClusterHighlighted(Message):
        """The cursor moved to cluster ``cluster_id``."""

        def __init__(self, cluster_id: int) -> None:
            super().__init__()
            self.cluster_id = cluster_id

    class MarksChanged(Message):
        """The set of clusters marked for merging changed."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._rows: list[ClusterLine] = []
        self.marked: set[int] = set()

    def _add_columns(self) -> tuple[int, int, bool]:
        """(Re)create the columns to fit the pane's width; returns (name, keywords widths, cohesion shown)."""
        self.clear(columns=True)
        pad = 2 * self.cell_padding
        id_w = max(2, len(str(max((r.id for r in self._rows), default=0))))
        size_w = max(4, len(f"{max((r.size for r in self._rows), default=0):,}"))
        width = self.scrollable_content_region.width or self.size.width
        room = width - (id_w + size_w + 2 + 3 * pad) - pad  # '#', size, marks and the name's own padding
        show_cohesion = room >= 24 + 4 + pad
        if show_cohesion:
            room -= 4 + pad
        name_w = max(8, room if room < 34 else max(16, min(36, room // 2)))
        keywords_w = room - name_w - pad if room - name_w - pad >= 8 else 0
        self.add_column("#", key="id", width=id_w)
        self.add_column("size", key="size", width=size_w)
        if show_cohesion:
            self.add_column("coh.", key="cohesion", width=4)
        self.add_column("", key="marks", width=2)
        self.add_column("name", key="name", width=name_w)
        if keywords_w:
            self.add_column("keywords", key="keywords", width=keywords_w)
        return name_w, keywords_w, show_cohesion

    def on_resize(self) -> None:
        if self._rows:
            self._fill(self.current_cluster)

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
        name_w, keywords_w, show_cohesion = self._add_columns()
        target = 0
        for i, r in enumerate(self._ordered()):
            if r.id == keep:
                target = i
            ident = Text(str(r.id) if r.id >= 0 else "–", style="dim" if r.id < 0 else "", justify="right")
            marks = Text()
            marks.append("▸" if r.id in self.marked else " ", style="bold yellow")
            marks.append(STATUS_MARK.get(r.status, " "), style="bold green" if r.status == "accepted" else "bold red")
            name = Text(fit(r.name, name_w), style="italic" if r.id < 0 else ("bold" if r.named else ""))
            cells = [ident, Text(f"{r.size:,}", justify="right")]
            if show_cohesion:
                cells.append(Text(num(r.cohesion, 2).removeprefix("0"), justify="right"))
            cells += [marks, name]
            if keywords_w:
                cells.append(Text(fit(r.keywords, keywords_w), style="dim"))
            self.add_row(*cells, key=str(r.id))
        if self.row_count:
            self.move_cursor(row=target, animate=False, scroll=True)

    @property
    def current_cluster(self) -> int | None:
        """Id of the cluster under the cursor, or None when the table is empty."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return int(key.value) if key.value is not None else None

    def select_cluster(self, cluster_id: int) -> None:
        """Move the cursor to ``cluster_id``."""
        try:
            index = self.get_row_index(str(cluster_id))
        except Exception:
            return
        self.move_cursor(row=index, animate=False, scroll=True)

    def action_toggle_mark(self) -> None:
        """Mark or unmark the cluster under the cursor for merging, then move down."""
        cid = self.current_cluster
        if cid is None or cid < 0:
            return
        self.marked.symmetric_difference_update({cid})
        row = self.cursor_row
        self._fill(cid)
        self.move_cursor(row=min(row + 1, self.row_count - 1), animate=False)
        self.post_message(self.MarksChanged())

    def clear_marks(self) -> None:
        if self.marked:
            self.marked = set()
            self._fill(self.current_cluster)
            self.post_message(self.MarksChanged())

    def action_cycle_sort(self) -> None:
        """Sort by size → cohesion → name → size."""
        keep = self.current_cluster
        self.sort_key = SORTS[(SORTS.index(self.sort_key) + 1) % len(SORTS)]
        self._fill(keep)
        self.border_subtitle = f"sorted by {self.sort_key} (s)"
        self.notify(f"Clusters sorted by {self.sort_key}", timeout=2)

    def action_open_members(self) -> None:
        self.app.action_focus_members()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.ClusterHighlighted(int(event.row_key.value)))
