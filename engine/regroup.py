"""Re-clustering some rows of a review (those a filter selects) into new clusters of their own, as one step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.clustering import ClusterSettings
from engine.review import EMPTY, ReviewError, ReviewState
from engine.split import cluster_parts

#: Fewer rows than this are not re-clustered (no clustering finds groups in a handful of texts).
MIN_ROWS = 4


@dataclass
class Regrouping:
    """New parts for ``rows`` (corpus rows, ascending): ``parts[i]`` of ``rows[i]``, -1 noise; ``confidence`` per row."""

    rows: np.ndarray
    parts: np.ndarray
    confidence: np.ndarray

    @property
    def n_parts(self) -> int:
        return len(np.unique(self.parts[self.parts >= 0]))


def regroup_rows(state: ReviewState, session, rows: np.ndarray, settings: ClusterSettings) -> Regrouping:
    """Cluster only ``rows`` (a bool mask or corpus rows) with ``settings``; empty texts and rows without a
    vector are left where they are.  Refuses a selection too small, or a ``k`` it cannot fill."""
    rows = np.asarray(rows)
    rows = np.flatnonzero(rows) if rows.dtype == bool else np.unique(rows.astype(np.int64))
    rows = rows[state.base_labels[rows] != EMPTY]
    positions = np.array([session.position(r) for r in rows.tolist()], dtype=np.int64)
    rows, positions = rows[positions >= 0], positions[positions >= 0]
    if len(rows) < MIN_ROWS:
        raise ReviewError(f"{len(rows)} text{'s' * (len(rows) != 1)} to re-cluster: too few (at least {MIN_ROWS})")
    if settings.algo == "kmeans" and settings.k is not None and settings.k >= len(rows):
        raise ReviewError(f"{len(rows):,} texts re-cluster into at most {len(rows) - 1:,} clusters, not {settings.k:,}")
    parts, confidence = cluster_parts(session.vectors[positions], settings)
    return Regrouping(rows, parts.astype(np.int64), confidence)
