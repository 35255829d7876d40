"""Review export round trip (commas, quotes, newlines, CJK, emoji in ids and texts) and ``qtui export`` end to end."""

from __future__ import annotations

import csv
import hashlib
import json

import numpy as np
import pandas as pd
import polars as pl
import pytest

from engine.clustering import ClusterSettings
from engine.export import REVIEW_COLUMNS, export_review
from engine.options import ModelOptions, SessionOptions
from engine.review import ACCEPTED, REJECTED, ReviewState
from engine.review_info import ReviewContext
from engine.review_store import ReviewStore
from engine.review_view import base_view, restore_analysis, review_view
from engine.session import Session
from tests.cli import run_qtui
from tests.conftest import SAMPLE

NASTY = [
    ("plain-1", "The battery lasts two days"),
    ("comma,id", "Fast delivery, well packed, happy"),
    ('quote"id', 'He said "refund me" twice'),
    ("newline\nid", "first line\nsecond line"),
    ("crlf\r\nid", "windows line\r\nbreak, and a comma"),
    ("cjk-标识", "屏幕很清晰，颜色也好看"),
    ("emoji-😀", "Love it 😀👍 great price"),
    ("tab\tid", "tab\tinside"),
    ("lead-space", "  leading and trailing spaces  "),
    ("empty", "   "),
    ("zh-2", "物流太慢了，等了两个星期"),
    ("mixed", "客服 reply 很慢 but solved"),
    ("battery-2", "Battery life is great, lasts all weekend"),
    ("refund-2", "I want my money back, \"now\""),
    ("delivery-3", "The parcel arrived a week late"),
]
NAME = 'Battery, "life"\nand 电池 🔋'



@pytest.fixture(scope="module")
def reviewed(tmp_path_factory, embedder):
    """A file with nasty ids/texts and one malformed line, clustered and reviewed."""
    path = tmp_path_factory.mktemp("review-export") / "nasty.jsonl"
    lines = [json.dumps({"id": i, "text": t, "stars": n % 5, "status": f"in,{n}\""}, ensure_ascii=False)
             for n, (i, t) in enumerate(NASTY)]
    lines.insert(4, '{"id": "broken", "text": ')  # malformed: skipped, listed, not exported
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    session = Session.open(path, SessionOptions(), embedder=embedder)
    settings = ClusterSettings("kmeans", k=3)
    analysis = session.cluster(settings)
    state = ReviewState.from_analysis(analysis)
    ids = state.cluster_ids()
    state.rename(ids[0], NAME)
    state.set_status([ids[0]], ACCEPTED)
    state.set_status([ids[1]], REJECTED)
    first, other = state.members(ids[0])[0], state.members(ids[1])[0]
    state.move([first], ids[1])
    state.to_noise([other])
    spare = state.members(ids[2])[:2]
    state.apply_proposals(spare, [ids[0], ids[0]], [0.875, 0.5])
    return session, settings, state, path, int(first), int(other), spare


def expected_ids_texts():
    return [i for i, _ in NASTY], [t for _, t in NASTY]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_round_trip_ids_texts_and_columns(reviewed, tmp_path, suffix):
    session, _, state, _, _, _, _ = reviewed
    view = review_view(state, session.rows, session.vectors, *session.document_terms())
    out = export_review(session.corpus, state, view, tmp_path / f"labeled{suffix}")
    if suffix == ".csv":
        frame = pl.read_csv(out, infer_schema=False)
    elif suffix == ".tsv":
        frame = pl.read_csv(out, separator="\t", infer_schema=False, quote_char='"')
    elif suffix == ".jsonl":
        frame = pl.read_ndjson(out)
    else:
        frame = pl.read_parquet(out)
    assert tuple(frame.columns) == REVIEW_COLUMNS + ("stars", "input_status")
    ids, texts = expected_ids_texts()
    assert frame["id"].to_list() == ids
    assert frame["text"].to_list() == texts
    assert len(frame) == len(NASTY)  # one row per input row, the malformed line excluded
    assert not list(tmp_path.glob(".*.tmp"))


def test_pandas_and_csv_module_read_back_the_same(reviewed, tmp_path):
    session, _, state, _, _, _, _ = reviewed
    view = review_view(state, session.rows, session.vectors, *session.document_terms())
    out = export_review(session.corpus, state, view, tmp_path / "labeled.csv")
    ids, texts = expected_ids_texts()
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert df["id"].tolist() == ids and df["text"].tolist() == texts
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == ids and [r["text"] for r in rows] == texts
    assert NAME in {r["cluster_label"] for r in rows}


