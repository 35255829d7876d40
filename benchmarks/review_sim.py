"""A simulated reviewer labels a shared set through the review's front door: correct share against actions.

    python -m benchmarks.review_sim --sets banking77 [--max-actions 300] [--json]
    python -m benchmarks.review_sim --sets toutiao xsid --model muse --max-actions 150 [--json]
    python -m benchmarks.review_sim --sets banking77 --sample 3000      # a stratified sample, not the set

The reviewer knows every row's gold label (its oracle, as a person who reads the rows knows their
intent) and may do only what the app offers, each step through
:class:`engine.review_session.ReviewSession` (and :func:`engine.classify.propose_for_review` for
"Classify the rest", as the app does).  It works greedily: of the moves it can make now it takes the one
with the biggest gain per action (rows that become correct, net, divided by the commands it costs):

* **name** a cluster with the gold label most of its rows carry (1 action: ``n``, the name, Enter); two
  clusters of one label get the same name;
* **split** a mixed cluster (auto, or into 2 or 3 parts) and then name its parts (1 action for ``S``,
  then 1 per part named); the reviewer foresees what the split gives (the split is deterministic), so
  this part of the curve is what a reviewer who splits only where it pays would reach;
* **move** the rows of one gold label out of a cluster (or out of noise) into the cluster named with
  that label, or into a new cluster it then names (marks, plus 1 for ``v`` and the target, plus 1 for the
  name of a new cluster).  Marks are counted one action per ``space``; ``A`` (mark all) then ``space`` on
  each row to leave out is used when cheaper; one row under the cursor needs no mark;
* **classify the rest from accepted clusters**: accept every named cluster not accepted yet (1 action
  each: ``a``), the command palette's "Classify the rest from accepted clusters" (1), set the confidence
  threshold (1 action unless the default 0.80 is best; the reviewer reads the
  proposals, so it picks the threshold with the most net correct rows on a 0.05 grid) and accept
  every proposal shown (``ctrl+s``, 1);
* **proposals by label** and the **suspects queue** (:mod:`benchmarks.review_sim_labels`): the named
  clusters teach a classifier (no accept needed) that proposes labels for unnamed clusters and noise,
  accepted one label at a time (1 action each: ``a``) or above a threshold (``ctrl+s``); suspects are
  moved one label at a time (1 action each: ``L`` in the queue) or worked one by one from the top of the
  queue (1 action per suspect: ``y`` to the likely label or a digit to one of nine alternatives, else
  ``n`` keeps it); opening either screen is 1 action (``L``, ``!``).

Cursor moves, scrolling and reading are not counted; every command and every mark is.  Sending rows to
noise never makes a row correct and is not used.  The curve's share is of all rows: a row is correct
when its exported ``cluster_label`` equals its gold label; each run's last point is checked against
the file :meth:`ReviewSession.export` writes.

Methods: ``qtui`` (the policy above on the app's default ``auto`` clustering), ``qtui-no-labels`` (the same
without proposals by label and the suspects queue: the moves before them), ``qtui-hdbscan`` (the
same after re-clustering in the app with HDBSCAN's defaults, 2 actions: its noise rows are what "Classify
the rest" can label), ``auto-names`` (naming only, the ``auto`` clusters), ``kmeans-names`` (naming only, KMeans told the true k: the notebook
baseline) and ``row-by-row`` (one row labeled per action).  Each set's ceiling is a logistic regression
trained on all gold labels (3-fold cross-validated, the same vectors).  Reviews go to a temporary
``QTUI_DATA_DIR``; embeddings, clusterings and term counts come from the normal cache.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.review_sim_labels import DEFAULT_THRESHOLD, THRESHOLDS, LabelMoves  # noqa: E402
from engine.clustering import NOISE, ClusterSettings  # noqa: E402
from engine.review import ACCEPTED, CLASSIFIER, MANUAL, MOVED  # noqa: E402

#: The issue's goals: (set, model) -> (actions, share of rows correctly labeled).
GOALS = {"banking77": (300, 0.90), "toutiao": (150, 0.75), "xsid": (150, 0.78)}
SPLIT_KS = (None, 2, 3)
#: A cluster is tried for a split only below this purity and from this size.
SPLIT_PURITY, SPLIT_MIN_SIZE = 0.9, 10
#: The classifier's proposals are worked out again at most this many actions after the last time.
CLASSIFY_EVERY = 20
#: Before classifying, the named clusters whose name fits at least this share of their rows are accepted
#: (0: all of them); the rows of the others get proposals as well.
ACCEPT_PURITY = (0.0, 0.85)
#: Per method: the clustering it reviews (None: the app's default, ``auto``; "kmeans": told the true k), whether
#: it only names clusters, and whether it may use proposals by label and the suspects queue.  ``row-by-row``
#: labels one row per action.
METHODS = {"qtui": (None, False, True), "qtui-no-labels": (None, False, False),
           "qtui-hdbscan": ("hdbscan", False, True), "auto-names": (None, True, False),
           "kmeans-names": ("kmeans", True, False), "row-by-row": None}
#: Re-clustering in the app: ``c``, pick the algorithm, apply (its defaults kept).
RECLUSTER_ACTIONS = 2
CHECKPOINTS = (0, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500)


@dataclass
class Move:
    """One thing the reviewer can do now: its kind, what it gains (net correct rows) and costs (actions), and
    what it is worth when that differs from its gain (proposals taken from clusters naming would label)."""

    kind: str
    gain: int
    cost: int
    args: dict = field(default_factory=dict)
    worth: float | None = None

    @property
    def ratio(self) -> float:
        return (self.gain if self.worth is None else self.worth) / self.cost


@dataclass
class Curve:
    """One method's run: (actions, correct share) after every action, and the actions by kind."""

    method: str
    points: list[tuple[int, float]]
    tally: dict[str, int]
    exported_share: float | None = None  # the share read back from the exported file

    @property
    def actions(self) -> int:
        return self.points[-1][0]

    def share_at(self, actions: int) -> float:
        """The correct share after at most ``actions`` actions."""
        best = 0.0
        for a, s in self.points:
            if a > actions:
                break
            best = s
        return best


