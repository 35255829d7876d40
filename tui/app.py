"""The qtui Textual app: opens a file, embeds and clusters it in a worker, shows the clusters."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, OptionList, ProgressBar, Static
from textual.worker import get_current_worker

from engine.analysis import Analysis
from engine.clustering import ClusterSettings
from engine.display_text import safe_text
from engine.errors import QtuiError, show_path
from engine.progress import CancelToken, Cancelled, Progress
from engine.session import Session, SessionOptions

STAGES = {"load": "Loading file", "model": "Loading model", "embed": "Embedding", "cluster": "Clustering",
          "keywords": "Keywords", "metrics": "Metrics"}


class QtuiApp(App):
    """Explore the clusters of one text file."""

    CSS_PATH = "qtui.tcss"
    TITLE = "qtui"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("escape", "cancel", "Cancel", show=False),
    ]

    def __init__(self, path: Path, options: SessionOptions | None = None,
                 settings: ClusterSettings | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.options = options or SessionOptions()
        self.settings = settings or ClusterSettings()
        self.session: Session | None = None
        self.analysis: Analysis | None = None
        self._cancel = CancelToken()
        self.sub_title = show_path(self.path)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Starting…", id="status")
        yield ProgressBar(id="progress", show_eta=True)
        with Horizontal(id="panes"):
            yield DataTable(id="clusters", cursor_type="row", zebra_stripes=True)
            yield OptionList(id="members")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#clusters", DataTable)
        table.add_columns("id", "size", "name")
        self.open_file()

    @work(thread=True, exclusive=True, group="open")
    def open_file(self) -> None:
        """Load, embed and cluster in a thread; progress is posted back to the UI."""
        worker = get_current_worker()

        def report(p: Progress) -> None:
            if not worker.is_cancelled:
                self.call_from_thread(self._show_progress, p)

        try:
            session = Session.open(self.path, self.options, progress=report, cancel=self._cancel)
            analysis = session.cluster(self.settings, progress=report, cancel=self._cancel)
        except Cancelled:
            self.call_from_thread(self._set_status, "Cancelled.")
            return
        except QtuiError as exc:
            self.call_from_thread(self._set_status, f"Error: {exc}")
            return
        self.call_from_thread(self._show_analysis, session, analysis)

    def _set_status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def _show_progress(self, p: Progress) -> None:
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(p.total, 1), progress=p.done)
        rate = f"  {p.rate:,.0f}/s" if p.rate else ""
        count = f" {p.done:,}/{p.total:,}" if p.total > 1 else ""
        self._set_status(f"{STAGES.get(p.stage, p.stage)}{count}{rate}")

    def _show_analysis(self, session: Session, analysis: Analysis) -> None:
        self.session, self.analysis = session, analysis
        self.query_one("#progress", ProgressBar).display = False
        self._set_status(f"{len(session.corpus):,} texts, {analysis.n_clusters} clusters "
                         f"({analysis.clustering.settings.describe()})")
        table = self.query_one("#clusters", DataTable)
        table.clear()
        for info in analysis.clusters:
            table.add_row(str(info.id) if info.id >= 0 else "–", f"{info.size:,}", safe_text(info.name),
                          key=str(info.id))
        table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.analysis is None or event.row_key.value is None:
            return
        rows = self.analysis.members(int(event.row_key.value))[:500]
        members = self.query_one("#members", OptionList)
        members.clear_options()
        members.add_options([safe_text(self.analysis.corpus.texts[r]) for r in rows])

    def action_cancel(self) -> None:
        self._cancel.cancel()