def test_review_columns_say_what_the_person_decided(reviewed, tmp_path):
    session, _, state, _, first, other, spare = reviewed
    view = review_view(state, session.rows, session.vectors, *session.document_terms())
    frame = pl.read_parquet(export_review(session.corpus, state, view, tmp_path / "labeled.parquet"))
    ids = state.cluster_ids()
    by_row = frame.to_dicts()
    assert by_row[first]["cluster_id"] == ids[1] and by_row[first]["label_source"] == "moved"
    assert by_row[first]["status"] == REJECTED and by_row[first]["confidence"] == 1.0
    assert by_row[other]["cluster_id"] == -1 and by_row[other]["cluster_label"] == "unclustered"
    assert by_row[other]["status"] is None and by_row[other]["score"] is None
    for row, conf in zip(spare.tolist(), [0.875, 0.5]):
        assert by_row[row]["label_source"] == "classifier" and by_row[row]["confidence"] == conf
        assert by_row[row]["cluster_label"] == NAME and by_row[row]["status"] == ACCEPTED
    empty = frame.filter(pl.col("id") == "empty").to_dicts()[0]
    assert empty["cluster_id"] is None and empty["cluster_label"] == "(empty text)"
    assert empty["label_source"] is None and empty["confidence"] is None and empty["status"] is None
    untouched = [r for r in range(len(by_row)) if state.source[r] == 0 and state.labels[r] >= 0]
    assert {by_row[r]["label_source"] for r in untouched} == {"cluster"}
    unnamed = [r for r in untouched if state.labels[r] == ids[2]]
    assert all(by_row[r]["cluster_label"] == (view.suggested[ids[2]] or f"cluster {ids[2]}") for r in unnamed)
    # the score is the cosine to the centre of the row's *current* cluster
    members = state.members(ids[1])
    vectors = session.vectors[[session.position(r) for r in members]]
    centre = vectors.sum(axis=0) / np.linalg.norm(vectors.sum(axis=0))
    assert by_row[first]["score"] == pytest.approx(float(session.vectors[session.position(first)] @ centre), abs=1e-4)


def test_restore_analysis_rebuilds_the_base_without_clustering(reviewed):
    session, settings, state, _, _, _, _ = reviewed
    analysis = restore_analysis(session, state.base_labels, state.base_confidence, settings)
    assert np.array_equal(analysis.labels, state.base_labels)
    again = session.cluster(settings)
    assert [c.name for c in analysis.clusters] == [c.name for c in again.clusters]


def test_a_new_reviews_view_is_its_analysis(embedder):
    """A review that changed no label shows its analysis' figures as they are (no second c-TF-IDF, no
    term counts read); they are what recomputing gives.  After a move, the recomputed sizes follow."""
    session = Session.open(SAMPLE, SessionOptions(), embedder=embedder)
    analysis = session.cluster(ClusterSettings("kmeans", k=8))
    state = ReviewState.from_analysis(analysis)
    terms, vocabulary = session.document_terms()
    recomputed = review_view(state, session.rows, session.vectors, terms, vocabulary)
    reused = base_view(analysis)
    assert reused.scores is analysis.scores
    assert reused.ids.tolist() == recomputed.ids.tolist() and reused.sizes.tolist() == recomputed.sizes.tolist()
    assert np.allclose(reused.centres, recomputed.centres, atol=1e-5)
    assert np.allclose(reused.scores, recomputed.scores, atol=1e-5, equal_nan=True)
    assert reused.suggested == recomputed.suggested
    for cid in reused.ids.tolist():
        assert [t for t, _ in reused.keywords[cid]] == [t for t, _ in recomputed.keywords[cid]]
    a, b = (int(c) for c in reused.ids[:2])
    state.move(state.members(a)[:3], b)
    moved = review_view(state, session.rows, session.vectors, terms, vocabulary)
    sizes = dict(zip(moved.ids.tolist(), moved.sizes.tolist()))
    assert sizes[b] == dict(zip(reused.ids.tolist(), reused.sizes.tolist()))[b] + 3


