"""The simulated reviewer's label moves: proposals by label and the suspects queue, counted as the app's keys.

Mixed into :class:`benchmarks.review_sim.Reviewer`.  Each screen is opened with one
action (``L`` for the proposals by label, ``!`` for the suspects queue) and stays
open while the reviewer works it; its content is worked out again (a real fit) when
the review changed, at most every ``classify_every`` actions otherwise:

* **proposals by label** (:meth:`ReviewSession.propose`: the named clusters teach
  the classifier, no accept needed): accept every proposal of one label (1 action per
  label, ``a``, the label worth most first), or every proposal above a threshold (1 to
  set it unless the default is best, 1 to accept: ``ctrl+s``).  A proposal for a row of an unnamed cluster
  is worth its net gain less the naming of that cluster it makes pointless
  (:meth:`LabelMoves._forgone`), so proposals are taken where they beat naming;
* **suspects** (:meth:`ReviewSession.suspects`): every suspect of one likely label
  moved there (1 action per label: ``L`` in the queue), or the queue worked row by row
  from its top (1 action per row: ``y`` moves it to the likely label, a digit to the one
  of the nine alternatives its gold label is, else ``n`` keeps it).
"""

from __future__ import annotations

import numpy as np

#: Confidence thresholds the proposals screens reach (their +/- step), and the one they open with.
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(20))
DEFAULT_THRESHOLD = 0.80
#: Row-by-row prefixes of the suspects queue the reviewer weighs.
QUEUE_PREFIXES = (5, 10, 25, 50, 100)


