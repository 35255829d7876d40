"""Carry a review over to a new clustering of the same rows, and say what could not be carried.

Rule: an old *reviewed* cluster (named, accepted or rejected, or holding rows
the person moved or labeled there)
goes to the new cluster with which its rows have the highest Jaccard overlap
``|old ∩ new| / |old ∪ new|``, when that is above ``min_jaccard`` (0.5 by
default, strictly more: then most of the old cluster is in the new one *and*
most of the new one came from the old, so no two old clusters can claim the
same new one, and a cluster cut in two halves goes to neither).
Its name and status go with it.  Otherwise it is reported with a reason —

- ``split``: two or more new clusters each hold at least a quarter of its rows,
- ``merged``: most of its rows are in one new cluster that is mostly other rows,
- ``noise``: most of its rows are now unclustered,
- ``weak``: no new cluster holds most of it,

— and its best candidates, so the UI can show them and ask.

A review is never invented and never shrinks silently:

- rows a decision covers (seen members of an accepted or rejected cluster,
  rows the person moved, grouped or labeled — classifier proposals included)
  stay with their cluster's carried id, or stay noise, even where the new
  clustering put them elsewhere;
- rows that join a carried reviewed cluster from elsewhere are not seen: the
  cluster reads "accepted, N new rows" until the person decides again;
- a reviewed cluster that cannot be carried is, with ``pin`` (the default),
  kept as it was under a new id with its name and status; without it, its
  rows follow the new clustering and it is listed with where they went.

All of it forms the base of the new review; undoing the re-clustering as a
whole is :class:`engine.review_session.ReviewSession`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.analysis import EMPTY
from engine.clustering import NOISE
from engine.review import CLUSTER, UNREVIEWED, ReviewState

MIN_JACCARD = 0.5
SPLIT_SHARE = 0.25


@dataclass
class Candidate:
    """A new cluster holding some of an old cluster's rows."""

    new_id: int
    rows: int  # rows in common
    share_of_old: float
    share_of_new: float


@dataclass
class Carried:
    """An old reviewed cluster and the new cluster its name and status went to."""

    old_id: int
    new_id: int
    name: str | None
    status: str
    jaccard: float


@dataclass
class Uncarried:
    """An old reviewed cluster whose name and status could not be carried, with why and where its rows went."""

    old_id: int
    name: str | None
    status: str
    size: int
    reason: str  # split, merged, noise, weak
    candidates: list[Candidate] = field(default_factory=list)
    noise_share: float = 0.0
    pinned_id: int | None = None  # the id it was kept under, as it was, when pinned

    def describe(self) -> str:
        """One line, e.g. "'refunds' (accepted, 120 rows) split: 55% in 3, 40% in 17"."""
        what = f"{self.name!r}" if self.name else f"cluster {self.old_id}"
        where = ", ".join(f"{c.share_of_old:.0%} in {c.new_id}" for c in self.candidates)
        if self.noise_share >= 0.05:
            where = ", ".join(x for x in (where, f"{self.noise_share:.0%} unclustered") if x)
        line = f"{what} ({self.status}, {self.size} row{'s' * (self.size != 1)}) {self.reason}: {where or 'no rows left'}"
        return line + (f"; kept as it was as #{self.pinned_id}" if self.pinned_id is not None else "")


@dataclass
class CarryOver:
    """The new review and a report of what was carried and what was not."""

    state: ReviewState
    carried: list[Carried]
    uncarried: list[Uncarried]
    mapping: dict[int, int]  # old cluster id to new cluster id, for every carried or pinned cluster
    kept_rows: np.ndarray  # reviewed rows kept in their cluster where the new clustering put them elsewhere
    kept_agreeing: int  # reviewed rows the new clustering agrees with
    dropped_rows: np.ndarray  # decided rows that follow the new clustering (their cluster was not kept)
    joined: dict[int, int] = field(default_factory=dict)  # new reviewed cluster: rows that joined it unreviewed
    pinned: bool = True

    def describe(self) -> list[str]:
        """Lines for the UI: a summary, then one per cluster that could not be carried."""
        total = len(self.carried) + len(self.uncarried)
        lines = [f"carried {len(self.carried)} of {total} reviewed clusters to the new clustering"]
        if self.uncarried:
            n = len(self.uncarried)
            clusters = f"{n} reviewed cluster{'s' * (n != 1)}"
            lines.append(f"{clusters} could not be carried; kept as {'they were' if n != 1 else 'it was'} (pinned):"
                         if self.pinned else f"{clusters} could not be carried; their rows follow the new clustering:")
            lines += [f"  {u.describe()}" for u in self.uncarried]
        if len(self.kept_rows):
            n = len(self.kept_rows)
            lines.append(f"kept {n:,} row{'s' * (n != 1)} with {'their' if n != 1 else 'its'} reviewed cluster where "
                         f"the new clustering put {'them' if n != 1 else 'it'} elsewhere")
        if self.joined:
            total_joined = sum(self.joined.values())
            lines.append(f"{total_joined:,} row{'s' * (total_joined != 1)} joined {len(self.joined)} reviewed cluster"
                         f"{'s' * (len(self.joined) != 1)} from elsewhere and stay unreviewed until you decide "
                         f"again: " + ", ".join(f"#{c} +{n}" for c, n in sorted(self.joined.items())[:8])
                         + (" …" if len(self.joined) > 8 else ""))
        if len(self.dropped_rows):
            lines.append(f"{len(self.dropped_rows):,} reviewed rows follow the new clustering: their cluster was "
                         f"not kept")
        return lines


