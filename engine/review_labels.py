"""The review's label steps: the labels list, sending rows to a label, the suspects queue and proposals per label.

:class:`LabelSteps` is mixed into :class:`engine.review_session.ReviewSession`;
every change goes through its ``_act`` (saved at once, undoable)::

    review.labels()                                   # [Label(name, rows, cluster_ids)], most rows first
    queue = review.suspects()                         # SuspectQueue, ranked
    review.keep(queue.rows[:1])                       # it stays: it leaves the queue
    review.send_to_label(queue.rows[1:2], queue.likely_label[1])
    proposals = review.propose()                      # LabelProposals for unnamed clusters and noise
    review.accept_proposals(proposals.of_label("refund"))
    review.reject_proposals(proposals.only(rows))     # kept where they are

A group is a label (clusters named alike, see :mod:`engine.label_names`) or an
unnamed cluster on its own.  Pending suspects and proposals are plain snapshots
held by the caller: they name labels, not cluster ids, so they stay valid
across re-clustering (a label is resolved to its cluster when accepted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.label_names import Label, label_key, labels_in_use
from engine.progress import CancelToken, ProgressCallback
from engine.review import CLASSIFIER, CLUSTER, KEPT, MANUAL, MOVED, ReviewError


@dataclass
class SuspectQueue:
    """Ranked suspects: corpus rows, their cluster now, the likely label (None: an unnamed cluster) and cluster,
    the confidence, and per row up to nine alternatives (label names, or "#id" of unnamed clusters)."""

    rows: np.ndarray
    cluster_ids: np.ndarray
    likely_label: list[str | None]
    likely_cluster: np.ndarray
    confidence: np.ndarray
    alternatives: list[list[str]]
    method: str
    checked: int

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, keep) -> "SuspectQueue":
        """Only the suspects ``keep`` (a bool mask or indices) selects, in their order."""
        idx = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, dtype=np.int64)
        return SuspectQueue(self.rows[idx], self.cluster_ids[idx], [self.likely_label[i] for i in idx.tolist()],
                            self.likely_cluster[idx], self.confidence[idx],
                            [self.alternatives[i] for i in idx.tolist()], self.method, self.checked)

    def still_open(self, state) -> np.ndarray:
        """Which suspects no decision has covered since (bool mask): still in the same cluster, not kept or moved."""
        if not len(self.rows):
            return np.zeros(0, bool)
        return (state.labels[self.rows] == self.cluster_ids) & np.isin(state.source[self.rows], (CLUSTER, CLASSIFIER))

    def of_label(self, name: str) -> np.ndarray:
        """Indices of the suspects whose likely label is ``name``."""
        key = label_key(name)
        return np.array([i for i, lab in enumerate(self.likely_label) if lab is not None and label_key(lab) == key],
                        dtype=np.int64)


@dataclass
class LabelProposals:
    """Classifier proposals by label: corpus rows, the label proposed for each, its probability."""

    rows: np.ndarray
    labels: list[str]
    confidence: np.ndarray
    accuracy: float | None  # held out, on rows of the labels
    describe_line: str = ""

    def __len__(self) -> int:
        return len(self.rows)

    def describe(self) -> str:
        return self.describe_line

    def _take(self, keep) -> "LabelProposals":
        idx = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, dtype=np.int64)
        return LabelProposals(self.rows[idx], [self.labels[i] for i in idx.tolist()], self.confidence[idx],
                              self.accuracy, self.describe_line)

    def ranked(self) -> "LabelProposals":
        """The same proposals, the most confident first."""
        return self._take(np.argsort(-self.confidence, kind="stable"))

    def above(self, min_confidence: float) -> "LabelProposals":
        """Only the proposals with confidence >= ``min_confidence``."""
        return self._take(self.confidence >= min_confidence)

    def of_label(self, name: str) -> "LabelProposals":
        """Only the proposals of label ``name``."""
        key = label_key(name)
        return self._take(np.array([label_key(lab) == key for lab in self.labels], dtype=bool))

    def only(self, rows) -> "LabelProposals":
        """Only the proposals of corpus ``rows``."""
        return self._take(np.isin(self.rows, np.asarray(rows, dtype=np.int64)))

    def counts(self) -> dict[str, int]:
        """Proposals per label, most first."""
        names, counts = np.unique(np.asarray(self.labels, dtype=object).astype(str), return_counts=True)
        return dict(sorted(zip(names.tolist(), counts.tolist()), key=lambda x: (-x[1], x[0])))


class LabelSteps:
    """Label steps of a review session (see the module docstring); needs ``state``, ``session``, ``_act``,
    ``_outcome`` of :class:`~engine.review_session.ReviewSession`."""

    _neighbours: np.ndarray | None = None

    def labels(self) -> list[Label]:
        """The labels in use: name, rows, clusters carrying it (largest first); most rows first."""
        state = self.state
        return labels_in_use(state.names, state.sizes())

    def label(self, name: str) -> Label | None:
        """The label in use that ``name`` is (case and spaces aside), or None."""
        key = label_key(name)
        return next((lab for lab in self.labels() if label_key(lab.name) == key), None)

    def keep(self, rows):
        """Keep rows where they are (source ``kept``): they leave the suspects queue and get no proposals."""
        n = len(rows)
        self._act(lambda s: s.keep(rows))
        return self._outcome(f"Kept {n} text{'s' * (n != 1)} where {'they are' if n != 1 else 'it is'}",
                             recompute=False)

    def send_to_label(self, rows, name: str):
        """Move rows to the label ``name``: its largest cluster, or a new cluster of that name when none has it."""
        label = self.label(name)
        n = len(rows)
        if label is None:
            created = self._act(lambda s: s.new_cluster(rows, name))
            return self._outcome(f"Made cluster #{created} “{name.strip()}” of {n} text{'s' * (n != 1)}",
                                 cluster=created)
        self._act(lambda s: s.move(rows, label.cluster))
        return self._outcome(f"Moved {n} text{'s' * (n != 1)} to “{label.name}” (#{label.cluster})",
                             cluster=label.cluster)

    def _groups(self) -> tuple[np.ndarray, list[str | None], np.ndarray, list[Label]]:
        """Per corpus row a group code (-1: noise or empty), each code's label name (None for an unnamed
        cluster), each code's cluster, and the labels."""
        state = self.state
        labels = self.labels()
        code_of = {label_key(lab.name): i for i, lab in enumerate(labels)}
        names: list[str | None] = [lab.name for lab in labels]
        clusters = [lab.cluster for lab in labels]
        table = np.full(state.next_id + 1, -1, dtype=np.int64)
        for c in state.cluster_ids():
            name = state.name(c)
            if name:
                table[c] = code_of[label_key(name)]
            else:
                table[c] = len(names)
                names.append(None)
                clusters.append(c)
        groups = np.where(state.labels >= 0, table[np.maximum(state.labels, 0)], -1)
        return groups, names, np.asarray(clusters, dtype=np.int64), labels

    def suspects(self, method: str = "both", progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> SuspectQueue:
        """Members whose neighbours or an out-of-fold classifier put them in another label or cluster, ranked;
        rows a person placed or kept are not suspects (see :mod:`engine.suspects`)."""
        from engine.suspects import find_suspects, nearest_neighbours

        session, state = self.session, self.state
        groups, names, clusters, _ = self._groups()
        if method != "classifier" and self._neighbours is None:
            self._neighbours = nearest_neighbours(session.vectors, progress=progress, cancel=cancel)
        candidates = np.isin(state.source, (CLUSTER, CLASSIFIER))[session.rows]
        found = find_suspects(session.vectors, groups[session.rows], candidates, method=method,
                              neighbours=self._neighbours, seed=self.settings.seed, progress=progress, cancel=cancel)
        rows = session.rows[found.positions]

        def shown(code: int) -> str:
            return names[code] if names[code] is not None else f"#{clusters[code]}"

        alternatives = [[shown(c) for c in row if c >= 0] for row in found.alternatives.tolist()]
        return SuspectQueue(rows, state.labels[rows], [names[c] for c in found.likely.tolist()],
                            clusters[found.likely], found.confidence, alternatives, method, found.checked)

    def propose(self, seed: int | None = None, progress: ProgressCallback | None = None,
                cancel: CancelToken | None = None) -> LabelProposals:
        """Classify the rest by label: a classifier learns the labels from their clusters (no accept needed) and
        proposes the likeliest label for every row of an unnamed cluster or noise (rows placed, kept or labeled
        by an earlier proposal excepted), with its probability.  No "none of these" class: it would learn from
        the very rows it judges, and the person picks by label and threshold.  Raises ``NotEnoughLabels`` with
        fewer than two labels."""
        from engine.classify import propose_labels
        from engine.progress import Progress, check

        if progress:
            progress(Progress("classify", 0, 1, message="classify the rest"))
        state, session = self.state, self.session
        groups, names, _, labels = self._groups()
        groups = np.where(state.labels >= 0, groups, state.labels)  # noise and empty keep their codes
        decided = np.isin(state.source, (MOVED, MANUAL, KEPT))
        found = propose_labels(session.vectors, groups, range(len(labels)),
                               self.settings.seed if seed is None else seed, rows=session.rows, skip=decided,
                               ignore=state.source == CLASSIFIER, other=False)
        check(cancel)
        line = found.describe().replace("accepted cluster", "label")
        return LabelProposals(found.rows, [names[c] for c in found.cluster_ids.tolist()], found.confidence,
                              found.accuracy, line)

    def accept_proposals(self, proposals: LabelProposals):
        """Accept ``proposals`` (all of them: pick with ``above``, ``of_label`` or ``only``): each row goes to its
        label's largest cluster (source ``classifier``).  Proposals whose row a person has decided since, or
        whose label is no longer in use, are left out and counted in the message."""
        state = self.state
        by_key = {label_key(lab.name): lab.cluster for lab in self.labels()}
        targets = np.array([by_key.get(label_key(lab), -1) for lab in proposals.labels], dtype=np.int64)
        open_ = np.isin(state.source[proposals.rows], (CLUSTER, CLASSIFIER)) if len(proposals) else np.zeros(0, bool)
        ok = (targets >= 0) & open_
        if not ok.any():
            raise ReviewError("none of these proposals can be accepted now: their rows were decided since, or "
                              "their labels are no longer in use")
        rows, targets, conf = proposals.rows[ok], targets[ok], proposals.confidence[ok]
        self._act(lambda s: s.apply_proposals(rows, targets, conf))
        n, left = int(ok.sum()), int((~ok).sum())
        note = f" ({left} left out: decided since or label gone)" if left else ""
        return self._outcome(f"Accepted {n:,} proposal{'s' * (n != 1)}{note}")

    def reject_proposals(self, proposals: LabelProposals):
        """Reject ``proposals``: their rows are kept where they are (no new proposal for them)."""
        if not len(proposals):
            raise ReviewError("no proposals selected")
        return self.keep(proposals.rows)
