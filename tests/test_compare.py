"""Clusters ranked by over-representation in the selected rows, against independent counts and Fisher's test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import fisher_exact

from engine.compare import compare_clusters
from engine.errors import UsageError
from engine.loading import load
from engine.row_filter import RowFilter
from tests.conftest import SAMPLE


def test_low_ratings_against_high_ones_rank_clusters_by_over_representation():
    corpus = load(SAMPLE)
    rows = RowFilter(corpus)
    themes = corpus.frame["theme"].to_list()
    names = sorted(set(themes))
    labels = np.array([names.index(t) for t in themes])
    low, high = rows.mask("rating <= 2"), rows.mask("rating >= 4")
    table = compare_clusters(labels, low, high)
    assert table.selected == low.sum() and table.others == high.sum()
    assert sorted(table.ids.tolist()) == sorted(set(labels[low | high].tolist()))
    assert np.all(np.diff(table.z) <= 0)  # ranked: most over-represented first
    for i, cid in enumerate(table.ids):
        inside, outside = int((low & (labels == cid)).sum()), int((high & (labels == cid)).sum())
        assert (table.inside[i], table.outside[i]) == (inside, outside)
        if outside:
            assert table.lift[i] == pytest.approx((inside / low.sum()) / (outside / high.sum()))
        _, p = fisher_exact([[inside, low.sum() - inside], [outside, high.sum() - outside]], alternative="greater")
        assert table.p_over[i] == pytest.approx(p, rel=1e-6, abs=1e-12)
        assert table.q_over[i] >= table.p_over[i] - 1e-12
    top = table.rows()[0]
    assert top["lift"] > 1 and top["p_over"] < 0.05
    assert table.z[-1] < 0 and table.lift[-1] < 1


def test_the_rest_is_the_default_and_bad_selections_are_refused():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, -1])
    selected = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 0], dtype=bool)
    table = compare_clusters(labels, selected)
    assert table.ids[0] == 0 and table.inside[0] == 3 and table.outside[0] == 0 and np.isinf(table.lift[0])
    assert table.others == 6 and -1 in table.ids.tolist()
    with pytest.raises(UsageError, match="overlap"):
        compare_clusters(labels, selected, selected)
    with pytest.raises(UsageError, match="no row is selected"):
        compare_clusters(labels, np.zeros(10, dtype=bool))
