"""What ``qtui cluster`` prints: live progress on stderr, then a summary (rich tables) or JSON."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from engine.analysis import EMPTY, Analysis, clusters_within
from engine.clustering import NOISE
from engine.display_text import safe_text
from engine.errors import show_path
from engine.progress import Progress
from engine.session import Session

STAGE_NAMES = {"load": "Loading", "model": "Loading model", "distill": "Distilling", "embed": "Embedding",
               "cluster": "Clustering", "keywords": "Keywords", "metrics": "Metrics"}
SKIPPED_SHOWN = 5


class ProgressPrinter:
    """Shows engine progress as a rich progress bar on stderr.

    When stderr is not a terminal (a log, a pipe) it writes one line per finished
    counted stage (e.g. embedding) and nothing else, so an error stays one line.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.console = Console(stderr=True)
        self._bar: RichProgress | None = None
        self._tasks: dict[str, int] = {}
        self._finished: set[tuple[str, int]] = set()  # (stage, total) already written as a line

    def __enter__(self) -> "ProgressPrinter":
        if self.enabled and self.console.is_terminal:
            self._bar = RichProgress(
                TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=self.console, transient=True)
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, p: Progress) -> None:
        """Progress callback for the engine."""
        if not self.enabled:
            return
        name = STAGE_NAMES.get(p.stage, p.stage)
        rate = f"{p.rate:,.0f}/s" if p.rate else ""
        if self._bar is None:
            if p.total > 1 and p.done >= p.total and (p.stage, p.total) not in self._finished:
                self._finished.add((p.stage, p.total))  # a stage may report its last step twice
                self.console.print(f"{name} {p.done:,}/{p.total:,} {rate}".rstrip(), highlight=False)
            return
        if p.stage not in self._tasks:
            self._tasks[p.stage] = self._bar.add_task(name, total=max(p.total, 1), rate=rate)
        self._bar.update(self._tasks[p.stage], completed=p.done, total=max(p.total, 1), rate=rate)


def _count(n: int, noun: str) -> str:
    """'1 row', '2 rows', '1,000 rows'."""
    return f"{n:,} {noun}{'s' * (n != 1)}"


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def skipped_lines(session: Session) -> list[str]:
    """One line per skipped record (the first few), plus a count of the rest."""
    corpus = session.corpus
    name = show_path(corpus.path)
    lines = [f"{name}:{s.line}: {s.reason}" for s in corpus.skipped[:SKIPPED_SHOWN]]
    rest = len(corpus.skipped) - SKIPPED_SHOWN
    if rest > 0:
        lines.append(f"… and {rest:,} more skipped record{'s' * (rest != 1)}")
    return lines