def save_review(session, settings, state, embedder) -> ReviewStore:
    store = ReviewStore.for_corpus(session.corpus)
    assert store.acquire()
    store.start(state, ReviewContext.of(session.corpus, settings, ModelOptions(), embedder.identity))
    store.release()
    return store


def test_qtui_export_end_to_end(reviewed, tmp_path, embedder):
    session, settings, state, path, _, _, _ = reviewed
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    save_review(session, settings, state, embedder)
    out = tmp_path / "labeled.csv"
    result = run_qtui("export", str(path), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert f"wrote {len(NASTY)} rows to" in result.stdout and "1/3 clusters" not in result.stdout
    assert "2/3 clusters reviewed" in result.stdout
    assert "1 malformed record" in result.stdout and ":5:" in result.stdout  # the broken line, by number
    frame = pl.read_csv(out, infer_schema=False)
    ids, texts = expected_ids_texts()
    assert frame["id"].to_list() == ids and frame["text"].to_list() == texts
    view = review_view(state, session.rows, session.vectors, *session.document_terms())
    mine = pl.read_csv(export_review(session.corpus, state, view, tmp_path / "mine.csv"), infer_schema=False)
    assert frame.columns[8:10] == ["parent_label", "label_path"]  # the tree's levels, after the review's columns
    assert frame.drop("parent_label", "label_path").equals(mine)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the input file is never modified"


def test_qtui_export_without_a_saved_review(tmp_path):
    data = tmp_path / "never.jsonl"
    data.write_text('{"text": "hello"}\n', encoding="utf-8")
    result = run_qtui("export", str(data), "--out", str(tmp_path / "x.csv"))
    assert result.returncode == 2
    assert "no saved review" in result.stderr and "qtui open" in result.stderr and "qtui cluster" in result.stderr
    assert not (tmp_path / "x.csv").exists()
    missing = run_qtui("export", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "x.csv"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_qtui_export_of_a_damaged_review_says_so_and_keeps_it(reviewed, tmp_path, embedder):
    session, settings, state, path, _, _, _ = reviewed
    store = save_review(session, settings, state, embedder)
    store.path.write_bytes(store.path.read_bytes()[:-10])
    result = run_qtui("export", str(path), "--out", str(tmp_path / "x.csv"))
    assert result.returncode == 2, result.stderr
    assert "damaged" in result.stderr and str(store.path) in result.stderr
    assert store.path.exists(), "a read-only export leaves the damaged file for the app to set aside"


def test_the_whole_loop_through_the_review_front_door(reviewed, embedder, tmp_path):
    """Start → review (saved at once) → reopen and resume → re-cluster with carry-over → undo it → export."""
    from engine.review_session import ReviewSession

    session, settings, _, _, _, _, _ = reviewed
    assert ReviewSession.find(session) is None
    review = ReviewSession.start(session, settings)
    state = review.state
    big = max(state.cluster_ids(), key=state.size)
    review.rename(big, "kept name")
    review.set_status([big], ACCEPTED)
    review.set_ui(cluster=big, row=int(state.members(big)[0]), tab="members")
    review.close()

    found = ReviewSession.find(session)
    assert found is not None and found.same_content
    assert found.describe().startswith("A saved review of this file: 1/3 clusters reviewed")
    review = ReviewSession.resume(session, found)
    state = review.state
    assert np.array_equal(review.analysis.labels, session.cluster(settings).labels)
    assert state.ui["cluster"] == big and state.name(big) == "kept name"

    plan = review.cluster_again(ClusterSettings("kmeans", k=2, seed=1))
    review.adopt(plan)
    carried = plan.preview.mapping[big]
    assert review.state.name(carried) == "kept name" and review.state.status(carried) == ACCEPTED
    assert review.state.reviewed_rows().sum() >= state.reviewed_rows().sum()  # nothing reviewed was dropped
    review.close()
    again = ReviewSession.resume(session, ReviewSession.find(session))
    assert again.settings == ClusterSettings("kmeans", k=2, seed=1)
    assert again.undo().message.startswith("Undid: re-clustered with kmeans k=2")
    assert again.settings == settings and again.state.name(big) == "kept name"
    out = again.export(tmp_path / "loop.csv")
    frame = pl.read_csv(out)
    assert set(frame.filter(pl.col("cluster_id") == big)["cluster_label"].to_list()) == {"kept name"}
    again.close()
