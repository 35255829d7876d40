"""The person's review of one clustering: names, decisions and row moves, with exact undo and redo.

A :class:`ReviewState` sits on top of one *base* clustering (per corpus row: a
cluster id, ``NOISE`` or ``EMPTY``, and the clustering's confidence).  It keeps
the current per-row ``labels``, ``source`` and ``confidence`` and per-cluster
``names`` and ``statuses``; every change goes through an :class:`Action` that
records only what it changed (rows with their old and new values, names and
statuses with old and new), so undo and redo are exact, many steps deep and
cheap at 100k rows.

Rules:

- A cluster exists while it holds rows; ids created by merge/split/new cluster
  are never reused (``next_id`` only grows, even across undo).
- ``label_source`` of a row: ``cluster`` (where the clustering or a split put
  it), ``moved`` (the person moved it to another cluster or to noise),
  ``manual`` (the person made a new cluster of selected rows), ``classifier``
  (an accepted classifier proposal), ``kept`` (the person kept it where it is,
  e.g. a suspect it read).  Person decisions get confidence 1.
- Rows with empty text (``EMPTY``) are never moved; they stay in their group.
- ``seen`` of a row: a person's decision covers it (it was a member when its
  cluster was accepted or rejected, or the person moved, labeled or kept it).
  Rows that join a reviewed cluster any other way (carry-over, new rows of a
  grown file) are not seen: the cluster reads "accepted, N new rows".
- Names and decisions can also be given to nodes of the clustering's tree
  (``node_names``, ``node_statuses``, keyed by tree node id; what a node covers
  is :mod:`engine.review_levels`'s): ``rename_node`` and ``set_node_status``
  are actions like the others, so undo, redo and saving treat them alike.
- Actions store their *intent* (``Action.args``: cluster ids, rows, values,
  ids they created), which is what :mod:`engine.review_store` saves; replaying
  the intents on the base gives the same state bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from engine.analysis import EMPTY
from engine.clustering import NOISE
from engine.errors import QtuiError
from engine.fuzzy import fuzzy_find

UNREVIEWED, ACCEPTED, REJECTED = "unreviewed", "accepted", "rejected"
STATUSES = (UNREVIEWED, ACCEPTED, REJECTED)
SOURCES = ("cluster", "moved", "classifier", "manual", "kept")
CLUSTER, MOVED, CLASSIFIER, MANUAL, KEPT = range(5)
OPS = ("rename", "set_status", "merge", "split", "move", "to_noise", "new_cluster", "apply_proposals", "assign",
       "rename_node", "set_node_status", "keep", "regroup")


class ReviewError(QtuiError):
    """An action that cannot be done as asked (unknown cluster, empty selection, read-only review…)."""

    exit_code = 2


@dataclass
class ReviewProgress:
    """How far the review is: clusters with a decision and the share of rows they hold."""

    reviewed: int
    clusters: int
    reviewed_rows: int
    rows: int  # non-empty rows (noise included)

    @property
    def row_share(self) -> float:
        return self.reviewed_rows / self.rows if self.rows else 0.0

    def describe(self) -> str:
        """E.g. '23/61 clusters, 78% of rows'."""
        return f"{self.reviewed}/{self.clusters} clusters, {self.row_share:.0%} of rows"


@dataclass(eq=False)
class Action:
    """One undoable step: its intent (``op``, ``args``) and, once applied, exactly what it changed."""

    op: str
    args: dict
    rows: np.ndarray | None = None  # corpus rows whose label/source/confidence changed
    old: tuple | None = None  # (labels, source, confidence) of ``rows`` before
    new: tuple | None = None  # … and after
    meta: list = field(default_factory=list)  # (cluster id or ("node", id), old name, new name, old/new status)

    def describe(self) -> str:
        """A short line for an undo/redo menu, e.g. 'merge 3 clusters into 12'."""
        a = self.args
        n_rows = len(a["rows"]) if "rows" in a else 0
        if self.op == "rename":
            return f"rename cluster {a['cluster']} to {a['name']!r}" if a["name"] else f"clear the name of cluster {a['cluster']}"
        if self.op == "set_status":
            ids = a["clusters"]
            return f"mark {len(ids)} clusters {a['status']}" if len(ids) != 1 else f"mark cluster {ids[0]} {a['status']}"
        if self.op == "merge":
            return f"merge {len(a['clusters'])} clusters into {a['into']}"
        if self.op == "split":
            return f"split cluster {a['cluster']} into {len(a['created'])}"
        if self.op == "regroup":
            return a.get("note") or f"re-cluster {n_rows} rows into {len(a['created'])}"
        if self.op == "move":
            return f"move {n_rows} row{'s' * (n_rows != 1)} to cluster {a['target']}"
        if self.op == "to_noise":
            return f"send {n_rows} row{'s' * (n_rows != 1)} to noise"
        if self.op == "new_cluster":
            return f"make cluster {a['created'][0]} of {n_rows} row{'s' * (n_rows != 1)}"
        if self.op == "apply_proposals":
            return f"accept {n_rows} classifier proposal{'s' * (n_rows != 1)}"
        if self.op == "assign":
            return a.get("note") or f"restore {n_rows} earlier decisions"
        if self.op == "rename_node":
            what = a.get("label") or f"tree node {a['node']}"
            return f"rename {what} to {a['name']!r}" if a["name"] else f"clear the name of {what}"
        if self.op == "set_node_status":
            count = len(a["nodes"]) + len(a.get("clusters", []))
            what = a.get("label") or f"{count} group{'s' * (count != 1)}"
            return f"mark {what} {a['status']}"
        if self.op == "keep":
            return f"keep {n_rows} row{'s' * (n_rows != 1)} where {'they are' if n_rows != 1 else 'it is'}"
        return self.op


class ReviewState:
    """Decisions on top of one base clustering; see the module docstring.

    ``version`` grows with every change of labels, names or statuses (not of
    ``ui``), so a UI knows when to refresh.  Saving is the caller's
    (:class:`engine.review_session.ReviewSession` saves after every change).
    """

    def __init__(self, base_labels: np.ndarray, base_confidence: np.ndarray | None = None, *,
                 names: dict[int, str] | None = None, statuses: dict[int, str] | None = None,
                 next_id: int | None = None, ui: dict | None = None, base_source: np.ndarray | None = None,
                 base_seen: np.ndarray | None = None, node_names: dict[int, str] | None = None,
                 node_statuses: dict[int, str] | None = None) -> None:
        self.base_labels = np.array(base_labels, dtype=np.int64)
        self.base_labels.setflags(write=False)
        n = len(self.base_labels)
        conf = np.zeros(n, np.float32) if base_confidence is None else np.array(base_confidence, dtype=np.float32)
        if len(conf) != n:
            raise ValueError("base_confidence must have one value per row")
        # kept at float16 precision, as it is saved, so a reloaded review is identical
        conf = np.where(self.base_labels >= 0, conf, 0.0).astype(np.float16).astype(np.float32)
        conf.setflags(write=False)
        self.base_confidence = conf
        # names/statuses the base starts with (e.g. carried over from an earlier clustering)
        self.base_names = {int(k): str(v) for k, v in (names or {}).items() if v}
        self.base_statuses = {int(k): v for k, v in (statuses or {}).items() if v != UNREVIEWED}
        self.base_node_names = {int(k): str(v) for k, v in (node_names or {}).items() if v}
        self.base_node_statuses = {int(k): v for k, v in (node_statuses or {}).items() if v != UNREVIEWED}
        for s in (*self.base_statuses.values(), *self.base_node_statuses.values()):
            _check_status(s)
        source = np.zeros(n, np.int8) if base_source is None else np.array(base_source, dtype=np.int8)
        if base_seen is None:  # reviews saved before rows were tracked: a reviewed cluster covers its rows
            base_seen = np.isin(self.base_labels, list(self.base_statuses)) | (source != CLUSTER)
        seen = np.array(base_seen, dtype=bool)
        if len(source) != n or len(seen) != n:
            raise ValueError("base_source and base_seen must have one value per row")
        source.setflags(write=False)
        seen.setflags(write=False)
        self.base_source, self.base_seen = source, seen
        self.labels = self.base_labels.copy()
        self.source = source.copy()
        self.confidence = conf.copy()
        self.seen = seen.copy()
        self.names: dict[int, str] = dict(self.base_names)
        self.statuses: dict[int, str] = dict(self.base_statuses)
        self.node_names: dict[int, str] = dict(self.base_node_names)  # names given to tree nodes
        self.node_statuses: dict[int, str] = dict(self.base_node_statuses)
        top = int(self.base_labels.max()) + 1 if n else 0
        self.next_id = max(top, 0, next_id or 0, *(k + 1 for k in self.base_names), *(k + 1 for k in self.base_statuses))
        self.ui: dict = dict(ui or {})
        self.done: list[Action] = []
        self.undone: list[Action] = []  # redo stack, most recently undone last
        self.version = 0
        self.read_only = False
        self._sizes_at = -1
        self._ids = np.empty(0, np.int64)
        self._counts = np.empty(0, np.int64)

    @classmethod
    def from_analysis(cls, analysis, **kwargs) -> "ReviewState":
        """A fresh review of ``analysis`` (an :class:`engine.analysis.Analysis`)."""
        return cls(analysis.labels, analysis.confidence, **kwargs)

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self.labels)

    def _refresh_sizes(self) -> None:
        if self._sizes_at != self.version:
            ids, counts = np.unique(self.labels[self.labels >= 0], return_counts=True)
            self._ids, self._counts, self._sizes_at = ids, counts, self.version

    def cluster_ids(self) -> list[int]:
        """Ids of the clusters that hold rows now, ascending (noise and empty not included)."""
        self._refresh_sizes()
        return self._ids.tolist()

    def sizes(self) -> dict[int, int]:
        """Rows per current cluster id (noise and empty not included)."""
        self._refresh_sizes()
        return dict(zip(self._ids.tolist(), self._counts.tolist()))

    def size(self, cluster_id: int) -> int:
        """Rows in ``cluster_id`` now (NOISE and EMPTY work too)."""
        if cluster_id < 0:
            return int((self.labels == cluster_id).sum())
        self._refresh_sizes()
        i = np.searchsorted(self._ids, cluster_id)
        return int(self._counts[i]) if i < len(self._ids) and self._ids[i] == cluster_id else 0

    def exists(self, cluster_id: int) -> bool:
        """Whether ``cluster_id`` (>= 0) holds rows now."""
        return cluster_id >= 0 and self.size(cluster_id) > 0

    def members(self, cluster_id: int) -> np.ndarray:
        """Corpus rows in ``cluster_id`` now, in file order."""
        return np.flatnonzero(self.labels == cluster_id)

    def name(self, cluster_id: int) -> str | None:
        """The person's name for ``cluster_id``, or None (the UI then shows the keyword suggestion)."""
        return self.names.get(cluster_id)

    def status(self, cluster_id: int) -> str:
        """``unreviewed``, ``accepted`` or ``rejected``."""
        return self.statuses.get(cluster_id, UNREVIEWED)

    def node_name(self, node: int) -> str | None:
        """The person's name for tree node ``node`` (given at a zoom level), or None."""
        return self.node_names.get(node)

    def node_status(self, node: int) -> str:
        """The decision given to tree node ``node`` at a zoom level (``unreviewed`` when none)."""
        return self.node_statuses.get(node, UNREVIEWED)

    def accepted_ids(self) -> list[int]:
        """Current clusters marked accepted."""
        return [c for c in self.cluster_ids() if self.status(c) == ACCEPTED]

    def source_names(self, rows: np.ndarray | None = None) -> list[str]:
        """``label_source`` as strings for ``rows`` (all rows by default)."""
        codes = self.source if rows is None else self.source[rows]
        return [SOURCES[c] for c in codes.tolist()]

    def progress(self) -> ReviewProgress:
        """Reviewed clusters (accepted or rejected) of the current ones and the share of rows decided."""
        self._refresh_sizes()
        reviewed = sum(1 for c in self._ids.tolist() if self.status(c) != UNREVIEWED)
        rows = int((self.labels != EMPTY).sum())
        return ReviewProgress(reviewed, len(self._ids), int(self.reviewed_rows().sum()), rows)

    def reviewed_rows(self) -> np.ndarray:
        """Mask of rows a person's decision covers now: seen members of accepted or rejected clusters, and
        rows the person moved, grouped or labeled (wherever they are)."""
        decided = np.array(sorted(self.statuses), dtype=np.int64)
        in_reviewed = np.isin(self.labels, decided) & self.seen
        return in_reviewed | ((self.source != CLUSTER) & (self.labels != EMPTY))

    def unseen(self) -> dict[int, int]:
        """Per reviewed cluster, its rows no decision covers yet ("accepted, N new rows"); only those with any."""
        if not self.statuses:
            return {}
        mask = ~self.seen & (self.source == CLUSTER) & (self.labels >= 0)
        counts = np.bincount(self.labels[mask], minlength=self.next_id)
        return {c: int(counts[c]) for c in self.statuses if c < len(counts) and counts[c]}

    def find_clusters(self, query: str, suggested: dict[int, str] | None = None, limit: int = 20) -> list[int]:
        """Current cluster ids whose name (or ``suggested`` name, or id) matches ``query`` fuzzily, best first."""
        return fuzzy_find(query, {c: self.name(c) or (suggested or {}).get(c, "") for c in self.cluster_ids()}, limit)

    @property
    def can_undo(self) -> bool:
        return bool(self.done)

    @property
    def can_redo(self) -> bool:
        return bool(self.undone)

    # ------------------------------------------------------------------ actions

    def rename(self, cluster_id: int, name: str | None) -> Action:
        """Name ``cluster_id`` (None or "" clears the name)."""
        self._need_cluster(cluster_id)
        name = (name or "").strip() or None
        return self._do(Action("rename", {"cluster": int(cluster_id), "name": name}))

    def set_status(self, cluster_ids: Iterable[int], status: str) -> Action:
        """Mark clusters ``accepted``, ``rejected`` or ``unreviewed``."""
        _check_status(status)
        ids = _unique_ids(cluster_ids)
        for c in ids:
            self._need_cluster(c)
        return self._do(Action("set_status", {"clusters": ids, "status": status}))

    def merge(self, cluster_ids: Iterable[int], into: int | None = None) -> int:
        """Merge clusters into one (``into``, default the first given); returns its id.

        It keeps ``into``'s name (else the first name among the others) and its
        status if all merged clusters share it, else becomes unreviewed.
        """
        ids = [int(c) for c in dict.fromkeys(int(c) for c in cluster_ids)]
        if len(ids) < 2:
            raise ReviewError("merge needs at least two clusters")
        for c in ids:
            self._need_cluster(c)
        target = ids[0] if into is None else int(into)
        if target not in ids:
            raise ReviewError(f"cluster {target} is not one of the clusters to merge")
        ids = [target] + [c for c in ids if c != target]
        self._do(Action("merge", {"clusters": ids, "into": target}))
        return target

    def split(self, cluster_id: int, parts: np.ndarray, rows: np.ndarray | None = None,
              confidence: np.ndarray | None = None) -> list[int]:
        """Split ``cluster_id``: ``parts[i]`` is the part of ``rows[i]`` (default: its members in file order).

        Each distinct part >= 0 becomes a new cluster (ids in order of part
        size, largest first); part -1 sends the row to noise.  ``confidence``
        (per row, optional) replaces the rows' confidence.  Returns the new ids.
        """
        self._need_cluster(cluster_id)
        members = self.members(cluster_id)
        rows = members if rows is None else np.asarray(rows, dtype=np.int64)
        parts = np.asarray(parts, dtype=np.int64)
        if len(parts) != len(rows) or not np.array_equal(np.sort(rows), members):
            raise ReviewError(f"split: give one part per member of cluster {cluster_id} ({len(members)} row"
                              f"{'s' * (len(members) != 1)})")
        order = np.argsort(rows, kind="stable")
        rows, parts = rows[order], parts[order]
        if (parts < NOISE).any():
            raise ReviewError("split: parts must be >= 0, or -1 for noise")
        distinct = np.unique(parts[parts >= 0])
        if len(distinct) < 2:
            raise ReviewError("split needs at least two parts")
        args = {"cluster": int(cluster_id), "rows": rows, "parts": parts}
        if confidence is not None:
            args["confidence"] = np.asarray(confidence, dtype=np.float32)[order]
        action = self._do(Action("split", args))
        return list(action.args["created"])

    def regroup(self, rows: np.ndarray, parts: np.ndarray, confidence: np.ndarray | None = None,
                note: str | None = None) -> list[int]:
        """Give ``rows`` (from any clusters) new clusters: ``parts[i]`` is the part of ``rows[i]``, each distinct
        part >= 0 a new unnamed, unreviewed cluster (ids in order of part size), -1 noise.  Returns the new ids."""
        rows = np.asarray(rows, dtype=np.int64)
        parts = np.asarray(parts, dtype=np.int64)
        if len(parts) != len(rows) or len(np.unique(rows)) != len(rows):
            raise ReviewError("regroup: give one part per row, each row once")
        self._need_rows(rows)
        if (parts < NOISE).any() or len(np.unique(parts[parts >= 0])) < 1:
            raise ReviewError("regroup: parts must be >= 0, or -1 for noise, and at least one part")
        args = {"rows": rows, "parts": parts, "note": note}
        if confidence is not None:
            args["confidence"] = np.asarray(confidence, dtype=np.float32)
        return list(self._do(Action("regroup", args)).args["created"])

    def move(self, rows: Iterable[int], target: int) -> Action:
        """Move ``rows`` to cluster ``target`` (an existing cluster, or NOISE); source ``moved``."""
        rows = self._need_rows(rows)
        if target == NOISE:
            return self._do(Action("to_noise", {"rows": rows}))
        self._need_cluster(target)
        return self._do(Action("move", {"rows": rows, "target": int(target)}))

    def to_noise(self, rows: Iterable[int]) -> Action:
        """Send ``rows`` to noise (unclustered); source ``moved``."""
        return self._do(Action("to_noise", {"rows": self._need_rows(rows)}))

    def new_cluster(self, rows: Iterable[int], name: str | None = None) -> int:
        """Make a new cluster of ``rows`` (source ``manual``), optionally named; returns its id."""
        args = {"rows": self._need_rows(rows), "name": (name or "").strip() or None}
        return self._do(Action("new_cluster", args)).args["created"][0]

    def apply_proposals(self, rows: Iterable[int], cluster_ids: np.ndarray, confidences: np.ndarray) -> Action:
        """Accept classifier proposals: ``rows[i]`` goes to ``cluster_ids[i]`` with ``confidences[i]``."""
        rows = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows, dtype=np.int64)
        targets = np.asarray(cluster_ids, dtype=np.int64)
        conf = np.asarray(confidences, dtype=np.float32)
        if not (len(rows) == len(targets) == len(conf)):
            raise ReviewError("apply_proposals: rows, cluster ids and confidences must have the same length")
        rows, first = np.unique(rows, return_index=True)
        targets, conf = targets[first], conf[first]
        self._need_rows(rows)
        for c in np.unique(targets).tolist():
            self._need_cluster(c)
        return self._do(Action("apply_proposals", {"rows": rows, "targets": targets, "confidence": conf}))

    def keep(self, rows: Iterable[int]) -> Action:
        """Keep ``rows`` where they are (source ``kept``): a person read them, so they leave the suspects queue
        and get no classifier proposal."""
        return self._do(Action("keep", {"rows": self._need_rows(rows)}))

    def assign(self, rows: np.ndarray, labels: np.ndarray, sources: np.ndarray, confidences: np.ndarray,
               note: str | None = None, seen: np.ndarray | None = None) -> Action:
        """Set rows to given labels, sources and confidences in one step (carry-over, near-duplicates);
        ``seen`` (default: all) says which of them a person's decision covers."""
        rows = np.asarray(rows, dtype=np.int64)
        labels = np.asarray(labels, dtype=np.int64)
        if len(rows) and (labels < NOISE).any():
            raise ReviewError("assign: labels must be cluster ids or noise")
        args = {"rows": rows, "labels": labels, "sources": np.asarray(sources, dtype=np.int8),
                "confidence": np.asarray(confidences, dtype=np.float32), "note": note}
        if seen is not None:
            args["seen"] = np.asarray(seen, dtype=np.int8)
        self._need_rows(rows)
        return self._do(Action("assign", args))

    def rename_node(self, node: int, name: str | None, label: str | None = None) -> Action:
        """Name tree node ``node`` (None or "" clears it); ``label`` says what it is for the undo menu."""
        if node < 0:
            raise ReviewError(f"tree node {node} does not exist")
        name = (name or "").strip() or None
        return self._do(Action("rename_node", {"node": int(node), "name": name, "label": label}))

    def set_node_status(self, nodes: Iterable[int], status: str, rows: np.ndarray, clusters: Iterable[int] = (),
                        label: str | None = None) -> Action:
        """Decide tree nodes (and ``clusters``, in the same step): ``rows`` are the rows they cover now, which
        the decision then covers (as :meth:`set_status` does for a cluster's members)."""
        _check_status(status)
        nodes, ids = sorted({int(n) for n in nodes}), sorted({int(c) for c in clusters})
        if not nodes and not ids:
            raise ReviewError("no clusters selected")
        for c in ids:
            self._need_cluster(c)
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        return self._do(Action("set_node_status", {"nodes": nodes, "clusters": ids, "status": status, "rows": rows,
                                                   "label": label}))

    def undo(self) -> Action | None:
        """Undo the last action; returns it, or None when there is nothing to undo."""
        if not self.done:
            return None
        self._writable()
        action = self.done.pop()
        self._write(action.rows, action.old, [(c, n0, s0) for c, n0, _, s0, _ in action.meta])
        self.undone.append(action)
        self._changed()
        return action

    def redo(self) -> Action | None:
        """Redo the last undone action; returns it, or None when there is nothing to redo."""
        if not self.undone:
            return None
        self._writable()
        action = self.undone.pop()
        if action.rows is None:  # loaded from a saved log: work out its changes now
            self._derive(action)
        self._write(action.rows, action.new, [(c, n1, s1) for c, _, n1, _, s1 in action.meta])
        self.done.append(action)
        self._changed()
        return action

    def set_ui(self, **values) -> None:
        """Remember UI state (selected cluster, row, tab, sort…; JSON values) so a reopen restores it."""
        import json

        try:
            json.dumps(values, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ReviewError(f"ui values must be plain JSON ({exc})") from None
        self.ui.update(values)

    def replay(self, actions: list[Action], cursor: int) -> None:
        """Apply ``actions[:cursor]`` (intents, e.g. from a saved log) and keep the rest for redo."""
        for action in actions[:cursor]:
            self._derive(action)
            self._write(action.rows, action.new, [(c, n1, s1) for c, _, n1, _, s1 in action.meta])
            self.done.append(action)
        self.undone = list(reversed(actions[cursor:]))
        self.version += 1

    def history(self) -> tuple[list[Action], int]:
        """All actions in order (done, then undone) and the cursor: how many of them are in effect."""
        return self.done + list(reversed(self.undone)), len(self.done)

    # ------------------------------------------------------------------ internals

    def _writable(self) -> None:
        if self.read_only:
            raise ReviewError("this review is open read-only (another qtui has it open); changes are not possible")

    def _need_cluster(self, cluster_id: int) -> None:
        if cluster_id == NOISE:
            raise ReviewError("the unclustered rows are not a cluster: move them, or make a new cluster of them")
        if cluster_id == EMPTY:
            raise ReviewError("empty texts are not a cluster and cannot be changed")
        if not self.exists(int(cluster_id)):
            raise ReviewError(f"cluster {cluster_id} does not exist (or holds no rows now)")

    def _need_rows(self, rows: Iterable[int]) -> np.ndarray:
        rows = np.unique(np.asarray(rows if isinstance(rows, np.ndarray) else list(rows), dtype=np.int64))
        if len(rows) == 0:
            raise ReviewError("no rows selected")
        if rows[0] < 0 or rows[-1] >= len(self.labels):
            raise ReviewError(f"row {rows[0] if rows[0] < 0 else rows[-1]} is not in the corpus")
        empty = int((self.base_labels[rows] == EMPTY).sum())
        if empty:
            raise ReviewError(f"{empty} of the selected rows have empty text; they stay in the empty-text group")
        return rows

    def _do(self, action: Action) -> Action:
        self._writable()
        self._derive(action)
        self._write(action.rows, action.new, [(c, n1, s1) for c, _, n1, _, s1 in action.meta])
        self.done.append(action)
        self.undone.clear()
        self._changed()
        return action

    def _changed(self) -> None:
        self.version += 1

    def _new_ids(self, action: Action, count: int) -> list[int]:
        created = action.args.get("created")
        if created is None:
            created = list(range(self.next_id, self.next_id + count))
            action.args["created"] = created
        self.next_id = max(self.next_id, max(created, default=-1) + 1)
        return created

    def _derive(self, action: Action) -> None:
        """Fill ``action.rows/old/new/meta`` from its intent against the current state."""
        a, op = action.args, action.op
        rows = np.empty(0, np.int64)
        labels = src = conf = seen = None
        meta: dict = {}  # cluster or ("node", id) to its (new name, new status)
        if op == "rename_node":
            meta[("node", a["node"])] = (a["name"], self.node_status(a["node"]))
        elif op == "set_node_status":
            for n in a["nodes"]:
                meta[("node", n)] = (self.node_name(n), a["status"])
            for c in a.get("clusters", []):
                meta[c] = (self.name(c), a["status"])
            rows = a["rows"][self.labels[a["rows"]] != EMPTY]
            labels, src, conf = self.labels[rows], self.source[rows], self.confidence[rows]
            seen = np.full(len(rows), a["status"] != UNREVIEWED)
        elif op == "rename":
            meta[a["cluster"]] = (a["name"], self.status(a["cluster"]))
        elif op == "set_status":
            for c in a["clusters"]:
                meta[c] = (self.name(c), a["status"])
            rows = np.flatnonzero(np.isin(self.labels, a["clusters"]))
            labels, src, conf = self.labels[rows], self.source[rows], self.confidence[rows]
            seen = np.full(len(rows), a["status"] != UNREVIEWED)
        elif op == "merge":
            ids, target = a["clusters"], a["into"]
            rows = np.flatnonzero(np.isin(self.labels, ids[1:]))
            labels, src, conf = np.full(len(rows), target), self.source[rows], self.confidence[rows]
            name = self.name(target) or next((self.name(c) for c in ids if self.name(c)), None)
            statuses = {self.status(c) for c in ids}
            meta[target] = (name, statuses.pop() if len(statuses) == 1 else UNREVIEWED)
        elif op in ("split", "regroup"):
            rows, parts = a["rows"], a["parts"]
            distinct, first, counts = np.unique(parts[parts >= 0], return_index=True, return_counts=True)
            order = np.lexsort((first, -counts))
            created = self._new_ids(action, len(distinct))
            mapping = dict(zip(distinct[order].tolist(), created))
            labels = np.array([mapping.get(p, NOISE) for p in parts.tolist()], dtype=np.int64)
            src = self.source[rows]
            conf = a["confidence"] if "confidence" in a else self.confidence[rows]
            conf = np.where(labels >= 0, conf, 0.0)
            name = self.name(a["cluster"]) if op == "split" else None
            if name:  # the parts keep the name, numbered; each is unreviewed until looked at
                for i, c in enumerate(created, 1):
                    meta[c] = (f"{name} ({i}/{len(created)})", UNREVIEWED)
        elif op in ("move", "to_noise", "new_cluster"):
            rows = a["rows"]
            if op == "move":
                target, code = a["target"], MOVED
            elif op == "to_noise":
                target, code = NOISE, MOVED
            else:
                target, code = self._new_ids(action, 1)[0], MANUAL
                meta[target] = (a.get("name"), UNREVIEWED)
            labels, src, conf = np.full(len(rows), target), np.full(len(rows), code), np.ones(len(rows))
            seen = np.ones(len(rows), bool)
        elif op == "keep":
            rows = a["rows"]
            labels, src, conf = self.labels[rows], np.full(len(rows), KEPT), np.ones(len(rows))
            seen = np.ones(len(rows), bool)
        elif op == "apply_proposals":
            rows = a["rows"]
            labels, src, conf = a["targets"], np.full(len(rows), CLASSIFIER), a["confidence"]
            seen = np.ones(len(rows), bool)
        elif op == "assign":
            rows, labels, src, conf = a["rows"], a["labels"], a["sources"], a["confidence"]
            seen = a["seen"] if "seen" in a else np.ones(len(rows), bool)
        else:
            raise ReviewError(f"unknown review action {op!r}")
        rows = np.asarray(rows, dtype=np.int64)
        if labels is not None and len(rows):
            labels = np.asarray(labels, dtype=np.int64)
            src = np.asarray(src, dtype=np.int8)
            conf = np.asarray(conf, dtype=np.float32)
            seen = self.seen[rows] if seen is None else np.asarray(seen, dtype=bool)
            old = (self.labels[rows], self.source[rows], self.confidence[rows], self.seen[rows])
            changed = (old[0] != labels) | (old[1] != src) | (old[2] != conf) | (old[3] != seen)
            rows = rows[changed]
            action.old = tuple(x[changed] for x in old)
            action.new = (labels[changed], src[changed], conf[changed], seen[changed])
        else:
            action.old = action.new = (np.empty(0, np.int64), np.empty(0, np.int8), np.empty(0, np.float32),
                                       np.empty(0, bool))
            rows = rows[:0]
        action.rows = rows
        action.meta = []
        for c, (n, s) in meta.items():
            n0, s0 = self._annotation(c)
            if (n0, s0) != (n, s):
                action.meta.append((c, n0, n, s0, s))

    def _annotation(self, key) -> tuple[str | None, str]:
        """(name, status) of a cluster id or a ``("node", id)`` key."""
        if isinstance(key, tuple):
            return self.node_name(key[1]), self.node_status(key[1])
        return self.name(key), self.status(key)

    def _write(self, rows: np.ndarray, values: tuple, meta: list) -> None:
        if len(rows):
            self.labels[rows], self.source[rows], self.confidence[rows], self.seen[rows] = values
        for c, name, status in meta:
            names, statuses = (self.node_names, self.node_statuses) if isinstance(c, tuple) else \
                (self.names, self.statuses)
            key = c[1] if isinstance(c, tuple) else c
            if name:
                names[key] = name
            else:
                names.pop(key, None)
            if status != UNREVIEWED:
                statuses[key] = status
            else:
                statuses.pop(key, None)

    # ------------------------------------------------------------------ comparisons (tests, carry-over)

    def snapshot(self) -> tuple:
        """Copies of everything an action can change: labels, source, confidence, names, statuses, seen, and the
        names and statuses of tree nodes."""
        return (self.labels.copy(), self.source.copy(), self.confidence.copy(), dict(self.names), dict(self.statuses),
                self.seen.copy(), dict(self.node_names), dict(self.node_statuses))


def same_snapshot(a: tuple, b: tuple) -> bool:
    """Whether two :meth:`ReviewState.snapshot` results are identical."""
    return (np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
            and a[3] == b[3] and a[4] == b[4] and np.array_equal(a[5], b[5]) and a[6:] == b[6:])


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ReviewError(f"status {status!r}: choose one of {', '.join(STATUSES)}")


def _unique_ids(cluster_ids: Iterable[int]) -> list[int]:
    ids = sorted({int(c) for c in cluster_ids})
    if not ids:
        raise ReviewError("no clusters selected")
    return ids
