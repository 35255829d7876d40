"""Saving reviews: round trip, corruption set aside, the lock against a second process, kill -9, timings."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from engine.clustering import ClusterSettings
from engine.options import ModelOptions
from engine.review import ACCEPTED, ReviewError, ReviewState, same_snapshot
from engine.review_files import list_reviews
from engine.review_info import ReviewContext, review_key
from engine.review_store import INLINE_BYTES, ReviewCorrupt, ReviewReadOnly, ReviewStore

ROOT = Path(__file__).resolve().parent.parent



class Corpus:
    def __init__(self, n: int, fingerprint: str = "f" * 32, text_col: str = "text") -> None:
        self.path, self.fingerprint, self.text_col = Path("/data/input.jsonl"), fingerprint, text_col
        self.id_col, self.label_col, self.encoding, self.n = "id", None, "utf-8", n

    def __len__(self) -> int:
        return self.n


def make_state(n: int, k: int = 20, seed: int = 0) -> ReviewState:
    rng = np.random.default_rng(seed)
    labels = rng.integers(-1, k, n)
    labels[rng.choice(n, max(1, n // 100), replace=False)] = -2
    return ReviewState(labels, rng.random(n))


def context_for(corpus) -> ReviewContext:
    return ReviewContext.of(corpus, ClusterSettings("kmeans", k=20), ModelOptions(model=None, device="cpu"),
                            {"name": "all-MiniLM-L6-v2", "dim": 384})


MUTATORS = {"rename", "set_status", "merge", "split", "move", "to_noise", "new_cluster", "apply_proposals",
            "assign", "undo", "redo", "set_ui"}


class Autosaved:
    """A review state that is saved after every change, as :class:`engine.review_session.ReviewSession`
    saves it (store-level tests need no corpus, model or clustering)."""

    def __init__(self, state: ReviewState, store: ReviewStore) -> None:
        self._state, self._store = state, store

    def __len__(self) -> int:
        return len(self._state)

    def __getattr__(self, name):
        value = getattr(self._state, name)
        if name not in MUTATORS:
            return value

        def saving(*args, **kwargs):
            result = value(*args, **kwargs)
            self._store.save(self._state)
            return result

        return saving


def saving(corpus, state: ReviewState) -> tuple[ReviewStore, Autosaved]:
    """A store that holds the lock, and ``state`` saved after every change from now on."""
    store = ReviewStore.for_corpus(corpus)
    assert store.acquire()
    store.start(state, context_for(corpus))
    return store, Autosaved(state, store)


def some_actions(state: ReviewState, rng: np.random.Generator, count: int, start: int = 0) -> None:
    movable = np.flatnonzero(state.base_labels != -2)
    for i in range(start, start + count):
        ids = state.cluster_ids()
        kind = i % 6
        if kind == 0:
            state.rename(int(rng.choice(ids)), f"名前 {i} 😀, \"quoted\"")
        elif kind == 1:
            state.set_status(rng.choice(ids, 2, replace=False).tolist(), ACCEPTED)
        elif kind == 2:
            state.move(rng.choice(movable, 7, replace=False), int(rng.choice(ids)))
        elif kind == 3 and len(ids) > 3:
            state.merge(rng.choice(ids, 2, replace=False).tolist())
        elif kind == 4:
            big = max(ids, key=state.size)
            state.split(big, rng.integers(0, 3, state.size(big)))
        else:
            state.to_noise(rng.choice(movable, 3, replace=False))


def test_selection_saved_from_a_thread_never_overwrites_newer_actions(data_dir, monkeypatch):
    """The app saves the selection from a thread while the person keeps acting.  On a slow disk that
    save (the state before the action) would finish after the action's own save and undo it on disk;
    saves run one at a time, so the file ends with the action and the selection."""
    import engine.review_store as review_store

    corpus = Corpus(3000)
    store, state = saving(corpus, make_state(3000))
    writing = threading.Event()
    real_write = review_store.atomic_write

    def slow_disk(path, data):
        if threading.current_thread() is not threading.main_thread():
            writing.set()
            time.sleep(0.3)
        real_write(path, data)

    monkeypatch.setattr(review_store, "atomic_write", slow_disk)
    thread = threading.Thread(target=lambda: state.set_ui(cluster=5, row=99))
    thread.start()
    assert writing.wait(10)
    some_actions(state, np.random.default_rng(2), 1)  # a rename, saved while the selection is being written
    thread.join()
    expected = state.snapshot()
    store.release()
    again = ReviewStore.for_corpus(corpus)
    assert again.acquire()
    saved = again.load(corpus).state
    assert same_snapshot(saved.snapshot(), expected)
    assert len(saved.done) == 1 and saved.ui == {"cluster": 5, "row": 99}
    again.release()


def test_round_trip_restores_state_history_and_ui(data_dir):
    corpus = Corpus(3000)
    store, state = saving(corpus, make_state(3000))
    some_actions(state, np.random.default_rng(1), 30)
    rows = np.flatnonzero(state.labels == -1)[:400]  # a big action goes to a blob
    state.apply_proposals(rows, np.full(len(rows), state.cluster_ids()[0]), np.linspace(0.5, 1, len(rows)))
    state.undo()
    state.undo()
    state.set_ui(cluster=3, row=17, tab="members", sort="size")
    expected = state.snapshot()
    store.release()

    again = ReviewStore.for_corpus(corpus)
    assert again.acquire()
    saved = again.load(corpus)
    s = saved.state
    assert same_snapshot(s.snapshot(), expected)
    assert s.ui == {"cluster": 3, "row": 17, "tab": "members", "sort": "size"}
    assert len(s.done) == 29 and len(s.undone) == 2
    assert saved.context.cluster_settings() == ClusterSettings("kmeans", k=20)
    assert saved.context.model_options().device is None  # the machine's choice is not kept
    assert s.redo() and s.redo() and not s.can_redo
    assert (s.source == 2).sum() == len(rows)
    while s.undo():
        pass
    assert np.array_equal(s.labels, state.base_labels)
    assert "/31 " not in saved.info.describe() and "clusters reviewed" in saved.info.describe()
    assert any(again.blob_dir.iterdir()), "the 400-row action should be in a blob"


def test_review_info_summary_line(data_dir):
    corpus = Corpus(500)
    assert ReviewStore.for_corpus(corpus).info() is None
    state = make_state(500, k=10)
    with ReviewStore.for_corpus(corpus) as store:
        store.start(state, context_for(corpus))
        state.set_status([0, 1, 2], ACCEPTED)
        store.save(state)
    info = ReviewStore.for_corpus(corpus).info()
    line = info.describe()
    assert line.startswith("3/10 clusters reviewed (1 action), saved just now, kmeans k=20"), line
    assert info.describe(now=info.saved_at + 7300).endswith("saved 2 h ago, kmeans k=20")
    assert ReviewStore.for_corpus(Corpus(500, text_col="other")).info() is None  # another column, another review


def test_reviews_are_listed_by_content_and_by_path(tmp_path, data_dir):
    data = tmp_path / "in.txt"
    data.write_bytes(b"one\ntwo\n")
    from engine.review_info import file_fingerprint

    corpus = Corpus(2, fingerprint=file_fingerprint(data))
    corpus.path = data
    with ReviewStore.for_corpus(corpus) as store:
        store.start(ReviewState(np.array([0, 0])), context_for(corpus))
    found = list_reviews(data)
    assert [f.store.directory.name for f in found] == [review_key(corpus.fingerprint, "text")]
    assert found[0].same_content and not found[0].info.set_aside
    assert list_reviews(data, text_col="body") == []
    data.write_bytes(b"one\ntwo\nthree\n")  # other content: the review is found by its path
    found = list_reviews(data)
    assert len(found) == 1 and not found[0].same_content


def saved_store(n: int = 2000, big_action: bool = True) -> tuple[ReviewStore, Corpus]:
    corpus = Corpus(n)
    state = make_state(n)
    store = ReviewStore.for_corpus(corpus)
    store.acquire()
    store.start(state, context_for(corpus))
    state = Autosaved(state, store)
    some_actions(state, np.random.default_rng(2), 12)
    if big_action:
        rows = np.flatnonzero(state.labels == -1)[: INLINE_BYTES // 2]
        state.apply_proposals(rows, np.full(len(rows), state.cluster_ids()[0]), np.ones(len(rows)))
    store.release()
    return store, corpus


@pytest.mark.parametrize("damage", ["flip", "truncate", "header", "empty"])
def test_damaged_state_file_is_set_aside_and_reported(damage):
    store, corpus = saved_store()
    raw = store.path.read_bytes()
    if damage == "flip":
        i = len(raw) * 2 // 3
        bad = raw[:i] + bytes([raw[i] ^ 0x20]) + raw[i + 1:]
    elif damage == "truncate":
        bad = raw[: len(raw) - 100]
    elif damage == "header":
        bad = b"garbage" + raw[7:]
    else:
        bad = b""
    store.path.write_bytes(bad)
    fresh = ReviewStore.for_corpus(corpus)
    assert fresh.acquire()
    assert fresh.info().problem  # the resume prompt can say so before loading
    with pytest.raises(ReviewCorrupt) as caught:
        fresh.load(corpus)
    err = caught.value
    assert not store.path.exists(), "the damaged file must not stay where a new save would replace it"
    assert err.aside.exists() and err.aside.read_bytes() == bad
    assert str(store.path) in str(err) and str(err.aside) in str(err)
    assert err.aside.name.startswith("state.json.corrupt-")
    # a new review can start; the damaged one stays aside
    fresh.start(make_state(corpus.n), context_for(corpus))
    assert err.aside.exists() and fresh.path.exists()


def test_damaged_blob_is_detected():
    store, corpus = saved_store()
    blob = next(store.blob_dir.glob("*.bin"))
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    fresh = ReviewStore.for_corpus(corpus)
    assert fresh.acquire()
    with pytest.raises(ReviewCorrupt, match="failed its checksum"):
        fresh.load(corpus)
    assert not fresh.path.exists() and list(fresh.directory.glob("state.json.corrupt-*"))
    assert list(fresh.blob_dir.glob("*.bin.corrupt-*"))


def test_read_only_load_leaves_a_damaged_file_in_place():
    store, corpus = saved_store(big_action=False)
    store.path.write_bytes(store.path.read_bytes()[:-5])
    reader = ReviewStore.for_corpus(corpus)
    reader.read_only = True
    with pytest.raises(ReviewCorrupt, match="left in place"):
        reader.load(corpus)
    assert store.path.exists()


def test_review_of_another_reading_of_the_file_is_refused():
    store, corpus = saved_store(big_action=False)
    other = ReviewStore.for_corpus(corpus)
    with pytest.raises(ReviewError, match="another reading"):
        other.load(Corpus(corpus.n + 1))


def test_superseded_state_is_kept_when_a_new_base_starts():
    store, corpus = saved_store(big_action=False)
    store.acquire()
    store.start(make_state(corpus.n, seed=5), context_for(corpus))
    assert len(list(store.directory.glob("state.superseded-*.json"))) == 1
    store.release()


def test_unused_blobs_and_temporary_files_are_cleaned_on_acquire():
    store, corpus = saved_store()
    stray = store.blob_dir / ("0" * 32 + ".bin")
    stray.write_bytes(b"x")
    tmp = store.directory / ".state.json.abcd1234.tmp"
    tmp.write_bytes(b"half")
    used = sorted(p.name for p in store.blob_dir.glob("*.bin") if p != stray)
    again = ReviewStore.for_corpus(corpus)
    again.acquire()
    assert not stray.exists() and not tmp.exists()
    assert sorted(p.name for p in again.blob_dir.glob("*.bin")) == used
    again.load(corpus)


HOLDER = textwrap.dedent("""
    import sys, time
    from engine.review_store import ReviewStore
    store = ReviewStore(sys.argv[1])
    print("locked" if store.acquire() else "busy", flush=True)
    time.sleep(60)