def mark_cost(m: int, shown: int) -> int:
    """Marks to select ``m`` of ``shown`` rows: none for one row (the cursor), else ``space`` per row or
    ``A`` and ``space`` per row left out, whichever is fewer."""
    return 0 if m == 1 else min(m, 1 + shown - m)


class _WithAccepted:
    """The review as it would read with ``ids`` accepted: what the classifier sees after the accepts."""

    def __init__(self, state, ids) -> None:
        self.labels, self.source, self._ids = state.labels, state.source, sorted(ids)

    def accepted_ids(self) -> list[int]:
        return self._ids


class Reviewer(LabelMoves):
    """The greedy reviewer of one :class:`ReviewSession`, with the gold labels as its oracle (its moves through
    the proposals by label and the suspects queue: :class:`~benchmarks.review_sim_labels.LabelMoves`)."""

    def __init__(self, review, gold: list[str], max_actions: int, *, names_only: bool = False,
                 classify_every: int = CLASSIFY_EVERY, log: Callable[[str], None] | None = None,
                 label_moves: bool = True) -> None:
        self.review = review
        self.label_moves_on = label_moves
        self.session = review.session
        vocab, codes = np.unique(np.asarray(gold, dtype=object).astype(str), return_inverse=True)
        self.vocab = vocab.tolist()
        self.code_of = {v: i for i, v in enumerate(self.vocab)}
        self.gold = codes.ravel().astype(np.int64)
        self.gold[np.asarray([g == "" for g in gold])] = -1  # a row without a gold label is never correct
        self.max_actions = max_actions
        self.names_only = names_only
        self.classify_every = classify_every
        self.log = log or (lambda line: None)
        self.actions = 0
        self.tally: dict[str, int] = {}
        self.points: list[tuple[int, float]] = [(0, self.correct().mean())]
        self._splits: dict[tuple, tuple[np.ndarray, int]] = {}
        #: per accept purity: (actions then, key, proposals, best threshold, net gain) of the last look ahead
        self._classified: dict[float, tuple] = {}

    # ------------------------------------------------------------------ reading the review

    def name_codes(self) -> np.ndarray:
        """Per cluster id: the gold code its name is, else -1; one more entry (-1) stands for noise and empty."""
        state = self.review.state
        codes = np.full(state.next_id + 1, -1, dtype=np.int64)
        for c, name in state.names.items():
            codes[c] = self.code_of.get(name, -1)
        return codes

    def correct(self) -> np.ndarray:
        """Per corpus row: whether its exported label (its cluster's name) is its gold label."""
        labels, codes = self.review.state.labels, self.name_codes()
        named = codes[np.where(labels >= 0, labels, len(codes) - 1)]
        return (named >= 0) & (named == self.gold)

    def table(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows per cluster id and gold code, noise rows per gold code); the last id column is unused."""
        state = self.review.state
        labels, g = state.labels, self.gold
        width = len(self.vocab)
        keep = (labels >= 0) & (g >= 0)
        counts = np.bincount(labels[keep] * width + g[keep], minlength=(state.next_id + 1) * width)
        noise = np.bincount(g[(labels == NOISE) & (g >= 0)], minlength=width)
        return counts.reshape(state.next_id + 1, width), noise

    # ------------------------------------------------------------------ acting

    def count(self, kind: str, n: int = 1) -> None:
        for _ in range(n):
            self.actions += 1
            self.tally[kind] = self.tally.get(kind, 0) + 1
            self.points.append((self.actions, self.correct().mean()))

    def run(self) -> Curve:
        """Act until the budget is spent or nothing gains; the curve of the run."""
        while self.actions < self.max_actions:
            move = self.best_move(self.max_actions - self.actions)
            if move is None:
                break
            self.do(move)
        return Curve("", self.points, dict(self.tally))

    def do(self, move: Move) -> None:
        review, a = self.review, move.args
        self.log(f"{self.actions:4d} {move.kind:9} gain {move.gain:5d} cost {move.cost:3d} {a.get('what', '')}")
        if move.kind in ("proposal label", "proposals", "suspect label", "suspects"):
            self.do_label_move(move)
            return
        self._open = None  # any other command leaves the proposals or suspects screen
        if move.kind == "name":
            review.rename(a["cluster"], a["label"])
            self.count("name")
        elif move.kind == "split":
            review.split(a["cluster"], a["k"])
            self.count("split")
        elif move.kind == "move":
            rows = np.flatnonzero((review.state.labels == a["from"]) & (self.gold == a["code"]))
            self.count("mark", a["marks"])
            if a["target"] is None:
                outcome = review.new_cluster(rows)
                self.count("move")
                review.rename(outcome.cluster, a["label"])
                self.count("name")
            else:
                review.move(rows, a["target"])
                self.count("move")
        elif move.kind == "classify":
            for c in a["accept"]:
                review.set_status([c], ACCEPTED)
                self.count("accept")
            proposals = self._proposals_now(a["key"], a["proposals"])
            self.count("classify")
            if a["threshold"] != DEFAULT_THRESHOLD:
                self.count("threshold")
            picked = proposals.above(a["threshold"])
            review.apply_proposals(picked.rows, picked.cluster_ids, picked.confidence)
            self.count("accept proposals")
            self._classified = {}

    def _proposals_now(self, key: tuple, proposals):
        """The app's proposals for the review as it is now: those looked ahead at, when the inputs are the same."""
        from engine.classify import propose_for_review

        if self._classify_key(self.review.state.accepted_ids()) == key:
            return proposals  # the same labels, sources and accepted clusters: the same (seeded) fit
        return propose_for_review(self.review.state, self.session.vectors, self.session.rows)

    # ------------------------------------------------------------------ choosing

    def best_move(self, budget: int) -> Move | None:
        """The move with the most gain per action that fits in ``budget`` actions (None when none gains)."""
        counts, noise = self.table()
        names = self.name_codes()
        state = self.review.state
        sizes = state.sizes()
        moves = self.name_moves(counts, names, sizes)
        if not self.names_only:
            moves += self.row_moves(counts, noise, names, sizes)
        moves = [m for m in moves if m.gain > 0 and m.cost <= budget]
        best = max(moves, key=lambda m: (m.ratio, m.gain), default=None)
        if self.names_only:
            return best
        floor = best.ratio if best is not None else 0.0
        split = self.split_move(counts, names, sizes, floor, budget)
        if split is not None and (best is None or (split.ratio, split.gain) > (best.ratio, best.gain)):
            best, floor = split, split.ratio
        classify = self.classify_move(counts, names, sizes, floor, budget)
        if classify is not None and (best is None or (classify.ratio, classify.gain) > (best.ratio, best.gain)):
            best, floor = classify, classify.ratio
        if self.label_moves_on:
            for move in self.label_moves(budget, floor):
                if best is None or (move.ratio, move.gain) > (best.ratio, best.gain):
                    best = move
        return best

    def name_moves(self, counts, names, sizes) -> list[Move]:
        moves = []
        for c, size in sizes.items():
            top = int(counts[c].argmax())
            now = int(counts[c, names[c]]) if names[c] >= 0 else 0
            if top != names[c]:
                moves.append(Move("name", int(counts[c, top]) - now, 1,
                                  {"cluster": c, "label": self.vocab[top], "what": f"#{c} ({size}) {self.vocab[top]}"}))
        return moves

    def row_moves(self, counts, noise, names, sizes) -> list[Move]:
        """Moving the rows of one gold label out of a cluster or noise, to where that label is the name."""
        largest_named: dict[int, int] = {}
        for c in sorted(sizes, key=sizes.get):
            if names[c] >= 0:
                largest_named[int(names[c])] = c
        moves = []
        sources = [(c, counts[c], sizes[c]) for c in sizes] + [(NOISE, noise, self.review.state.size(NOISE))]
        for c, row, shown in sources:
            here = names[c] if c >= 0 else -1
            for h in np.flatnonzero(row).tolist():
                if h == here:
                    continue
                m = int(row[h])
                target = largest_named.get(h)
                cost = mark_cost(m, shown) + 1 + (target is None)
                moves.append(Move("move", m, cost, {"from": c, "code": h, "target": target, "label": self.vocab[h],
                                                    "marks": mark_cost(m, shown),
                                                    "what": f"{m} {self.vocab[h]} from #{c} to "
                                                            f"{'#' + str(target) if target is not None else 'new'}"}))
        return moves

    def split_move(self, counts, names, sizes, floor: float, budget: int) -> Move | None:
        """The best split of a mixed cluster, counted with naming the parts worth naming."""
        best = None
        for c, size in sizes.items():
            top = int(counts[c].max())
            now = int(counts[c, names[c]]) if names[c] >= 0 else 0
            if size < SPLIT_MIN_SIZE or top >= SPLIT_PURITY * size or (size - now) / 2 <= floor:
                continue
            members = self.review.state.members(c)
            for k in SPLIT_KS:
                if k is not None and k >= size:
                    continue
                parts = self._split_parts(c, members, k)
                if parts is None:
                    continue
                gains = []
                for p in np.unique(parts):
                    g = self.gold[members[parts == p]]
                    g = g[g >= 0]
                    if len(g):
                        gains.append(int(np.bincount(g).max()))
                named = [x for x in gains if x >= 2]
                cost = 1 + len(named)
                gain = sum(named) - now
                if gain > 0 and cost <= budget:
                    move = Move("split", gain, cost, {"cluster": c, "k": k, "what": f"#{c} ({size}) k={k or 'auto'} "
                                                                                    f"into {len(gains)}"})
                    if best is None or (move.ratio, move.gain) > (best.ratio, best.gain):
                        best = move
        return best if best is not None and best.ratio > floor else None

    def _split_parts(self, c: int, members: np.ndarray, k: int | None) -> np.ndarray | None:
        """The parts :meth:`ReviewSession.split` would make of cluster ``c`` (None when it would refuse)."""
        from engine.review import ReviewError
        from engine.split import split_parts

        key = (c, k, members.tobytes())
        if key not in self._splits:
            positions = np.array([self.session.position(r) for r in members.tolist()], dtype=np.int64)
            try:
                parts, _ = split_parts(self.session.vectors[positions[positions >= 0]], k,
                                       seed=self.review.settings.seed)
            except ReviewError:
                parts = None
            if parts is not None and (len(set(parts[parts >= 0].tolist())) < 2 or (positions < 0).any()):
                parts = None
            self._splits[key] = parts
        return self._splits[key]

    def _classify_key(self, accept: list[int]) -> tuple:
        state = self.review.state
        return (state.labels.tobytes(), state.source.tobytes(), tuple(sorted(accept)))

    def classify_move(self, counts, names, sizes, floor: float, budget: int) -> Move | None:
        """Accept the named clusters (all of them, or only those pure enough: the rows of the others then get
        proposals too), classify the rest and accept the proposals at the best threshold."""
        best = None
        for purity in ACCEPT_PURITY:
            move = self._classify_variant(counts, names, sizes, purity, floor, budget)
            if move is not None and (best is None or (move.ratio, move.gain) > (best.ratio, best.gain)):
                best, floor = move, move.ratio
        return best

    def _classify_variant(self, counts, names, sizes, purity: float, floor: float, budget: int) -> Move | None:
        state = self.review.state
        accepted = set(state.accepted_ids())
        named = [c for c in sizes if names[c] >= 0 and counts[c, names[c]] >= purity * sizes[c]]
        to_accept = [c for c in named if c not in accepted]
        classes = sorted(accepted | set(named))
        if len(classes) < 2:
            return None
        fixed = 2 + len(to_accept)
        # an upper bound first: the candidate rows whose label is a class and that are wrong now
        labels = state.labels
        candidates = (~np.isin(labels, classes) & (labels >= NOISE) & (state.source != CLASSIFIER)
                      & (state.source != MOVED) & (state.source != MANUAL))
        class_codes = names[classes]
        reachable = np.isin(self.gold, class_codes[class_codes >= 0]) & candidates & ~self.correct()
        if fixed > budget or int(reachable.sum()) / fixed <= floor:
            return None
        key = self._classify_key(classes)
        cached = self._classified.get(purity)
        if cached is None or cached[1] != key:
            if cached is not None and self.actions - cached[0] < self.classify_every and cached[4] / (
                    fixed + (cached[3] != DEFAULT_THRESHOLD)) <= floor:
                return None  # worked out a little while ago and not worth it then
            from engine.classify import NotEnoughLabels, propose_for_review

            try:
                proposals = propose_for_review(_WithAccepted(state, classes), self.session.vectors, self.session.rows)
            except NotEnoughLabels:
                return None
            threshold, gain = self._best_threshold(proposals, names)
            cached = self._classified[purity] = (self.actions, key, proposals, threshold, gain)
            self.log(f"{self.actions:4d} (looked ahead: classify accepting purity >= {purity:.2f}: net {gain} rows at "
                     f"{threshold:.2f} for {fixed + (threshold != DEFAULT_THRESHOLD)} actions; {proposals.describe()})")
        _, _, proposals, threshold, gain = cached
        cost = fixed + (threshold != DEFAULT_THRESHOLD)
        if gain <= 0 or cost > budget or gain / cost <= floor:
            return None
        return Move("classify", gain, cost, {"accept": to_accept, "key": key, "proposals": proposals,
                                             "threshold": threshold,
                                             "what": f"accept {len(to_accept)} (purity >= {purity:.2f}), "
                                                     f"{len(proposals.above(threshold))} proposals at {threshold:.2f}"})

    def _best_threshold(self, proposals, names) -> tuple[float, int]:
        """The threshold with the most net correct rows (the default on a tie) and that net gain."""
        now = self.correct()[proposals.rows]
        after = names[proposals.cluster_ids] == self.gold[proposals.rows]
        delta = after.astype(np.int64) - now
        gains = {t: int(delta[proposals.confidence >= t].sum()) for t in THRESHOLDS}
        best = max(gains, key=lambda t: (gains[t], t == DEFAULT_THRESHOLD))
        return best, gains[best]


