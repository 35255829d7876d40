"""The panel shown while a file is loaded, embedded and clustered: stage, bar, rows, rate, ETA."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from engine.progress import Progress

STAGES = {"load": "Reading the file", "model": "Loading the model", "distill": "Distilling a static model",
          "embed": "Embedding texts", "cluster": "Clustering", "keywords": "Finding keywords",
          "metrics": "Computing metrics", "map": "Drawing the map"}


def describe(p: Progress) -> str:
    """One line such as 'Embedding texts  4,096 / 13,083 · 312/s · about 29 s left'."""
    parts = [STAGES.get(p.stage, p.stage)]
    if p.total > 1:
        parts.append(f"{p.done:,} / {p.total:,}")
    if p.rate and p.total > 1:
        parts.append(f"{p.rate:,.0f}/s")
    if p.eta is not None and p.total > 1 and p.done < p.total:
        parts.append(f"about {p.eta:,.0f} s left" if p.eta < 120 else f"about {p.eta / 60:,.0f} min left")
    if p.message and p.total <= 1:
        parts.append(p.message)
    return " · ".join(parts)


class ProgressPanel(Vertical):
    """Centered progress for the opening of a file; Esc cancels."""

    DEFAULT_CSS = """
    ProgressPanel { align: center middle; height: 1fr; }
    ProgressPanel > Static { width: 64; max-width: 100%; content-align: center middle; height: auto; }
    ProgressPanel > ProgressBar { width: 64; max-width: 100%; height: 1; }
    ProgressPanel #progress-title { text-style: bold; margin-bottom: 1; }
    ProgressPanel #progress-hint { color: $text-muted; margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="progress-title")
        yield Static("Starting…", id="progress-stage")
        yield ProgressBar(id="progress-bar", show_eta=False, show_percentage=True)
        yield Static("Esc cancels · q quits", id="progress-hint")

    def set_title(self, title: str) -> None:
        self.query_one("#progress-title", Static).update(title)

    def update_progress(self, p: Progress) -> None:
        self.query_one("#progress-stage", Static).update(describe(p))
        self.query_one("#progress-bar", ProgressBar).update(total=max(p.total, 1), progress=p.done)

    def set_message(self, text: str, hint: str = "") -> None:
        self.query_one("#progress-stage", Static).update(text)
        self.query_one("#progress-hint", Static).update(hint)
