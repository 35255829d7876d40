"""Which clusters the selected rows (a filter) fall in more than the other rows: counts, lift and significance per cluster.

    table = compare_clusters(labels, selected=mask)              # the filter against the rest
    table = compare_clusters(labels, selected=one_star, against=five_star)
    for i in range(len(table)): table.ids[i], table.inside[i], table.lift[i], table.p_over[i] ...

Rows are ranked by ``z``, the log odds ratio of the cluster in the selected rows against the other
rows over its standard error (0.5 added to every cell): over-represented clusters first, those
the selection avoids last.  ``p_over`` is the one-sided hypergeometric (Fisher) p-value of at least
``inside`` selected rows in the cluster, ``q_over`` the same after the Benjamini–Hochberg correction
over all clusters compared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import UsageError


@dataclass
class ClusterComparison:
    """Per cluster (``ids``, ranked): rows in the selection (``inside``) and in the other rows (``outside``), their
    shares of each side, ``lift`` = share_inside / share_outside, ``z``, ``p_over``, ``q_over`` (see the module)."""

    ids: np.ndarray
    inside: np.ndarray
    outside: np.ndarray
    share_inside: np.ndarray
    share_outside: np.ndarray
    lift: np.ndarray
    z: np.ndarray
    p_over: np.ndarray
    q_over: np.ndarray
    selected: int  # rows in the selection
    others: int  # rows it is compared with

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self) -> list[dict]:
        """The table as one dict per cluster, ranked (for JSON and simple displays)."""
        return [{"id": int(self.ids[i]), "inside": int(self.inside[i]), "outside": int(self.outside[i]),
                 "share_inside": float(self.share_inside[i]), "share_outside": float(self.share_outside[i]),
                 "lift": float(self.lift[i]), "z": float(self.z[i]), "p_over": float(self.p_over[i]),
                 "q_over": float(self.q_over[i])} for i in range(len(self))]


def compare_clusters(labels: np.ndarray, selected: np.ndarray, against: np.ndarray | None = None) -> ClusterComparison:
    """Compare the clusters of ``selected`` rows with those of ``against`` (default: every other row).

    ``labels`` holds a cluster id per corpus row (negative ids, such as unclustered, count as clusters
    too); ``selected`` and ``against`` are bool masks over the same rows and must not overlap.
    """
    from scipy.stats import false_discovery_control, hypergeom

    labels = np.asarray(labels, dtype=np.int64)
    selected = _mask(selected, len(labels), "selected")
    against = ~selected if against is None else _mask(against, len(labels), "against")
    if (selected & against).any():
        raise UsageError(f"the two sets of rows overlap in {int((selected & against).sum()):,} rows; "
                         f"compare rows that are in one set only")
    n_in, n_out = int(selected.sum()), int(against.sum())
    if n_in == 0 or n_out == 0:
        raise UsageError(f"nothing to compare: {'no row is selected' if n_in == 0 else 'every row is selected'}")
    used = selected | against
    lo = int(labels[used].min())
    inside = np.bincount(labels[selected] - lo, minlength=int(labels[used].max()) - lo + 1)
    outside = np.bincount(labels[against] - lo, minlength=len(inside))
    present = np.flatnonzero(inside + outside)
    ids, inside, outside = present + lo, inside[present], outside[present]
    share_in, share_out = inside / n_in, outside / n_out
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(outside > 0, share_in / share_out, np.inf)
    a, b = inside + 0.5, n_in - inside + 0.5  # Haldane–Anscombe: defined for empty cells
    c, d = outside + 0.5, n_out - outside + 0.5
    z = (np.log(a / b) - np.log(c / d)) / np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    # P(X >= inside), X ~ hypergeometric(population, cluster rows, selected rows)
    p_over = hypergeom.sf(inside - 1, n_in + n_out, inside + outside, n_in)
    p_over = np.clip(np.nan_to_num(p_over, nan=1.0), 0.0, 1.0)
    q_over = false_discovery_control(p_over) if len(p_over) > 1 else p_over.copy()
    order = np.lexsort((ids, p_over, -z))
    return ClusterComparison(ids[order], inside[order], outside[order], share_in[order], share_out[order],
                             lift[order], z[order], p_over[order], q_over[order], n_in, n_out)


def _mask(values: np.ndarray, n: int, name: str) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype != bool:
        raise TypeError(f"{name} must be a bool mask per row, not {values.dtype}")
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} rows; the labels have {n}")
    return values
