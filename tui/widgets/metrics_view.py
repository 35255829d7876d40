"""The metrics pane: global quality figures and the selected cluster's own."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from tui.formatting import fit, num, share
from tui.widgets.rendered_view import RenderedView


class MetricsView(RenderedView):
    """Global quality figures and the selected cluster's own."""

    def show(self, board, cluster_id: int | None) -> None:
        """Figures of the clustering (``board.analysis``) and of cluster ``cluster_id`` as reviewed now
        (gathered when the pane is drawn: a cluster move with another tab shown costs nothing here)."""
        self.set_builder(lambda: self._parts(board, cluster_id))

    @staticmethod
    def _parts(board, cluster_id: int | None) -> list:
        analysis = board.analysis
        m = analysis.metrics
        g = Table.grid(padding=(0, 2))
        g.add_column(style="dim", no_wrap=True)
        g.add_column(no_wrap=True)
        g.add_row("clusters", num(m.clusters))
        g.add_row("unclustered", share(m.noise_share))
        if m.sizes:
            g.add_row("sizes", f"{m.sizes['min']:,} / {m.sizes['median']:,.0f} / {m.sizes['max']:,} (min/median/max)")
        sample = f" (sample {m.silhouette_sample:,})" if m.silhouette_sample and m.silhouette_sample < m.rows else ""
        g.add_row("silhouette", num(m.silhouette) + sample)
        g.add_row("Calinski–Harabasz", num(m.calinski_harabasz, 1))
        g.add_row("Davies–Bouldin", num(m.davies_bouldin))
        if m.ari is not None:
            g.add_row("ARI vs gold", num(m.ari))
            g.add_row("NMI vs gold", num(m.nmi))
            g.add_row("V-measure", num(m.v_measure))
            g.add_row("purity", num(m.purity))
        settings = analysis.clustering.settings.describe()
        parts = [Text(f"The clustering — {settings}", style="bold"), g, Text("")]
        progress = board.progress()
        n = len(board.state.done)
        parts.append(Text(f"Review: {progress.describe()} reviewed, {n} action{'s' * (n != 1)}", style="bold"))
        if cluster_id is not None and board.exists(cluster_id):
            size = board.size(cluster_id)
            c = Table.grid(padding=(0, 2))
            c.add_column(style="dim", no_wrap=True)
            c.add_column()
            c.add_row("size", f"{size:,} ({size / max(1, len(board.labels)):.1%} of rows)")
            cohesion = board.cohesion(cluster_id)
            if cohesion is not None:
                c.add_row("cohesion", f"{cohesion:.3f} (mean cosine to the centre)")
            if cluster_id >= 0:
                new = board.state.unseen().get(cluster_id, 0)
                status = board.status(cluster_id)
                own = board.state.status(cluster_id) if board.level == 0 else board.nodes[cluster_id].status
                c.add_row("status", status + (" (inherited from a broader group)" if own != status else "")
                          + (f", {new:,} new rows not reviewed" if new and board.level == 0 else ""))
            near = board.nearest(cluster_id)
            if near:
                c.add_row("nearest", "\n".join(f"{board.tag(cid)} {fit(board.name(cid), 28)} ({s:.2f})".strip()
                                                for cid, s in near))
            mix = board.gold_mix(cluster_id)
            if mix:
                c.add_row("gold labels", "\n".join(f"{fit(label, 28)} {p:.0%}" for label, p in mix))
            what = "Cluster" if board.level == 0 else f"Group (level {board.level:+d})"
            parts += [Text(""), Text(f"{what} {board.tag(cluster_id)} {fit(board.name(cluster_id), 40)}"
                                     .replace("  ", " "), style="bold"), c]
        return [(Group(*parts), 0)]