def print_summary(session: Session, analysis: Analysis, exported: Path | None, top: int = 30,
                  console: Console | None = None, where: tuple[str, np.ndarray] | None = None,
                  proposed: dict | None = None) -> None:
    """Readable summary: input, embedding, clusters by size with keywords and examples, metrics.

    ``where``: (expression, bool mask per row): the clusters count and show only the matching rows.
    ``proposed``: cluster id to :class:`engine.label_seeds.ClusterLabel` (``--labels``/``--labels-from``).
    """
    console = console or Console()
    corpus, stats, m = session.corpus, session.embed_stats, analysis.metrics
    clusters = clusters_within(analysis, where[1]) if where else analysis.clusters
    shown_rows = int(where[1].sum()) if where else len(corpus)
    head = Text()
    head.append(f"{show_path(corpus.path)}", style="bold")
    head.append(f"  {_count(len(corpus), 'row')}  text column {corpus.text_col!r}")
    if where:
        head.append(f"\n--where {safe_text(where[0])}: {_count(shown_rows, 'matching row')}", style="bold cyan")
    empty = int(corpus.empty.sum())
    if empty:
        head.append(f"  {empty:,} empty (kept, not embedded)", style="yellow")
    if corpus.skipped:
        head.append(f"  {len(corpus.skipped):,} skipped", style="red")
    model = Text(f"model {session.embedder.name} ({session.embedder.dim}-d) on {session.embedder.device}"
                 f"  cache: {stats.cached:,} hit, {stats.embedded:,} embedded"
                 + (f" at {stats.rate:,.0f}/s" if stats.embedded else ""), style="dim")
    lines: list = [head, model]
    if session.model_choice:
        lines.append(Text(session.model_choice.line, style="dim"))
    if session.first_view is not None:
        lines.append(Text(f"vectors: {session.first_view.reason}", style="dim"))
    if session.static:
        sampled = (f"; keywords from {analysis.keyword_rows:,} sampled rows" if analysis.keyword_rows else "")
        lines.append(Text(f"note: static vectors, a quick look ({analysis.clustering.settings.describe()}{sampled}): "
                          f"the clusters of {session.embedder.source_name} itself are finer (run without "
                          "--first-view static)", style="yellow"))
    truncated = len(session.truncated_rows)
    if truncated:
        limit = session.embedder.max_seq_length
        lines.append(Text(f"note: {truncated:,} row{'s' * (truncated != 1)} longer than the model's "
                          f"{f'{limit}-token ' if limit else ''}limit; embedded from the beginning only (truncated)",
                          style="yellow"))
    if session.language_warning:
        lines.append(Text(f"note: {session.language_warning}", style="yellow"))
    for note in corpus.notices:
        lines.append(Text(f"note: {note}", style="yellow"))
    for line in skipped_lines(session):
        lines.append(Text(f"skipped: {line}", style="red"))
    for name in stats.corrupt_shards[:3]:
        lines.append(Text(f"cache: damaged entry {name} set aside and recomputed", style="yellow"))
    console.print(Group(*lines))

    n_clusters = sum(1 for c in clusters if c.id >= 0)
    unclustered = sum(c.size for c in clusters if c.id == NOISE) / max(1, sum(c.size for c in clusters if c.id != EMPTY))
    title = (f"{_count(n_clusters, 'cluster')} with matching rows (of {analysis.n_clusters}; "
             f"{analysis.clustering.settings.describe()}), {unclustered:.1%} of them unclustered" if where else
             f"{_count(analysis.n_clusters, 'cluster')} ({analysis.clustering.settings.describe()}), "
             f"{m.noise_share:.1%} unclustered{tree_text(analysis)}")
    table = Table(title=title, title_justify="left", expand=True,
                  box=box.SIMPLE_HEAD, padding=(0, 1))
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("coh.", justify="right", no_wrap=True)
    if proposed is not None:
        table.add_column("proposed label", no_wrap=True, overflow="ellipsis", max_width=32)
    table.add_column("keywords, then the two texts closest to the centre", no_wrap=True, overflow="ellipsis",
                     ratio=1)
    shown = [c for c in clusters if c.id >= 0][:top] + [c for c in clusters if c.id < 0]
    for info in shown:
        cell = Text(safe_text(", ".join(t for t, _ in info.keywords[:10]) or info.name), style="bold")
        for row in info.examples[:2]:
            cell.append("\n  " + safe_text(corpus.texts[row]), style="default")
        ident = str(info.id) if info.id >= 0 else info.name
        cells = [ident, f"{info.size:,}", _fmt(info.cohesion, 2)]
        if proposed is not None:
            seed = proposed.get(info.id)
            cells.append(Text(f"{safe_text(seed.label)} {seed.confidence:.0%}") if seed else Text(""))
        table.add_row(*cells, cell)
    console.print(table)
    hidden = n_clusters - min(top, n_clusters)
    if hidden > 0:
        console.print(f"… {_count(hidden, 'smaller cluster')} not listed (--top N to see more)", style="dim")
    console.print(Panel(_metrics_text(analysis), title="metrics of the whole clustering" if where else "metrics",
                        title_align="left", expand=False))
    if exported:
        console.print(f"exported {_count(shown_rows, 'row')} to {show_path(exported)}", style="green")


def tree_text(analysis: Analysis) -> str:
    """Where the clusters sit in the clustering's tree, e.g. ', tree level +1 (-1 finest … +6 coarsest; own 77)'."""
    tree = analysis.clustering.info.get("tree")
    if not tree or not tree.get("levels"):
        return ""
    ladder, k = tree["levels"], tree["clusters"]
    at = [lv for lv, count in ladder if count == k]
    if at:
        where = f"tree level {at[0]:+d}"
    else:  # a cut between two zoom levels (--clusters N)
        finer = max(lv for lv, count in ladder if count > k)
        where = f"tree between levels {finer:+d} and {finer + 1:+d}"
    return f", {where} ({ladder[0][0]:+d} finest … {ladder[-1][0]:+d} coarsest; own {tree['base_clusters']})"