""")


def test_second_process_gets_the_review_read_only(tmp_path):
    store, corpus = saved_store(big_action=False)
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    child = subprocess.Popen([sys.executable, str(script), str(store.directory)], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert child.stdout.readline().strip() == "locked"
        mine = ReviewStore.for_corpus(corpus)
        assert mine.acquire() is False
        assert mine.read_only and mine.holder_pid == child.pid
        assert mine.read_only_reason == f"opened read-only: another qtui has this review open (pid {child.pid})"
        saved = mine.load(corpus)  # reading is fine
        saved.state.set_ui(cluster=1)  # browsing still works, nothing is written
        with pytest.raises(ReviewReadOnly):
            mine.save(saved.state)
    finally:
        child.kill()
        child.wait()
    again = ReviewStore.for_corpus(corpus)
    assert again.acquire(), "the lock goes with the process, however it ends"


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from engine.review import ReviewState
    from engine.review_info import ReviewContext
    from engine.review_store import ReviewStore
    sys.path.insert(0, sys.argv[3])
    from test_review_store import Autosaved, Corpus, context_for, deterministic_action

    n = int(sys.argv[2])
    store = ReviewStore(sys.argv[1])
    assert store.acquire()
    if store.exists():
        state = store.load().state
    else:
        state = ReviewState(np.arange(n) % 50, np.full(n, 0.5))
        store.start(state, context_for(Corpus(n)))
    state = Autosaved(state, store)
    i = len(state.done)
    while True:
        deterministic_action(state, i)  # saved before it returns
        print(i, flush=True)
        i += 1
""")


