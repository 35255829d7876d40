"""The review's front door: nothing a person made is lost, on any path (engine and CLI, real model and files)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.clustering import ClusterSettings
from engine.export_guard import ExportExists, ExportRefused, check_export_target
from engine.options import SessionOptions
from engine.review import ACCEPTED, REJECTED, UNREVIEWED, ReviewError, same_snapshot
from engine.review_session import ReviewSession
from engine.session import Session
from tests.cli import run_qtui
from tests.conftest import SAMPLE

KMEANS6 = ClusterSettings("kmeans", k=6)



def open_session(path: Path, embedder) -> Session:
    return Session.open(path, SessionOptions(), embedder=embedder)


@pytest.fixture(scope="module")
def sample(embedder, tmp_path_factory) -> Session:
    copy = tmp_path_factory.mktemp("sample") / "comments.jsonl"
    shutil.copy(SAMPLE, copy)
    return open_session(copy, embedder)


# ---------------------------------------------------------------------- export guard


def test_an_export_never_writes_over_its_input_by_path_symlink_or_hard_link(tmp_path):
    source = tmp_path / "c.jsonl"
    shutil.copy(SAMPLE, source)
    (tmp_path / "link.jsonl").symlink_to(source)
    os.link(source, tmp_path / "hard.jsonl")
    for target in (source, tmp_path / "link.jsonl", tmp_path / "hard.jsonl", tmp_path / "sub" / ".." / "c.jsonl"):
        with pytest.raises(ExportRefused, match="never writes over its input"):
            check_export_target(target, [source], overwrite=True)
    other = tmp_path / "other.csv"
    assert check_export_target(other, [source]) == other
    other.write_text("someone's file")
    with pytest.raises(ExportExists, match="--force"):
        check_export_target(other, [source])
    assert check_export_target(other, [source], overwrite=True) == other


def test_qtui_cluster_refuses_the_input_and_needs_force_for_another_file(tmp_path):
    source = tmp_path / "c.jsonl"
    shutil.copy(SAMPLE, source)
    before = source.read_bytes()
    result = run_qtui("cluster", str(source), "--algo", "kmeans", "--k", "4", "-q", "--export", str(source))
    assert result.returncode == 2 and "never writes over its input" in result.stderr
    assert result.stderr.count("\n") == 1 and source.read_bytes() == before
    out = tmp_path / "out.csv"
    out.write_text("keep me")
    result = run_qtui("cluster", str(source), "--algo", "kmeans", "--k", "4", "-q", "--export", str(out))
    assert result.returncode == 2 and "--force" in result.stderr and out.read_text() == "keep me"
    result = run_qtui("cluster", str(source), "--algo", "kmeans", "--k", "4", "-q", "--export", str(out), "--force")
    assert result.returncode == 0, result.stderr
    assert pl.read_csv(out).height == 320


def test_an_export_never_writes_over_a_reviewed_file(sample, tmp_path):
    review = ReviewSession.start(sample, KMEANS6)
    review.close()
    other = tmp_path / "another input.jsonl"
    other.write_text('{"text": "x"}\n')
    with pytest.raises(ExportRefused):
        check_export_target(sample.corpus.path, [other], overwrite=True)


# ---------------------------------------------------------------------- save state


def test_a_failed_save_is_counted_until_a_save_works(sample, monkeypatch):
    import engine.review_store as rs

    review = ReviewSession.start(sample, KMEANS6)
    real = rs.atomic_write

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rs, "atomic_write", full)
    review.rename(0, "one")
    review.set_status([0], ACCEPTED)
    assert review.save_status.unsaved == 2 and "No space left" in review.save_status.last_error
    assert review.save_status.describe() == "2 changes not saved"
    assert not review.autosave()
    monkeypatch.setattr(rs, "atomic_write", real)
    assert review.autosave() and review.save_status.unsaved == 0 and review.save_status.describe() == ""
    review.close()
    again = ReviewSession.resume(sample, ReviewSession.find(sample))
    assert again.state.name(0) == "one" and again.state.status(0) == ACCEPTED
    again.close()


# ---------------------------------------------------------------------- reviews follow their file


def test_a_review_follows_its_file_when_a_line_is_added_and_a_typo_fixed(tmp_path, embedder):
    path = tmp_path / "c.jsonl"
    shutil.copy(SAMPLE, path)
    review = ReviewSession.start(open_session(path, embedder), KMEANS6)
    state = review.state
    big = max(state.cluster_ids(), key=state.size)
    review.rename(big, "reviewed")
    review.set_status([big], ACCEPTED)
    members = state.members(big)
    moved = int(state.members(state.cluster_ids()[0] if state.cluster_ids()[0] != big else state.cluster_ids()[1])[0])
    review.move([moved], big)
    review.close()

    lines = path.read_text(encoding="utf-8").splitlines()
    gone = int(members[-1])
    record = json.loads(lines[int(members[0])])
    record["text"] += " (typo fixed)"
    lines[int(members[0])] = json.dumps(record, ensure_ascii=False)
    del lines[gone]
    lines.append(json.dumps({"id": "new-1", "text": "电池 battery dies by noon, 充电也慢"}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    session = open_session(path, embedder)
    found = ReviewSession.find(session)
    assert found is not None and not found.same_content
    assert found.match.describe() == "319 rows matched by id (1 with edited text), 1 added, 1 removed"
    assert "changed since" in found.describe() and "1 added" in found.describe()
    carried = ReviewSession.resume(session, found)
    s = carried.state
    new_rows = {r - (r > gone) for r in members.tolist() if r != gone} | {moved - (moved > gone)}
    assert set(s.members(big).tolist()) >= new_rows
    assert s.name(big) == "reviewed" and s.status(big) == ACCEPTED
    assert s.seen[sorted(new_rows)].all()
    added = len(session.corpus) - 1
    assert not s.seen[added] and s.labels[added] >= 0  # the new row is placed, and nobody reviewed it
    notices = " ".join(carried.notices)
    assert "1 reviewed row is no longer in the file" in notices.replace("rows are", "row is") or \
        "no longer in the file" in notices
    carried.close()
    # the earlier review is still there, listed with the new one
    listing = run_qtui("reviews", str(path))
    assert listing.returncode == 0 and "earlier version of the file" in listing.stdout and "this content" in listing.stdout


def test_qtui_export_of_a_changed_file_carries_the_review_with_a_notice(tmp_path, embedder):
    path = tmp_path / "c.jsonl"
    shutil.copy(SAMPLE, path)
    review = ReviewSession.start(open_session(path, embedder), KMEANS6)
    review.rename(2, "kept by export")
    review.close()
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "new", "text": "one more comment about the screen"}) + "\n")
    out = tmp_path / "out.csv"
    result = run_qtui("export", str(path), "--out", str(out), "-q")
    assert result.returncode == 0, result.stderr
    assert "changed since it was reviewed" in result.stderr and "1 added" in result.stderr
    frame = pl.read_csv(out, infer_schema=False)
    assert frame.height == 321 and "kept by export" in frame["cluster_label"].to_list()
    assert not any(p.name.startswith(path.stem) for p in tmp_path.iterdir() if p != path and p != out), \
        "an export changes no saved review and writes nothing else"


def test_start_new_sets_the_review_aside_and_review_id_opens_it_again(sample):
    first = ReviewSession.start(sample, KMEANS6)
    first.rename(1, "first review")
    first.close()
    second = ReviewSession.start(sample, KMEANS6)
    assert any("set aside" in n for n in second.notices)
    assert second.state.name(1) is None
    second.rename(3, "second review")
    second.close()
    listing = run_qtui("reviews", str(sample.corpus.path))
    assert listing.stdout.count("set aside") == 1 and listing.stdout.count("current") == 1
    aside = next(line.split()[0] for line in listing.stdout.splitlines() if "set aside" in line)
    found = ReviewSession.find(sample, aside)
    assert found.found.info.set_aside
    reopened = ReviewSession.resume(sample, found)
    assert reopened.state.name(1) == "first review"
    reopened.close()
    listing = run_qtui("reviews", str(sample.corpus.path))
    assert listing.stdout.count("set aside") == 1  # the second review took its place aside
    latest = ReviewSession.resume(sample, ReviewSession.find(sample))
    assert latest.state.name(1) == "first review"
    latest.close()
    with pytest.raises(Exception, match="no saved review with id"):
        ReviewSession.find(sample, "nosuchid")


# ---------------------------------------------------------------------- merge, split, carry-over rules


def test_merge_and_split_say_what_became_of_names_and_decisions(sample):
    review = ReviewSession.start(sample, KMEANS6)
    a, b, c = review.state.cluster_ids()[:3]
    review.rename(a, "alpha")
    review.rename(b, "beta")
    review.set_status([a, b], ACCEPTED)
    outcome = review.merge([a, b], into=a)
    assert "all were accepted, so it stays accepted" in outcome.message and "dropped: 'beta'" in outcome.message
    assert review.state.status(a) == ACCEPTED
    review.set_status([c], REJECTED)
    outcome = review.merge([a, c], into=a)
    assert "differed (accepted, rejected), so it is unreviewed" in outcome.message
    assert review.state.status(a) == UNREVIEWED
    with pytest.raises(ReviewError, match="at most"):
        review.split(a, review.state.size(a))
    outcome = review.split(a, 3)
    parts = [cid for cid in review.state.cluster_ids() if (review.state.name(cid) or "").startswith("alpha (")]
    assert sorted(review.state.name(p) for p in parts) == ["alpha (1/3)", "alpha (2/3)", "alpha (3/3)"]
    assert "“alpha (1/3)”" in outcome.message and "unreviewed" in outcome.message
    review.close()


def test_reclustering_the_rows_of_a_filter_is_one_step_kept_on_resume_and_undone_whole(sample):
    from engine.row_filter import RowFilter

    review = ReviewSession.start(sample, KMEANS6)
    first = review.state.cluster_ids()[0]
    review.rename(first, "kept")
    review.set_status([first], ACCEPTED)
    mask = RowFilter(sample.corpus).mask("rating <= 2")
    before = review.state.snapshot()
    outside = review.state.labels[~mask].copy()
    with pytest.raises(ReviewError, match="at most"):
        review.recluster_rows(mask, ClusterSettings("kmeans", k=int(mask.sum())))
    outcome = review.recluster_rows(mask, ClusterSettings("kmeans", k=4))
    state = review.state
    new = sorted(set(state.labels[mask].tolist()))
    assert len(new) == 4 and min(new) >= state.next_id - 4  # four new clusters hold every matching row
    assert all(state.name(c) is None and state.status(c) == UNREVIEWED for c in new)
    assert np.array_equal(state.labels[~mask], outside)  # the other rows stay where they were
    assert "into 4 new clusters" in outcome.message
    again = ReviewSession.resume(sample, ReviewSession.find(sample))  # saved as one step of the review
    assert np.array_equal(again.state.labels, state.labels)
    again.close()
    review.undo()
    assert same_snapshot(review.state.snapshot(), before)
    review.redo()
    assert sorted(set(review.state.labels[mask].tolist())) == new
    review.close()


def test_qtui_export_where_writes_only_the_matching_rows_and_every_row_without_it(sample, tmp_path):
    review = ReviewSession.start(sample, KMEANS6)
    review.rename(review.state.cluster_ids()[0], "first")
    review.close()
    path = str(sample.corpus.path)
    every, low = tmp_path / "all.csv", tmp_path / "low.csv"
    assert run_qtui("export", path, "--out", str(every), "--quiet").returncode == 0
    result = run_qtui("export", path, "--out", str(low), "--where", "rating <= 2", "--quiet")
    assert result.returncode == 0, result.stderr
    frame, whole = pl.read_csv(low), pl.read_csv(every)
    assert len(whole) == len(sample.corpus) and len(frame) == int((whole["rating"] <= 2).sum()) > 0
    assert f"wrote {len(frame)} rows" in result.stdout
    assert frame["id"].to_list() == whole.filter(pl.col("rating") <= 2)["id"].to_list()
    bad = run_qtui("export", path, "--out", str(tmp_path / "bad.csv"), "--where", "ratin <= 2", "--quiet")
    assert bad.returncode == 2 and "unknown column 'ratin'" in bad.stderr and not (tmp_path / "bad.csv").exists()


def test_carry_over_never_marks_rows_nobody_reviewed(sample):
    review = ReviewSession.start(sample, KMEANS6)
    state = review.state
    review.set_status(state.cluster_ids(), ACCEPTED)
    before = review.state.reviewed_rows().copy()
    plan = review.cluster_again(ClusterSettings("kmeans", k=9, seed=3))
    review.adopt(plan)
    after = review.state
    assert np.array_equal(after.reviewed_rows(), before)  # nothing dropped, nothing invented
    joined = after.unseen()
    assert sum(joined.values()) == int((~after.seen & (after.labels >= 0) & (after.source == 0)).sum())
    if joined:
        assert any("stay unreviewed" in line for line in plan.describe())
    review.close()


# ---------------------------------------------------------------------- the property


STEPS = ("name", "accept", "reject", "unreview", "merge", "split", "move", "recluster", "recluster_drop",
         "undo", "redo", "reload")
EXPLICIT = {"unreview", "merge", "split", "undo", "redo", "recluster_drop"}  # may shrink the reviewed rows


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_random_review_sessions_never_lose_reviewed_rows_and_round_trip(sample, data, tmp_path_factory, monkeypatch):
    """Random name/accept/reject/merge/split/move/re-cluster/undo/redo/save/reload: the reviewed rows never
    shrink except by an explicit step, a re-clustering never invents a review, and every state reloads
    exactly."""
    monkeypatch.setenv("QTUI_DATA_DIR", str(tmp_path_factory.mktemp("prop")))
    review = ReviewSession.start(sample, KMEANS6)
    live = np.flatnonzero(sample.corpus.empty == False)  # noqa: E712
    try:
        for _ in range(data.draw(st.integers(1, 10), label="steps")):
            step = data.draw(st.sampled_from(STEPS), label="step")
            state = review.state
            ids = state.cluster_ids()
            pick = lambda: int(data.draw(st.sampled_from(ids)))  # noqa: E731
            before = state.reviewed_rows().copy()
            try:
                if step == "name":
                    review.rename(pick(), data.draw(st.text(max_size=6)))
                elif step in ("accept", "reject", "unreview"):
                    review.set_status([pick()], {"accept": ACCEPTED, "reject": REJECTED}.get(step, UNREVIEWED))
                elif step == "merge" and len(ids) > 2:
                    review.merge([pick(), pick()])
                elif step == "split":
                    review.split(max(ids, key=state.size), 2)
                elif step == "move":
                    rows = data.draw(st.lists(st.sampled_from(live.tolist()), min_size=1, max_size=5))
                    review.move(rows, pick())
                elif step in ("recluster", "recluster_drop"):
                    k, seed = data.draw(st.integers(3, 9)), data.draw(st.integers(0, 2))
                    review.adopt(review.cluster_again(ClusterSettings("kmeans", k=k, seed=seed)),
                                 pin=step == "recluster")
                elif step == "undo":
                    review.undo()
                elif step == "redo":
                    review.redo()
                elif step == "reload":
                    snapshot, current = review.state.snapshot(), review.record.current
                    review.close()
                    review = ReviewSession.resume(sample, ReviewSession.find(sample))
                    assert same_snapshot(review.state.snapshot(), snapshot) and review.record.current == current
            except ReviewError:
                continue
            after = review.state.reviewed_rows()
            if step not in EXPLICIT:
                assert not (before & ~after).any(), f"{step} dropped reviewed rows"
            if step == "recluster":
                assert not (after & ~before).any(), "a re-clustering marked rows nobody reviewed"
            assert review.save_status.unsaved == 0
        # every state round-trips, undo history and re-clusterings included
        snapshot, epochs, current = review.state.snapshot(), len(review.record.epochs), review.record.current
        review.close()
        again = ReviewSession.resume(sample, ReviewSession.find(sample))
        assert same_snapshot(again.state.snapshot(), snapshot)
        assert (len(again.record.epochs), again.record.current) == (epochs, current)
        review = again
        while review.undo() is not None:
            pass
        assert review.record.current == 0 and not review.state.done
        assert np.array_equal(review.state.labels, review.state.base_labels)
    finally:
        review.close()


def test_a_step_after_undoing_a_reclustering_sets_that_reclustering_aside(sample):
    review = ReviewSession.start(sample, KMEANS6)
    review.adopt(review.cluster_again(ClusterSettings("kmeans", k=4)))
    review.rename(review.state.cluster_ids()[0], "named after re-clustering")
    review.undo()
    review.undo()  # back to k=6: the re-clustering (and its name) could still be redone
    assert review.settings == KMEANS6 and review.can_redo()
    outcome = review.rename(review.state.cluster_ids()[0], "a new step")
    assert "was set aside" in outcome.message and not review.can_redo()
    review.close()
    aside = [f for f in ReviewSession.saved_reviews(sample.corpus.path) if f.info.set_aside]
    assert aside
    reopened = ReviewSession.resume(sample, ReviewSession.find(sample, aside[0].review_id))
    assert reopened.redo() and reopened.redo()
    assert "named after re-clustering" in reopened.state.names.values()
    reopened.close()
