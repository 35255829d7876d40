"""The status line above the panes: the row filter, the file, the clustering, review progress, the model,
background work, and, first and in red until a save works, the changes not saved."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from tui.zoom import describe_level


class StatusLine(Static):
    """One line about the review on screen."""

    def __init__(self) -> None:
        super().__init__("", id="status", markup=False)
        #: What runs in the background now ('' when nothing does).
        self.busy = ""
        #: How far the full model's vectors are, while the board shows a static model's ('' for the default).
        self.vectors = ""

    def show(self, board, review) -> None:
        """Describe ``board`` and ``review`` (nothing before a review is open)."""
        if board is None or review is None:
            return
        s = review.session
        model = Path(str(s.embedder.name)).name
        where = f"on {s.embedder.device}" if s.embedder.loaded else "(loading…)"
        parts = [f"{len(s.corpus):,} texts", f"{describe_level(board)} "
                 f"({board.analysis.clustering.settings.describe()})"]
        if s.static:  # early, so that even 80 columns show which vectors the board is made of
            parts.append(self.vectors or "static vectors")
        parts.append(f"reviewed {board.progress().describe()}")
        if review.read_only:
            parts.append("read-only")
        parts.append(f"{model} {where}")
        if self.busy:
            parts.append(self.busy)
        line = Text(" · ".join(parts))
        if board.within is not None:  # first: what the whole board shows depends on it
            line = Text.assemble((f"where {board.where}: {board.shown_rows:,} rows (f clears)", "bold yellow"),
                                 " · ", line)
        if review.save_status.unsaved:
            line = Text.assemble((f"{review.save_status.describe()} (q asks what to do)", "bold red"), " · ", line)
        self.update(line)