def deterministic_action(state: ReviewState, i: int) -> None:
    """Action number ``i`` of the kill -9 test (the same whoever runs it)."""
    rng = np.random.default_rng(i)
    n = len(state)
    ids = state.cluster_ids()  # big moves can empty a cluster: act only on clusters that exist
    if i % 4 == 0:
        state.rename(ids[i % len(ids)], f"name {i}")
    elif i % 4 == 1:
        state.move(rng.choice(n, 5, replace=False), ids[(i * 7) % len(ids)])
    elif i % 4 == 2:
        state.set_status([ids[i % len(ids)]], "accepted" if i % 3 else "rejected")
    else:
        state.move(rng.choice(n, 2000, replace=False), ids[(i * 3) % len(ids)])  # big: a blob each time


def test_kill_minus_9_during_saves_loses_at_most_the_action_in_progress(tmp_path, record):
    n = 20_000
    directory = tmp_path / "review"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rnd = random.Random(7)
    printed_total = -1
    for round_ in range(6):
        child = subprocess.Popen([sys.executable, str(script), str(directory), str(n), str(Path(__file__).parent)],
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})
        last = [printed_total]

        def follow():
            for line in child.stdout:
                last[0] = int(line)

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        deadline = time.time() + 60
        while last[0] == printed_total and time.time() < deadline and child.poll() is None:
            time.sleep(0.01)
        assert child.poll() is None, child.stderr.read()
        time.sleep(rnd.uniform(0.0, 0.4))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        reader.join(5)
        printed = last[0]
        store = ReviewStore(directory)
        assert store.acquire()
        state = store.load().state  # always loadable
        done = len(state.done)
        # every printed action was saved; at most one more (saved, killed before printing)
        assert printed + 1 <= done <= printed + 2, (printed, done)
        expected = ReviewState(np.arange(n) % 50, np.full(n, 0.5))
        for i in range(done):
            deterministic_action(expected, i)
        assert same_snapshot(state.snapshot(), expected.snapshot())
        store.release()
        printed_total = done - 1
    record(f"kill -9 test: 6 kills, {printed_total + 1} actions saved at {n:,} rows, every one loadable and complete")