def _metrics_text(analysis: Analysis) -> Text:
    m = analysis.metrics
    t = Text()
    t.append(f"clusters {m.clusters}   unclustered {m.noise_share:.1%}   ")
    if m.sizes:
        t.append(f"sizes min {m.sizes['min']} / median {m.sizes['median']:.0f} / max {m.sizes['max']}\n")
    sample = f" (sample {m.silhouette_sample:,})" if m.silhouette_sample and m.silhouette_sample < m.rows else ""
    t.append(f"silhouette {_fmt(m.silhouette)}{sample}   Calinski-Harabasz {_fmt(m.calinski_harabasz, 1)}   "
             f"Davies-Bouldin {_fmt(m.davies_bouldin)}")
    if m.ari is not None:
        t.append(f"\nvs gold labels: ARI {_fmt(m.ari)}   NMI {_fmt(m.nmi)}   V-measure {_fmt(m.v_measure)}   "
                 f"purity {_fmt(m.purity)}", style="bold")
    timings = analysis.timings
    parts = [f"{k} {v:.1f}s" for k, v in timings.items()]
    if parts:
        t.append("\ntime: " + ", ".join(parts), style="dim")
    return t


def summary_dict(session: Session, analysis: Analysis, exported: Path | None,
                 where: tuple[str, np.ndarray] | None = None, proposed: dict | None = None) -> dict:
    """The summary as plain JSON-serialisable data (``where``, ``proposed``: as in :func:`print_summary`; each
    cluster gets ``proposed_label`` and ``proposed_confidence`` with ``proposed``)."""
    corpus, stats = session.corpus, session.embed_stats
    clusters = clusters_within(analysis, where[1]) if where else analysis.clusters
    return {
        "file": str(corpus.path),
        "rows": len(corpus),
        "text_column": corpus.text_col,
        "empty_rows": int(corpus.empty.sum()),
        "skipped": [{"line": s.line, "reason": s.reason} for s in corpus.skipped],
        "notices": corpus.notices,
        "model": {"name": session.embedder.name, "dim": session.embedder.dim,
                  "device": session.embedder.device,
                  "chosen": session.model_choice.line if session.model_choice else None,
                  "static": session.static,
                  "vectors": session.vectors_label.split()[0],
                  "first_view": session.first_view.reason if session.first_view is not None else None},
        "embedding": {"cached": stats.cached, "embedded": stats.embedded, "duplicates": stats.duplicates,
                      "seconds": round(stats.seconds, 3), "rate": round(stats.rate, 1),
                      "truncated_rows": len(session.truncated_rows)},
        "language_warning": session.language_warning,
        "clustering": {**analysis.clustering.settings.to_dict(), "keyword_rows": analysis.keyword_rows,
                       "tree": analysis.clustering.info.get("tree"),
                       "info": analysis.clustering.info},
        "clusters": [{"id": c.id, "size": c.size, "name": c.name, "cohesion": c.cohesion,
                      "keywords": [[t, round(w, 5)] for t, w in c.keywords],
                      "examples": [corpus.texts[r] for r in c.examples[:2]],
                      **(_proposed_fields(proposed, c.id) if proposed is not None else {})} for c in clusters],
        "where": {"expression": where[0], "rows": int(where[1].sum())} if where else None,
        "metrics": analysis.metrics.to_dict(),
        "timings": {k: round(v, 3) for k, v in analysis.timings.items()},
        "export": str(exported) if exported else None,
    }


def _proposed_fields(proposed: dict, cluster_id: int) -> dict:
    seed = proposed.get(cluster_id)
    return {"proposed_label": seed.label if seed else None,
            "proposed_confidence": round(seed.confidence, 4) if seed else None}


def print_json(session: Session, analysis: Analysis, exported: Path | None,
               where: tuple[str, np.ndarray] | None = None, proposed: dict | None = None) -> None:
    """Print :func:`summary_dict` as JSON on stdout."""
    json.dump(summary_dict(session, analysis, exported, where, proposed), sys.stdout, ensure_ascii=False, indent=1,
              default=float)
    sys.stdout.write("\n")
