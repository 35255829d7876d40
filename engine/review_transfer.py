"""Carry a review over to a changed file: matched rows keep their decisions, new rows join unreviewed."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.analysis import EMPTY
from engine.clustering import NOISE
from engine.review import UNREVIEWED, ReviewState
from engine.review_record import RowMatch


@dataclass
class Transfer:
    """The carried review and what happened to the rows on the way."""

    state: ReviewState
    added: int
    joined: dict[int, int] = field(default_factory=dict)  # reviewed cluster: the new rows placed in it
    removed_reviewed: dict[str, int] = field(default_factory=dict)  # "'name' (status)": its reviewed rows now gone
    gone_clusters: list[str] = field(default_factory=list)  # reviewed clusters none of whose rows remain

    def describe(self) -> list[str]:
        """Lines for the person: new rows, and every reviewed thing that is no longer in the file."""
        lines = []
        if self.added:
            lines.append(f"{self.added:,} new row{'s' * (self.added != 1)} placed in the nearest cluster, "
                         f"unreviewed")
        if self.joined:
            lines.append("reviewed clusters with new rows to look at: "
                         + ", ".join(f"#{c} +{n}" for c, n in sorted(self.joined.items())[:10]))
        if self.removed_reviewed:
            total = sum(self.removed_reviewed.values())
            lines.append(f"{total:,} reviewed row{'s' * (total != 1)} are no longer in the file: "
                         + ", ".join(f"{n} of {what}" for what, n in self.removed_reviewed.items()))
        lines += [f"{what}: none of its rows are in the file now" for what in self.gone_clusters]
        return lines


def transfer(old: ReviewState, match: RowMatch, session) -> Transfer:
    """``old`` (a review of an earlier reading) on the rows of ``session``'s corpus, matched by ``match``."""
    corpus = session.corpus
    n = len(corpus)
    empty = corpus.empty
    labels = np.where(empty, EMPTY, NOISE).astype(np.int64)
    source = np.zeros(n, np.int8)
    confidence = np.zeros(n, np.float32)
    seen = np.zeros(n, bool)
    old_rows = np.flatnonzero(match.old_to_new >= 0)
    new_rows = match.old_to_new[old_rows]
    carry = (old.labels[old_rows] != EMPTY) & ~empty[new_rows]
    old_rows, new_rows = old_rows[carry], new_rows[carry]
    labels[new_rows] = old.labels[old_rows]
    source[new_rows] = old.source[old_rows]
    confidence[new_rows] = old.confidence[old_rows]
    seen[new_rows] = old.seen[old_rows]

    placed = np.ones(n, bool)
    placed[new_rows] = False
    placed &= ~empty
    added = np.flatnonzero(placed)
    if len(added):
        labels[added], confidence[added] = _nearest(session, labels, added)

    present = set(np.unique(labels[labels >= 0]).tolist())
    names = {c: v for c, v in old.names.items() if c in present}
    statuses = {c: v for c, v in old.statuses.items() if c in present}
    state = ReviewState(labels, confidence, names=names, statuses=statuses, next_id=old.next_id,
                        ui=dict(old.ui), base_source=source, base_seen=seen)

    def what(c: int) -> str:
        if c == NOISE:
            return "the unclustered rows"
        name = old.name(c)
        return f"{name!r} ({old.status(c)})" if name else f"cluster {c} ({old.status(c)})"

    lost = old.reviewed_rows().copy()
    lost[old_rows] = False
    removed: dict[str, int] = {}
    for c, k in zip(*np.unique(old.labels[lost], return_counts=True)):
        removed[what(int(c))] = int(k)
    gone = [what(c) for c in old.cluster_ids() if c not in present and
            (old.name(c) or old.status(c) != UNREVIEWED)]
    joined = {}
    for c in statuses:
        k = int(((labels[added] == c)).sum())
        if k:
            joined[c] = k
    return Transfer(state, len(added), joined, removed, gone)


def _nearest(session, labels: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cluster whose centre (over its carried rows) is nearest each of ``rows``, and the cosine."""
    positions = np.array([session.position(r) for r in rows.tolist()], dtype=np.int64)
    known = np.flatnonzero(labels[session.rows] >= 0)
    if len(known) == 0:
        return np.full(len(rows), NOISE, np.int64), np.zeros(len(rows), np.float32)
    import scipy.sparse as sp

    ids, inverse = np.unique(labels[session.rows][known], return_inverse=True)
    member = sp.csr_matrix((np.ones(len(known), np.float32), (inverse.ravel(), known)),
                           shape=(len(ids), len(session.rows)))
    sums = np.asarray(member @ session.vectors, dtype=np.float64)
    centres = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    sims = session.vectors[positions] @ centres.T.astype(np.float32)
    best = np.argmax(sims, axis=1)
    return ids[best].astype(np.int64), sims[np.arange(len(rows)), best].astype(np.float32)