@pytest.mark.parametrize("n", [10_000, 100_000])
def test_autosave_time_per_action(n, record):
    corpus = Corpus(n)
    state = make_state(n, k=60)
    store = ReviewStore.for_corpus(corpus)
    store.acquire()
    first = store.start(state, context_for(corpus))
    state = Autosaved(state, store)
    rng = np.random.default_rng(3)
    times = []
    kinds = []
    for i in range(60):  # renames, statuses, moves, merges, splits of the biggest cluster, sends to noise
        some_actions(state, rng, 1, start=i)
        times.append(store.last_save_seconds)
        kinds.append(state.done[-1].op)
    t = time.perf_counter()
    store.load(corpus)
    load = time.perf_counter() - t
    ms = np.array(times) * 1e3
    assert {"rename", "set_status", "move", "merge", "split", "to_noise"} <= set(kinds)
    record(f"autosave at {n:,} rows: median {np.median(ms):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, "
           f"max {ms.max():.1f} ms per action (first save with base arrays {first * 1e3:.0f} ms; "
           f"state file {store.path.stat().st_size / 1024:.0f} KiB after 60 actions; load+replay {load * 1e3:.0f} ms)")
    assert np.median(ms) < 500  # generous: fsync on a busy shared disk


def test_a_failed_save_keeps_the_change_and_the_next_save_catches_up(monkeypatch):
    import engine.review_store as rs

    corpus = Corpus(100)
    state = make_state(100, k=5)
    store = ReviewStore.for_corpus(corpus)
    store.acquire()
    store.start(state, context_for(corpus))
    state = Autosaved(state, store)
    real = rs.atomic_write

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rs, "atomic_write", full)
    with pytest.raises(rs.ReviewSaveError, match="No space left on device"):
        state.rename(0, "kept")
    assert state.name(0) == "kept"
    monkeypatch.setattr(rs, "atomic_write", real)
    state.rename(1, "next")
    saved = ReviewStore.for_corpus(corpus).load(corpus).state
    assert saved.name(0) == "kept" and saved.name(1) == "next"


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.test_review import bases, random_step  # noqa: E402


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=bases(), data=st.data())
def test_random_reviews_survive_save_and_load_with_their_history(base, data, tmp_path_factory):
    labels, conf = base
    state = ReviewState(labels, conf)
    corpus = Corpus(len(labels))
    store = ReviewStore(tmp_path_factory.mktemp("prop") / "review")
    store.acquire()
    store.start(state, context_for(corpus))
    state = Autosaved(state, store)
    for _ in range(data.draw(st.integers(0, 15))):
        random_step(state, data)
    store.release()
    state = state._state  # compared from here on, no longer saved
    loaded = ReviewStore(store.directory).load(corpus).state
    assert same_snapshot(loaded.snapshot(), state.snapshot())
    assert loaded.next_id == state.next_id
    while state.redo():
        assert loaded.redo()
        assert same_snapshot(loaded.snapshot(), state.snapshot())
    while state.undo():
        assert loaded.undo()
    assert same_snapshot(loaded.snapshot(), state.snapshot())
    assert np.array_equal(loaded.labels, labels)


def test_a_data_directory_that_cannot_be_written_opens_read_only_with_the_reason(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data directory should be")
    store = ReviewStore(blocker / "reviews" / "abc")
    assert store.info() is None  # no saved review there (and none could be)
    assert store.acquire() is False
    assert store.read_only and "cannot be saved" in store.read_only_reason
    assert "not-a-folder" in store.read_only_reason and "QTUI_DATA_DIR" in store.read_only_reason
    with pytest.raises(ReviewReadOnly):
        store.save(ReviewState(np.array([0, 0, 1, 1])))  # nothing is written
    assert blocker.read_text() == "a file where the data directory should be"