def carry_over(old: ReviewState, new_labels: np.ndarray, new_confidence: np.ndarray | None = None,
               min_jaccard: float = MIN_JACCARD, pin: bool = True) -> CarryOver:
    """A new :class:`ReviewState` on ``new_labels`` (same rows as ``old``) carrying ``old``'s work over."""
    new_labels = np.asarray(new_labels, dtype=np.int64)
    if len(new_labels) != len(old):
        raise ValueError("the new clustering must cover the same rows as the review")
    n = len(new_labels)
    conf_new = np.zeros(n, np.float32) if new_confidence is None else np.asarray(new_confidence, np.float32)
    old_labels = old.labels
    sizes_old = old.sizes()
    # clusters holding a person's work: named, decided, or holding rows the person moved or labeled there
    touched = set(np.unique(old_labels[(old.source != CLUSTER) & (old_labels >= 0)]).tolist())
    reviewed = [c for c in old.cluster_ids() if old.name(c) or old.status(c) != UNREVIEWED or c in touched]
    new_ids, new_counts = np.unique(new_labels[new_labels >= 0], return_counts=True)
    new_size = dict(zip(new_ids.tolist(), new_counts.tolist()))

    # contingency of reviewed old clusters against new labels (noise included)
    mask = np.isin(old_labels, reviewed)
    pairs, counts = np.unique(np.stack([old_labels[mask], new_labels[mask]]), axis=1, return_counts=True)
    overlap: dict[int, list[tuple[int, int]]] = {c: [] for c in reviewed}
    for (o, n_id), k in zip(pairs.T.tolist(), counts.tolist()):
        overlap[o].append((n_id, k))

    best: dict[int, tuple[int, float]] = {}
    uncarried: list[Uncarried] = []
    for o in reviewed:
        size = sizes_old[o]
        cands = _candidates(overlap[o], size, new_size)
        noise = sum(k for n_id, k in overlap[o] if n_id == NOISE) / size
        jac = [(c.rows / (size + new_size[c.new_id] - c.rows), c.new_id) for c in cands]
        top = max(jac, key=lambda x: (x[0], -x[1]), default=(0.0, -1))
        if top[0] > min_jaccard:
            best[o] = (top[1], top[0])
            continue
        uncarried.append(Uncarried(o, old.name(o), old.status(o), size, _reason(cands, noise, min_jaccard),
                                   cands[:3], noise))

    # a new cluster claimed twice (possible only with min_jaccard < 0.5): the higher overlap wins
    mapping: dict[int, int] = {}
    carried: list[Carried] = []
    for o, (n_id, j) in sorted(best.items(), key=lambda x: (-x[1][1], x[0])):
        if n_id in mapping.values():
            uncarried.append(Uncarried(o, old.name(o), old.status(o), sizes_old[o], "merged",
                                       _candidates(overlap[o], sizes_old[o], new_size)[:3]))
            continue
        mapping[o] = n_id
        carried.append(Carried(o, n_id, old.name(o), old.status(o), j))
    carried.sort(key=lambda c: c.old_id)
    uncarried.sort(key=lambda u: u.old_id)
    next_id = int(new_ids.max()) + 1 if len(new_ids) else 0
    if pin:
        for u in uncarried:
            u.pinned_id = mapping[u.old_id] = next_id
            next_id += 1
    pinned = {u.old_id for u in uncarried} if pin else set()

    names = {mapping[o]: old.name(o) for o in mapping if old.name(o)}
    statuses = {mapping[o]: old.status(o) for o in mapping if old.status(o) != UNREVIEWED}
    labels, source, confidence = new_labels.copy(), np.zeros(n, np.int8), conf_new.copy()
    seen = np.zeros(n, bool)
    live = old.base_labels != EMPTY
    # rows that stay where the review had them: decided rows, seen members of decided clusters, pinned clusters
    decided_rows = live & (old.source != CLUSTER)
    in_decided = np.isin(old_labels, [o for o in mapping if old.status(o) != UNREVIEWED]) & old.seen
    in_pinned = np.isin(old_labels, list(pinned))
    stay = (decided_rows | in_decided | in_pinned) & (np.isin(old_labels, list(mapping)) | (old_labels == NOISE))
    stay &= live
    rows = np.flatnonzero(stay)
    target = np.array([NOISE if t == NOISE else mapping[t] for t in old_labels[rows].tolist()], dtype=np.int64)
    against = rows[new_labels[rows] != target]
    labels[rows], source[rows], seen[rows] = target, old.source[rows], old.seen[rows]
    confidence[rows] = np.where(target >= 0, old.confidence[rows], 0.0)
    dropped = np.flatnonzero(old.reviewed_rows() & ~stay)
    joined: dict[int, int] = {}
    for c in statuses:
        k = int(((labels == c) & ~seen & (source == CLUSTER)).sum())
        if k:
            joined[c] = k
    state = ReviewState(labels, confidence, names=names, statuses=statuses, next_id=next_id, ui=dict(old.ui),
                        base_source=source, base_seen=seen)
    return CarryOver(state, carried, uncarried, mapping, against, int(len(rows) - len(against)), dropped,
                     joined, pin)


def _candidates(pairs: list[tuple[int, int]], size: int, new_size: dict[int, int]) -> list[Candidate]:
    cands = [Candidate(n, k, k / size, k / new_size[n]) for n, k in pairs if n >= 0]
    return sorted(cands, key=lambda c: (-c.rows, c.new_id))


def _reason(cands: list[Candidate], noise: float, min_share: float) -> str:
    if sum(1 for c in cands if c.share_of_old >= SPLIT_SHARE) >= 2:
        return "split"
    if cands and cands[0].share_of_old >= min_share:
        return "merged"
    if noise >= 0.5:
        return "noise"
    return "weak"
