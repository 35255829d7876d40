"""Labels of a review: the cluster names in use, with their rows and clusters, and a fuzzy pick among them.

A label is a cluster name: clusters named alike are one label (the export's
``cluster_label`` is the name), so naming a cluster with a label in use joins
it.  Names are compared without case and with runs of white space as one, so
"Card  arrival" joins "card arrival" under the spelling already in use.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass
class Label:
    """One name in use: how many rows its clusters hold and which clusters carry it (largest first)."""

    name: str
    rows: int
    cluster_ids: list[int]

    @property
    def cluster(self) -> int:
        """The cluster rows sent to this label go to: the largest that carries it."""
        return self.cluster_ids[0]


def label_key(name: str) -> str:
    """What two names must share to be one label: lower case, white space collapsed."""
    return " ".join(name.split()).casefold()


def labels_in_use(names: dict[int, str], sizes: dict[int, int]) -> list[Label]:
    """The labels of clusters ``names`` (id to name) among the clusters holding rows (``sizes``), most rows
    first; a label's spelling is that of its largest cluster."""
    groups: dict[str, list[int]] = {}
    for c, name in names.items():
        if sizes.get(c) and name:
            groups.setdefault(label_key(name), []).append(c)
    labels = []
    for ids in groups.values():
        ids.sort(key=lambda c: (-sizes[c], c))
        labels.append(Label(names[ids[0]], sum(sizes[c] for c in ids), ids))
    labels.sort(key=lambda lab: (-lab.rows, label_key(lab.name)))
    return labels


def spelling_in_use(name: str, labels: list[Label]) -> str:
    """``name`` as the label in use spells it when one matches it (see :func:`label_key`), else ``name``."""
    key = label_key(name)
    return next((lab.name for lab in labels if label_key(lab.name) == key), name.strip())


def match_labels(query: str, labels: list[Label], limit: int = 9) -> list[Label]:
    """The labels a rename prompt offers for ``query``, best first: the same name, names that start with it,
    names that contain it, then names alike (difflib ratio >= 0.6); all labels (most rows first) for ''."""
    q = label_key(query)
    if not q:
        return labels[:limit]
    scored = []
    for i, lab in enumerate(labels):
        key = label_key(lab.name)
        if key == q:
            score = 0.0
        elif key.startswith(q):
            score = 1.0
        elif q in key:
            score = 2.0 + key.index(q) / 1000
        else:
            ratio = difflib.SequenceMatcher(None, q, key).ratio()
            if ratio < 0.6:
                continue
            score = 4.0 - ratio
        scored.append((score, i))
    scored.sort()
    return [labels[i] for _, i in scored[:limit]]
