"""What a saved review holds: its clusterings (epochs) with their decisions, and the identity of its rows.

A review starts on one clustering; a re-clustering the person adopts starts a
new :class:`Epoch` on top, and undoing it goes back to the previous one with
its own undo history intact.  :class:`RowKeys` (a hash of each row's text and,
when the file has an id column, of its id) let a review follow its file when
the file changes: :func:`match_rows` pairs the rows of two readings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from engine.cluster_tree import ClusterTree
from engine.review import ReviewState


@dataclass
class Epoch:
    """One clustering of the review (its settings as a dict) and the decisions made on it."""

    state: ReviewState
    settings: dict
    note: str = ""  # how it began, e.g. "re-clustered with kmeans k=20"
    tree: "ClusterTree | None" = None  # the clustering's merge tree (zoom levels), saved with the epoch


@dataclass
class ReviewRecord:
    """Everything a review file holds: the epochs, which one is in effect, and where the rows came from."""

    epochs: list[Epoch]
    current: int = 0
    row_keys: "RowKeys | None" = None
    origin: dict = field(default_factory=dict)  # e.g. what it was carried over from

    @classmethod
    def single(cls, state: ReviewState, settings: dict, note: str = "") -> "ReviewRecord":
        """A record of one clustering."""
        return cls([Epoch(state, dict(settings), note)])

    @property
    def epoch(self) -> Epoch:
        return self.epochs[self.current]

    @property
    def state(self) -> ReviewState:
        """The review in effect now."""
        return self.epochs[self.current].state

    @property
    def actions(self) -> int:
        """Actions in effect over all epochs up to the current one (for summaries)."""
        return sum(len(e.state.done) for e in self.epochs[: self.current + 1]) + self.current

    def has_decisions(self) -> bool:
        """Whether a person did anything in this review (an action, a name, a decision) that is in effect."""
        return self.current > 0 or any(bool(e.state.done or e.state.names or e.state.statuses or e.state.node_names
                                            or e.state.node_statuses)
                                       for e in self.epochs[: self.current + 1])


@dataclass
class RowKeys:
    """Per row: 8 bytes of the hash of its text and, when the file has ids, of its id."""

    text: np.ndarray  # uint64
    ids: np.ndarray | None = None  # uint64

    def __len__(self) -> int:
        return len(self.text)

    @classmethod
    def of(cls, corpus) -> "RowKeys":
        """The keys of ``corpus``'s rows (ids only when it has an id column: record numbers shift)."""
        if corpus.text_hashes is not None and len(corpus.text_hashes) == len(corpus):
            text = np.ascontiguousarray(np.asarray(corpus.text_hashes, np.uint8)[:, :8]).view("<u8").ravel()
        else:
            text = _hash64(corpus.texts)
        ids = _hash64(corpus.ids) if corpus.id_col is not None else None
        return cls(text.astype(np.uint64), ids)


def _hash64(values) -> np.ndarray:
    blake = hashlib.blake2b
    joined = b"".join(blake(str(v).encode("utf-8", "surrogatepass"), digest_size=8).digest() for v in values)
    return np.frombuffer(joined, dtype="<u8").astype(np.uint64)


@dataclass
class RowMatch:
    """How the rows of an earlier reading map to the rows now: ``old_to_new[i]`` is -1 when row i is gone."""

    old_to_new: np.ndarray
    n_new: int
    by: str  # "id" or "text"
    edited: int = 0  # matched by id with another text

    @property
    def matched(self) -> int:
        return int((self.old_to_new >= 0).sum())

    @property
    def removed(self) -> int:
        return int((self.old_to_new < 0).sum())

    @property
    def added(self) -> int:
        return self.n_new - self.matched

    def new_rows(self) -> np.ndarray:
        """Rows now that no earlier row matches."""
        mask = np.ones(self.n_new, bool)
        mask[self.old_to_new[self.old_to_new >= 0]] = False
        return np.flatnonzero(mask)

    def describe(self) -> str:
        """E.g. '1,998 rows matched by id (3 with edited text), 2 added, 1 removed'."""
        edited = f" ({self.edited:,} with edited text)" if self.edited else ""
        rows = f"{self.matched:,} row{'s' * (self.matched != 1)}"
        return f"{rows} matched by {self.by}{edited}, {self.added:,} added, {self.removed:,} removed"


def match_rows(old: RowKeys, new: RowKeys) -> RowMatch:
    """Pair earlier rows with rows now: by id when both readings have ids, else by exact text.

    A key that occurs several times pairs its k-th occurrence before with its k-th occurrence now.
    """
    by = "id" if old.ids is not None and new.ids is not None else "text"
    a, b = (old.ids, new.ids) if by == "id" else (old.text, new.text)
    ka, kb = _with_occurrence(a), _with_occurrence(b)
    _, ia, ib = np.intersect1d(ka, kb, assume_unique=True, return_indices=True)
    old_to_new = np.full(len(a), -1, dtype=np.int64)
    old_to_new[ia] = ib
    edited = int((old.text[ia] != new.text[ib]).sum()) if by == "id" else 0
    return RowMatch(old_to_new, len(b), by, edited)


def _with_occurrence(keys: np.ndarray) -> np.ndarray:
    """Each key mixed with how many times it occurred before (so repeated texts pair in order)."""
    keys = np.asarray(keys, dtype=np.uint64)
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    run = np.arange(len(keys)) - np.repeat(starts, np.diff(np.r_[starts, len(keys)]))
    occurrence = np.empty(len(keys), np.uint64)
    occurrence[order] = run.astype(np.uint64)
    with np.errstate(over="ignore"):
        return keys ^ (occurrence * np.uint64(0x9E3779B97F4A7C15))