class LabelMoves:
    """Moves through the proposals-by-label screen and the suspects queue (see the module docstring)."""

    def _screen(self, kind: str):
        """(content, whether it must be opened) of screen ``kind``, worked out again when the review changed
        (at most every ``classify_every`` actions unless it was never worked out)."""
        from engine.classify import NotEnoughLabels

        cache = self.__dict__.setdefault("_screens", {})
        key = self._state_key()
        held = cache.get(kind)
        if held is not None and held[1] != key and self.actions - held[0] < self.classify_every:
            return None, True  # looked at a little while ago: not again yet
        if held is None or held[1] != key:
            try:
                content = None
                if kind == "suspects":
                    content = self.review.suspects()
                elif self._unlabeled_left():
                    content = self.review.propose()
            except NotEnoughLabels:
                content = None
            held = cache[kind] = (self.actions, key, content)
            if content is not None:
                self.log(f"{self.actions:4d} (looked at {kind}: {len(content)})")
        return held[2], getattr(self, "_open", None) != (kind, key)

    def _unlabeled_left(self) -> bool:
        """Whether any row of an unnamed cluster or of noise is left for proposals."""
        from engine.review import CLUSTER

        state = self.review.state
        named = np.zeros(state.next_id + 1, bool)
        named[list(state.names)] = True
        unnamed = np.where(state.labels >= 0, ~named[np.maximum(state.labels, 0)], state.labels == -1)
        return bool((unnamed & (state.source == CLUSTER)).any())

    def _state_key(self) -> tuple:
        state = self.review.state
        return state.labels.tobytes(), state.source.tobytes(), tuple(sorted(state.names.items()))

    def label_moves(self, budget: int, floor: float) -> list:
        """The best proposal and suspect moves worth more than ``floor`` rows per action."""
        from benchmarks.review_sim import Move

        moves = []
        correct = self.correct()
        proposals, opening = self._screen("proposals")
        if proposals is not None and len(proposals):
            delta = self._delta(proposals.rows, proposals.labels, correct)
            worth = delta - self._forgone(proposals.rows)
            moves += self._per_label(Move, "proposal label", proposals.labels, delta, worth, int(opening), budget)
            confidence = proposals.confidence
            values = {t: float(worth[confidence >= t].sum()) for t in THRESHOLDS}
            t = max(values, key=lambda x: (values[x], x == DEFAULT_THRESHOLD))
            cost = int(opening) + (t != DEFAULT_THRESHOLD) + 1
            gain = int(delta[confidence >= t].sum())
            if values[t] > 0 and gain > 0 and cost <= budget:
                moves.append(Move("proposals", gain, cost, {"threshold": t, "opening": opening,
                                                            "what": f"{int((confidence >= t).sum())} at {t:.2f}, "
                                                                    f"{values[t]:.0f} beyond naming"}, values[t]))
        queue, opening = self._screen("suspects")
        if queue is not None and len(queue):
            queue = queue_now(queue, self.review.state)
            likely = [lab if lab is not None else "" for lab in queue.likely_label]
            delta = self._delta(queue.rows, likely, correct)
            moves += self._per_label(Move, "suspect label", likely, delta, delta, int(opening), budget)
            gold = [self.vocab[g] if g >= 0 else None for g in self.gold[queue.rows].tolist()]
            fixable = np.array([g is not None and not c and g in alts
                                for g, c, alts in zip(gold, correct[queue.rows].tolist(), queue.alternatives)])
            for n in QUEUE_PREFIXES:
                n = min(n, len(queue))
                cost = n + int(opening)
                if cost <= budget and fixable[:n].any():
                    moves.append(Move("suspects", int(fixable[:n].sum()), cost,
                                      {"n": n, "opening": opening, "gold": gold[:n], "fixable": fixable[:n],
                                       "what": f"the top {n} of {len(queue)}"}))
        return [m for m in moves if m.gain > 0 and m.ratio > floor]

    def _forgone(self, rows: np.ndarray) -> np.ndarray:
        """Per proposed row, what naming its cluster instead would have been worth, spread over its rows: the
        rows its majority gold label holds, less what an action is worth at the end of the budget (the gain of
        the last naming that would still fit); 0 in noise, in a named cluster, or when the budget would not
        reach the cluster.  Without it, a greedy reviewer takes proposals that naming beats a few actions later."""
        counts, _ = self.table()
        state = self.review.state
        sizes = counts.sum(axis=1)
        best = counts.max(axis=1).astype(np.float64)
        best[list(state.names)] = 0.0
        ranked = np.sort(best[best > 0])[::-1]
        left = self.max_actions - self.actions
        marginal = ranked[left] if left < len(ranked) else 0.0
        per_row = np.maximum(best - marginal, 0.0) / np.maximum(sizes, 1)
        labels = state.labels[rows]
        return np.where(labels >= 0, per_row[np.maximum(labels, 0)], 0.0)

    def _delta(self, rows: np.ndarray, labels: list[str], correct: np.ndarray) -> np.ndarray:
        """Per proposed row: +1 when the label makes it correct, -1 when it is correct now, else 0."""
        codes = np.array([self.code_of.get(lab, -2) for lab in labels], dtype=np.int64)
        return (codes == self.gold[rows]).astype(np.int64) - correct[rows]

    @staticmethod
    def _per_label(Move, kind: str, labels: list[str], delta: np.ndarray, worth: np.ndarray, opening: int,
                   budget: int) -> list:
        """Accepting every row of the one label worth the most (1 action, plus opening); ``delta``: per row the
        net correct rows, ``worth``: what each is worth (see :meth:`_forgone`)."""
        names = np.asarray(labels, dtype=object).astype(str)
        best = None
        for name in np.unique(names[names != ""]).tolist():
            pick = names == name
            value, gain = float(worth[pick].sum()), int(delta[pick].sum())
            if value > 0 and gain > 0 and (best is None or value > best[1]):
                best = (name, value, gain)
        if best is None or 1 + opening > budget:
            return []
        name, value, gain = best
        return [Move(kind, gain, 1 + opening, {"label": name, "opening": bool(opening),
                                               "what": f"{name}: net {gain}"}, value)]

    def do_label_move(self, move) -> None:
        """Make a proposal or suspect move through the review, counting its keys."""
        review, a = self.review, move.args
        kind = "proposals" if move.kind.startswith("proposal") else "suspects"
        content = self._screens[kind][2]
        if a.get("opening"):
            self.count("open proposals" if kind == "proposals" else "open suspects")
        if move.kind == "proposal label":
            review.accept_proposals(content.of_label(a["label"]))
            self.count("accept a label's proposals")
        elif move.kind == "proposals":
            if a["threshold"] != DEFAULT_THRESHOLD:
                self.count("threshold")
            review.accept_proposals(content.above(a["threshold"]))
            self.count("accept proposals")
        elif move.kind == "suspect label":
            queue = queue_now(content, review.state)
            review.send_to_label(queue.rows[queue.of_label(a["label"])], a["label"])
            self.count("move a label's suspects")
        else:
            queue = queue_now(content, review.state)
            for i in range(a["n"]):
                row = queue.rows[i: i + 1]
                if a["fixable"][i]:
                    review.send_to_label(row, a["gold"][i])
                    self.count("suspect moved")
                else:
                    review.keep(row)
                    self.count("suspect kept")
        if kind == "proposals":  # the screen lists what is left
            from engine.review import CLUSTER

            content = content.only(content.rows[review.state.source[content.rows] == CLUSTER])
        key = self._state_key()
        self._screens[kind] = (self._screens[kind][0], key, content)
        self._open = (kind, key)


def queue_now(queue, state):
    """The suspects of ``queue`` no decision has covered since, in their order."""
    return queue.take(np.flatnonzero(queue.still_open(state)))
