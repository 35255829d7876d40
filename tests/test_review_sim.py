"""The simulated reviewer (benchmarks/review_sim.py) on a stratified sample of banking77: it works through the
review's front door, its counts agree with the exported file, and both baselines come out."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from benchmarks.review_sim import METHODS, json_points, main, measure_set, stratified_sample
from engine.options import LoadOptions, SessionOptions
from tests.conftest import shared_set

SAMPLE_ROWS = 400
MAX_ACTIONS = 60


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return stratified_sample(shared_set("banking77"), SAMPLE_ROWS, tmp_path_factory.mktemp("sim") / "b77.jsonl")


def test_the_reviewer_counts_what_the_export_holds_and_the_baselines_come_out(sample, embedder, tmp_path):
    gold = [json.loads(line)["label"] for line in sample.read_text().splitlines()]
    assert abs(len(gold) - SAMPLE_ROWS) <= 77 and len(set(gold)) == 77  # every label, in its share
    result = measure_set(sample, "banking77", SessionOptions(load=LoadOptions(label_col="label")), MAX_ACTIONS,
                         tmp_path, embedder=embedder)
    assert [c.method for c in result.curves] == list(METHODS)
    assert 0.5 < result.ceiling < 1.0
    by_method = {c.method: c for c in result.curves}
    for method, curve in by_method.items():
        actions = [a for a, _ in curve.points]
        assert actions == list(range(len(actions))) and actions[-1] <= MAX_ACTIONS  # one point per action
        assert sum(curve.tally.values()) == curve.actions
        if method == "row-by-row":
            assert [s for _, s in curve.points] == [min(a, len(gold)) / len(gold) for a in actions]
            continue
        frame = pl.read_csv(tmp_path / f"{method}.csv", infer_schema_length=0)
        correct = np.mean([e == g for e, g in zip(frame["cluster_label"].fill_null("").to_list(), gold)])
        assert curve.exported_share == pytest.approx(correct) == pytest.approx(curve.points[-1][1])
        named = frame.filter(pl.col("cluster_label").is_in(sorted(set(gold))))
        # every correctly named cluster took one naming action (splits' parts and new clusters included)
        assert named["cluster_id"].n_unique() <= curve.tally.get("name", 0)
        sources = frame["label_source"].value_counts()
        counted = dict(zip(sources["label_source"].to_list(), sources["count"].to_list()))
        tally = curve.tally
        assert (counted.get("classifier", 0) > 0) == bool({"accept proposals", "accept a label's proposals"} & set(tally))
        assert (counted.get("moved", 0) + counted.get("manual", 0) > 0) == bool(
            {"move", "move a label's suspects", "suspect moved"} & set(tally))
        assert (counted.get("kept", 0) > 0) == ("suspect kept" in tally)
        accepted = frame.filter(pl.col("status") == "accepted")["cluster_id"].n_unique()
        assert accepted <= curve.tally.get("accept", 0)
        if method.endswith("-names"):
            assert set(curve.tally) == {"name"}
    qtui, names = by_method["qtui"], by_method["auto-names"]
    assert qtui.share_at(MAX_ACTIONS) >= names.share_at(MAX_ACTIONS) > by_method["row-by-row"].share_at(MAX_ACTIONS)
    assert by_method["qtui-hdbscan"].tally["re-cluster"] == 2
    points = json_points([result])
    assert {p["method"] for p in points} == set(METHODS)
    assert len(points) == sum(len(c.points) for c in result.curves)


def test_the_command_line_prints_the_points_as_json(sample, capsys):
    main(["--data-dir", str(sample.parent), "--sets", sample.stem, "--max-actions", "15", "--no-ceiling",
          "--methods", "kmeans-names", "row-by-row", "--json"])
    captured = capsys.readouterr()
    points = json.loads(captured.out)
    assert {tuple(sorted(p)) for p in points} == {("actions", "correct_share", "method", "set")}
    assert {p["method"] for p in points} == {"kmeans-names", "row-by-row"}
    kmeans = [p for p in points if p["method"] == "kmeans-names"]
    assert kmeans[-1]["actions"] == 15 and kmeans[-1]["correct_share"] > 15 / SAMPLE_ROWS
    assert "kmeans-names" in captured.err and "ceiling" in captured.err  # the table, beside the JSON


def test_label_moves_gain_and_cost_what_the_reviewer_foresaw(embedder, tmp_path):
    """Proposals by label and the suspects queue: each move the reviewer takes makes exactly the net correct rows
    it counted on, for exactly the actions it counted."""
    from benchmarks.review_sim import Reviewer
    from engine.clustering import ClusterSettings
    from engine.review_session import ReviewSession
    from engine.session import Session
    from tests.test_suspects import labeled_sample

    sample = tmp_path / "eight-intents.jsonl"
    labeled_sample(sample)
    session = Session.open(sample, SessionOptions(load=LoadOptions(label_col="label")), embedder=embedder)
    gold = session.corpus.gold
    review = ReviewSession.start(session, ClusterSettings("hdbscan"))
    assert review.state.size(-1) > 0  # noise: rows for proposals that naming cannot label
    reviewer = Reviewer(review, gold, 200, classify_every=0)
    counts, _ = reviewer.table()
    for c in review.state.cluster_ids():  # every cluster named after its majority: suspects are left
        review.rename(c, reviewer.vocab[int(counts[c].argmax())])
    kinds = set()
    for _ in range(8):
        moves = reviewer.label_moves(budget=200, floor=0.0)
        if not moves:
            break
        move = max(moves, key=lambda m: (m.ratio, m.gain))
        before, actions = int(reviewer.correct().sum()), reviewer.actions
        reviewer.do(move)
        assert int(reviewer.correct().sum()) - before == move.gain, move.kind
        assert reviewer.actions - actions == move.cost, move.kind
        kinds.add(move.kind)
    assert kinds & {"proposal label", "proposals"} and kinds & {"suspect label", "suspects"}
    review.close()
