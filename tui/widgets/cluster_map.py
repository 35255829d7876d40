"""The map pane: every text as a braille dot at its 2-D position, one colour per cluster.

Each terminal cell holds 2×4 dots.  The selected cluster is drawn last, in
bold on a contrasting background on top of the others; noise is grey.  The
bottom line is a legend.  Rendering is numpy over all points and only happens
when the data, the selection, the size or the theme changes.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

# Distinct colours that read on dark and light backgrounds and exist in 256-colour terminals.
PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a9d00",
           "#469990", "#9a6324", "#800000", "#808000", "#000075", "#e6a800", "#00a86b", "#c71585")
NOISE_COLOUR = "#8a8a8a"
# Braille dot bits for (column, row) inside a 2×4 cell.
_BITS = np.array([[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]], dtype=np.uint16)


def cluster_colour(cluster_id: int) -> str:
    """The map colour of ``cluster_id`` (grey for noise)."""
    return NOISE_COLOUR if cluster_id < 0 else PALETTE[cluster_id % len(PALETTE)]


class ClusterMap(Widget, can_focus=True):
    """A braille scatter plot of the clusters."""

    DEFAULT_CSS = "ClusterMap { height: 1fr; width: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.xy: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self.selected: int | None = None
        self._lines: list[Strip] = []
        self._key: tuple | None = None
        self._highlight = Style(color="bright_white", bold=True, bgcolor="grey30")
        self.message = "The map appears once the clusters are ready."

    def set_points(self, xy: np.ndarray | None, labels: np.ndarray | None) -> None:
        """Positions in [0,1]² and cluster labels of the points (None clears the map)."""
        self.xy, self.labels = xy, labels
        self._key = None
        self._refresh_if_shown()

    def select(self, cluster_id: int | None) -> None:
        """Draw ``cluster_id`` on top, highlighted."""
        if cluster_id != self.selected:
            self.selected = cluster_id
            self._key = None
            self._refresh_if_shown()

    def _refresh_if_shown(self) -> None:
        # A refresh of a widget that is not on screen (the map's tab is hidden) makes Textual arrange the
        # whole screen again at its next paint.  Textual draws the map afresh when its tab is shown.
        if self.is_on_screen:
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        dark = self.app.current_theme.dark if self.is_attached else True
        key = (width, height, self.selected, id(self.xy), dark)
        if key != self._key:
            self._highlight = Style(color="bright_white", bold=True, bgcolor="grey30") if dark else \
                Style(color="black", bold=True, bgcolor="grey82")
            self._lines = self._draw(width, height - 1) + [self._legend(width)] if height > 2 else \
                self._draw(width, height)
            self._key = key
        return self._lines[y] if y < len(self._lines) else Strip.blank(width)

    def _legend(self, width: int) -> Strip:
        """One line: what the colours and the highlight mean."""
        if self.xy is None or self.labels is None:
            return Strip.blank(width)
        what = "noise" if self.selected is not None and self.selected < 0 else f"#{self.selected}"
        segments = [Segment(" ■ ", self._highlight), Segment(f" {what}  ")] if self.selected is not None else []
        segments += [Segment("■", Style(color=PALETTE[0])), Segment("■", Style(color=PALETTE[1])),
                     Segment("■", Style(color=PALETTE[2])), Segment(" clusters  "),
                     Segment("■", Style(color=NOISE_COLOUR)), Segment(" unclustered  "),
                     Segment("near = similar", Style(dim=True))]
        return Strip(segments).crop(0, width).adjust_cell_length(width)

    def _draw(self, width: int, height: int) -> list[Strip]:
        if self.xy is None or self.labels is None or width < 4 or height < 2:
            text = self.message[:width]
            return [Strip([Segment(text, Style(dim=True))]).adjust_cell_length(width)] + \
                [Strip.blank(width) for _ in range(height - 1)]
        labels = self.labels
        # One scale for both axes: a braille dot is about square, so the picture keeps its proportions.
        side = min(2 * width, 4 * height) - 1
        off_x, off_y = (2 * width - 1 - side) / 2, (4 * height - 1 - side) / 2
        order = np.argsort(labels == self.selected, kind="stable") if self.selected is not None else \
            np.arange(len(labels))
        xy = self.xy[order]
        lab = labels[order]
        dx = np.clip((off_x + xy[:, 0] * side).astype(np.int64), 0, 2 * width - 1)
        dy = np.clip((off_y + (1 - xy[:, 1]) * side).astype(np.int64), 0, 4 * height - 1)
        cell = (dy // 4) * width + dx // 2
        bits = np.zeros(width * height, dtype=np.uint16)
        np.bitwise_or.at(bits, cell, _BITS[dx % 2, dy % 4])
        owner = np.full(width * height, -2, dtype=np.int64)
        owner[cell] = lab  # later points win: the selected cluster is drawn last
        styles: dict[int, Style] = {}

        def style_of(cid: int) -> Style:
            if cid not in styles:
                if self.selected is not None and cid == self.selected:
                    styles[cid] = self._highlight
                else:
                    styles[cid] = Style(color=cluster_colour(cid))
            return styles[cid]

        chars = [chr(0x2800 + int(b)) if b else " " for b in bits]
        owners = [int(o) if b else -3 for o, b in zip(owner, bits)]
        if self.selected is not None and (lab == self.selected).any():
            self._label_selected(chars, owners, cell[lab == self.selected], width)

        lines = []
        for row in range(height):
            segments = []
            run_text, run_owner = [], None
            for col in range(width):
                i = row * width + col
                ch, o = chars[i], owners[i]
                if o != run_owner and run_text:
                    segments.append(Segment("".join(run_text), self._style(style_of, run_owner)))
                    run_text = []
                run_owner = o
                run_text.append(ch)
            if run_text:
                segments.append(Segment("".join(run_text), self._style(style_of, run_owner)))
            lines.append(Strip(segments, width))
        return lines

    @staticmethod
    def _style(style_of, owner: int) -> Style | None:
        if owner == -4:
            return Style(color="black", bgcolor="bright_white", bold=True)
        return style_of(owner) if owner >= -1 else None

    def _label_selected(self, chars: list[str], owners: list[int], cells: np.ndarray, width: int) -> None:
        """Write '#id' just above the selected cluster's points (inside the picture)."""
        label = f" #{self.selected} " if self.selected >= 0 else " noise "
        rows, cols = cells // width, cells % width
        row = max(0, int(rows.min()) - 1)
        col = int(np.clip(np.median(cols) - len(label) // 2, 0, max(0, width - len(label))))
        for j, ch in enumerate(label):
            if col + j < width:
                chars[row * width + col + j] = ch
                owners[row * width + col + j] = -4
