"""Quality figures against gold labels: the gold-label mix of one cluster."""

from __future__ import annotations

import numpy as np

from engine.metrics import gold_mix


def test_gold_mix_counts_the_current_members_most_common_first():
    labels = np.array([0, 0, 0, 0, 1, 1, -1, 0])
    gold = ["card", "card", "loan", "fee", "loan", "loan", "card", "loan"]
    assert gold_mix(labels, gold, 0) == [("card", 0.4), ("loan", 0.4), ("fee", 0.2)]  # a tie goes by label
    assert gold_mix(labels, gold, 0, k=1) == [("card", 0.4)]
    assert gold_mix(labels, gold, 1) == [("loan", 1.0)]
    moved = labels.copy()
    moved[[0, 1]] = 1  # the same rows after a review moved two of them: the mix follows the labels given
    assert gold_mix(moved, gold, 0) == [("loan", 2 / 3), ("fee", 1 / 3)]
    assert gold_mix(labels, gold, 7) == [] and gold_mix(labels, None, 0) == []