# ---------------------------------------------------------------------- one set


@dataclass
class SetResult:
    """The curves of one set, its ceiling and its size."""

    name: str
    rows: int
    labels: int
    clusters: dict[str, int]
    curves: list[Curve]
    ceiling: float | None
    seconds: float = 0.0


def exported_share(review, gold: list[str], path: Path) -> float:
    """Export the review to ``path`` and read back the share of rows whose ``cluster_label`` is their gold label."""
    import polars as pl

    review.export(path, overwrite=True)
    exported = pl.read_csv(path, infer_schema_length=0).get_column("cluster_label").fill_null("").to_list()
    return float(np.mean([e == g and g != "" for e, g in zip(exported, gold)]))


def ceiling(vectors: np.ndarray, gold: list[str], rows: np.ndarray, seed: int = 0) -> float:
    """Share of all rows a logistic regression trained on every gold label gets right (3-fold, out of fold),
    with the regularisation "Classify the rest" uses."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from engine.classify import C

    y = np.asarray(gold, dtype=object)[rows].astype(str)
    folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    predicted = cross_val_predict(LogisticRegression(C=C, max_iter=1000), vectors, y, cv=folds)
    return float((predicted == y).sum() / len(gold))


def run_method(session, method: str, gold: list[str], max_actions: int, out: Path,
               log: Callable[[str], None] | None = None) -> tuple[Curve, int]:
    """One method's curve on ``session`` (a fresh review each), checked against its export; and its clusters."""
    from engine.review_session import ReviewSession

    if method == "row-by-row":
        n = len(gold)
        labeled = sum(1 for g in gold if g)
        points = [(a, min(a, labeled) / n) for a in range(max_actions + 1)]
        return Curve(method, points, {"label a row": max_actions}), 0
    algo, names_only, label_moves = METHODS[method]
    k = len({g for g in gold if g})
    if algo == "kmeans":  # the baseline's clustering, as a notebook makes it: not a step of the review
        review = ReviewSession.start(session, ClusterSettings("kmeans", k=k))
    else:
        review = ReviewSession.start(session, ClusterSettings())
    try:
        if algo == "hdbscan":  # the reviewer re-clusters in the app, with that algorithm's defaults
            review.adopt(review.cluster_again(ClusterSettings(algo)))
        clusters = len(review.state.cluster_ids())
        reviewer = Reviewer(review, gold, max_actions, names_only=names_only, log=log, label_moves=label_moves)
        if algo == "hdbscan":
            reviewer.count("re-cluster", RECLUSTER_ACTIONS)
        curve = reviewer.run()
        curve.method = method
        curve.exported_share = exported_share(review, gold, out / f"{method}.csv")
    finally:
        review.close()
    if abs(curve.exported_share - curve.points[-1][1]) > 1e-9:
        raise RuntimeError(f"{method}: the simulator counts {curve.points[-1][1]:.4f} correct, the export "
                           f"{curve.exported_share:.4f}")
    return curve, clusters


