"""Labels to start from: a labels file (name: description) and an earlier labeled export, on real banking77 rows."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from engine.errors import InputError
from engine.label_seeds import LabelSeed, majority_labels, propose_cluster_labels, read_labeled_export, read_labels_file
from engine.options import LoadOptions, SessionOptions
from engine.session import Session
from tests.test_suspects import LABELS, labeled_sample

DESCRIPTIONS = {
    "card_arrival": "my new card has not arrived yet, where is it in the post",
    "exchange_rate": "what exchange rate do you use to convert currencies",
    "lost_or_stolen_card": "my card was lost or stolen",
    "top_up_failed": "my top-up did not work, adding money failed",
    "atm_support": "which cash machines (ATMs) can I use",
    "change_pin": "how do I change my PIN",
    "terminate_account": "close my account, I want to delete it",
    "apple_pay_or_google_pay": "using Apple Pay or Google Pay",
}


@pytest.fixture(scope="module")
def session(embedder, tmp_path_factory) -> Session:
    path = tmp_path_factory.mktemp("seeds") / "banking.jsonl"
    labeled_sample(path)
    return Session.open(path, SessionOptions(load=LoadOptions(label_col="label")), embedder=embedder)


def gold_clusters(session) -> tuple[np.ndarray, list[str]]:
    """The gold labels as cluster ids per corpus row, and the label of each id."""
    names, codes = np.unique(np.asarray(session.corpus.gold, dtype=object).astype(str), return_inverse=True)
    return codes.ravel(), names.tolist()


def test_a_labels_file_reads_names_and_descriptions_and_names_its_bad_line(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("# intents\nrefund: the customer wants money back\n\ncard arrival\n  exchange rate : rates  \n",
                    encoding="utf-8")
    assert read_labels_file(path) == [LabelSeed("refund", "the customer wants money back"),
                                      LabelSeed("card arrival", "card arrival"), LabelSeed("exchange rate", "rates")]
    for body, line, problem in [("a\n: no name\n", 2, "needs a name"), ("a\nb:\n", 2, "no description"),
                                ("a\nb\nA\n", 3, "given twice"), ("only one\n", None, "at least two")]:
        path.write_text(body, encoding="utf-8")
        with pytest.raises(InputError) as caught:
            read_labels_file(path)
        message = str(caught.value)
        assert problem in message and str(path) in message and "\n" not in message
        if line is not None:
            assert f"labels.txt:{line}:" in message
    with pytest.raises(InputError, match="no such file"):
        read_labels_file(tmp_path / "missing.txt")


def test_descriptions_embedded_as_queries_name_most_clusters(session):
    clusters, names = gold_clusters(session)
    seeds = [LabelSeed(name, DESCRIPTIONS[name]) for name in LABELS]
    proposed = propose_cluster_labels(session, clusters, seeds=seeds)
    assert [p.cluster_id for p in proposed] == list(range(len(names)))
    right = [p.label == names[p.cluster_id] for p in proposed]
    assert sum(right) >= 6, [(names[p.cluster_id], p.label, round(p.confidence, 2)) for p in proposed]
    assert all(0 < p.confidence <= 1 for p in proposed)


def test_an_earlier_export_teaches_the_labels_of_a_new_file(session, tmp_path):
    earlier = tmp_path / "earlier.jsonl"
    labeled_sample(earlier, skip=40)  # other rows of the same intents: last month's file
    frame = pl.read_ndjson(earlier).select("text", pl.col("label").alias("cluster_label"))
    frame = frame.with_columns(pl.lit("accepted").alias("status"))
    bad = pl.DataFrame({"text": ["lorem ipsum", "dolor sit"], "cluster_label": ["unclustered", "junk"],
                        "status": [None, "rejected"]})
    export = tmp_path / "earlier.labeled.csv"
    pl.concat([frame, bad]).write_csv(export)
    examples = read_labeled_export(export)
    assert len(examples.texts) == len(frame) and set(examples.labels) == set(LABELS)  # noise and rejected left out
    clusters, names = gold_clusters(session)
    proposed = propose_cluster_labels(session, clusters, examples=examples)
    assert all(p.label == names[p.cluster_id] for p in proposed)
    assert min(p.confidence for p in proposed) >= 0.8
    # a cluster of two intents gets the larger one, with the share of its rows as confidence
    mixed = np.where(clusters == 1, 0, clusters)
    share = (clusters == 0).sum() / ((clusters == 0) | (clusters == 1)).sum()
    first = next(p for p in propose_cluster_labels(session, mixed, examples=examples) if p.cluster_id == 0)
    assert first.label in (names[0], names[1]) and first.confidence == pytest.approx(max(share, 1 - share), abs=0.1)


def test_an_export_without_the_columns_is_a_one_line_error(tmp_path):
    path = tmp_path / "other.csv"
    pl.DataFrame({"text": ["a", "b"], "label": ["x", "y"]}).write_csv(path)
    with pytest.raises(InputError, match="no 'cluster_label' column") as caught:
        read_labeled_export(path)
    assert str(path) in str(caught.value)
    pl.DataFrame({"text": ["a", "b"], "cluster_label": ["x", "x"]}).write_csv(path)
    with pytest.raises(InputError, match="at least two are needed"):
        read_labeled_export(path)


def test_majority_labels_counts_each_clusters_rows():
    proposed = majority_labels(["a", "b", "b", "a", "a", "c"], np.array([0, 0, 0, 1, 1, -1]))
    assert [(p.cluster_id, p.label, round(p.confidence, 3)) for p in proposed] == [(0, "b", 0.667), (1, "a", 1.0)]