def measure_set(path: Path, name: str, options, max_actions: int, out: Path, *, embedder=None,
                methods=METHODS, with_ceiling: bool = True, log: Callable[[str], None] | None = None) -> SetResult:
    """Open ``path`` (its ``label`` field is the gold label), run every method and the ceiling."""
    from engine.session import Session

    start = time.perf_counter()
    session = Session.open(path, options, embedder=embedder)
    gold = session.corpus.gold
    if gold is None:
        raise SystemExit(f"{path}: no gold label column")
    curves, clusters = [], {}
    for method in methods:
        t = time.perf_counter()
        curve, clusters[method] = run_method(session, method, gold, max_actions, out, log)
        curves.append(curve)
        if log:
            log(f"{name} {method}: {curve.points[-1][1]:.1%} after {curve.actions} actions "
                f"({time.perf_counter() - t:.0f} s)")
    top = ceiling(session.vectors, gold, session.rows) if with_ceiling else None
    return SetResult(name, len(gold), len({g for g in gold if g}), clusters, curves, top,
                     time.perf_counter() - start)


def stratified_sample(source: Path, size: int, target: Path, seed: int = 0) -> Path:
    """Write ``size`` rows of ``source`` (JSON lines with a ``label``) to ``target``, each label in its share."""
    lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    labels = np.array([json.loads(line)["label"] for line in lines], dtype=object)
    rng = np.random.default_rng(seed)
    keep = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        keep.extend(rng.choice(rows, max(1, round(size * len(rows) / len(lines))), replace=False).tolist())
    target.write_text("".join(lines[i] + "\n" for i in sorted(keep)), encoding="utf-8")
    return target


# ---------------------------------------------------------------------- output


def json_points(results: list[SetResult]) -> list[dict]:
    """One entry per point of each curve: set, method, actions, correct share."""
    return [{"set": r.name, "method": c.method, "actions": a, "correct_share": round(s, 6)}
            for r in results for c in r.curves for a, s in c.points]


def table(result: SetResult, max_actions: int) -> str:
    """The curves of one set at the checkpoints, its ceiling and the issue's goal."""
    marks = [a for a in CHECKPOINTS if a <= max_actions]
    lines = [f"{result.name}: {result.rows:,} rows, {result.labels} labels; ceiling (logistic regression on all "
             f"gold labels, 3-fold) " + (f"{result.ceiling:.3f}" if result.ceiling is not None else "not measured"),
             f"  {'method':13} {'clusters':>8} " + " ".join(f"{a:>6}" for a in marks) + "   actions by kind"]
    for c in result.curves:
        kinds = ", ".join(f"{k} {n}" for k, n in c.tally.items())
        clusters = result.clusters.get(c.method) or ""
        lines.append(f"  {c.method:13} {clusters:>8} " + " ".join(f"{c.share_at(a):6.1%}" for a in marks)
                     + f"   {kinds}")
    goal = GOALS.get(result.name)
    if goal:
        actions, share = goal
        for c in result.curves:
            if c.method.startswith("qtui"):
                got = c.share_at(actions)
                reached = next((a for a, s in c.points if s >= share), None)
                lines.append(f"  goal {share:.0%} within {actions} actions, {c.method}: "
                             f"{'met' if got >= share else 'NOT met'} ({got:.1%} at {min(actions, c.actions)}"
                             + (f"; {share:.0%} reached at {reached})" if reached else ")"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--sets", nargs="+", default=["banking77"])
    parser.add_argument("--model", default=None, help="the model to embed with (default: the bundled MiniLM; muse)")
    parser.add_argument("--max-actions", type=int, default=300)
    parser.add_argument("--sample", type=int, default=0, help="a stratified sample of this many rows per set")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--no-ceiling", action="store_true", help="skip the logistic-regression ceiling")
    parser.add_argument("--json", action="store_true", help="print the points as JSON (the tables go to stderr)")
    parser.add_argument("--verbose", action="store_true", help="print every move the reviewer makes")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from engine.options import LoadOptions, ModelOptions, SessionOptions

    report = sys.stderr if args.json else sys.stdout
    say = (lambda line: print(line, file=sys.stderr, flush=True)) if args.verbose else None
    options = SessionOptions(load=LoadOptions(label_col="label"), model=ModelOptions(model=args.model))
    results = []
    with tempfile.TemporaryDirectory(prefix="qtui-review-sim-") as tmp:
        os.environ["QTUI_DATA_DIR"] = str(Path(tmp) / "reviews")  # the simulated reviews are not the user's
        for name in [part for s in args.sets for part in s.split(",") if part]:
            path = args.data_dir / f"{name}.jsonl"
            if not path.exists():
                print(f"{name}: no {path}; skipped", file=report)
                continue
            out = Path(tmp) / name
            out.mkdir()
            if args.sample:
                path = stratified_sample(path, args.sample, out / f"{name}-sample.jsonl")
            result = measure_set(path, name, options, args.max_actions, out, methods=args.methods,
                                 with_ceiling=not args.no_ceiling, log=say)
            results.append(result)
            print(table(result, args.max_actions), file=report, flush=True)
    points = json_points(results)
    if args.json:
        print(json.dumps(points))
    return points


if __name__ == "__main__":
    main()
