"""Saving a review after every action, atomically, and finding it again when the same file is reopened.

One review per input *content* (``corpus.fingerprint``) and text column lives in
``<data dir>/reviews/<fingerprint>-<column hash>/`` — the data dir is
``$QTUI_DATA_DIR`` or platformdirs' ``user_data_dir("qtui")``:

- ``state.json`` — the state file: a header line ``{"format", "version",
  "checksum", "length"}`` then the JSON payload it checks (BLAKE2b-128):
  input (path, fingerprint, columns, rows), model (options, identity), the
  row keys (:class:`engine.review_record.RowKeys`), the epochs (each a
  clustering's settings, base and action log with its undo cursor,
  ``next_id`` and, from version 3, the clustering's merge tree and the names
  and decisions given to its nodes) and which one is in effect, the ``ui`` dict, a progress summary
  and the save time.
- ``state.superseded-<time>.json`` — reviews set aside ("start a new review",
  opening an earlier one): listed by :func:`engine.review_files.list_reviews`,
  never deleted while they hold a decision.
- ``blobs/<blake2b>.bin`` — arrays too big to sit in the state file (the base
  labels and confidence, big selections), raw little-endian bytes named by
  the hash of their content; written once, atomically, before any state file
  names them, and checked against their name on load.  No pickle, no eval.
- ``lock`` — ``fcntl.flock``-ed by the process that may write; a second
  process gets the review read-only, with the holder's pid.

Why two kinds of file: every save rewrites only ``state.json``, whose size grows
with the number of actions (about 100 bytes each) but not with the corpus, plus
a blob for an action that carries more than :data:`INLINE_BYTES` of arrays —
so an action's save costs about the same at 100k rows as at 1k.  Each write
goes to a temporary file, is fsynced and renamed (:mod:`engine.atomic`): a kill
at any moment leaves the previous or the next state, losing at most the
action in progress.  A state file or blob that fails its check is renamed
aside (``state.json.corrupt-<time>``) and :class:`ReviewCorrupt` names both
paths; it is never silently replaced.  The input file is never written.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import threading
import time
from pathlib import Path

import numpy as np

from engine.atomic import atomic_write
from engine.errors import QtuiError, show_path
from engine.review import OPS, Action, ReviewError, ReviewState
from engine.review_info import (SET_ASIDE_GLOB, STATE_NAME, ReviewContext, ReviewInfo, SavedReview, review_key,
                                reviews_root)
from engine.review_record import Epoch, ReviewRecord, RowKeys

FORMAT = "qtui-review"
VERSION = 3  # 3: epochs hold their clustering's tree; tree-node names and decisions (2 still loads)
#: Arrays up to this many bytes are written inside the state file; bigger ones go to a blob.
INLINE_BYTES = 4096
#: dtype each array argument of an action is saved with (exact for what ReviewState holds).
ARRAY_DTYPES = {"rows": "<i4", "parts": "<i4", "targets": "<i4", "labels": "<i4", "sources": "|i1",
                "confidence": "<f4", "seen": "|i1"}
#: dtype each array of an epoch's tree is saved with.
TREE_DTYPES = {"merges": "<i4", "heights": "<f8", "row_leaf": "<i4", "leaf_sizes": "<i4", "leaf_first": "<i4"}


class ReviewCorrupt(QtuiError):
    """The saved review failed its check; it was renamed aside (both paths are in the message)."""

    exit_code = 2

    def __init__(self, message: str, path: Path, aside: Path | None) -> None:
        self.path, self.aside = path, aside
        super().__init__(message)


class ReviewReadOnly(ReviewError):
    """Another qtui process holds this review; it can be looked at, not changed."""


class ReviewSaveError(QtuiError):
    """A save failed (disk full, permissions); the state in memory is intact and the next save retries."""

    exit_code = 1


class ReviewTooNew(ReviewError):
    """The state file was written by a newer qtui with a format this one does not know."""


class ReviewStore:
    """The saved review of one input (content + text column); see the module docstring."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / STATE_NAME
        self.blob_dir = self.directory / "blobs"
        self.lock_path = self.directory / "lock"
        self.context: ReviewContext | None = None
        self.read_only = False
        self.holder_pid: int | None = None
        self.unwritable: str | None = None  # why the review directory cannot be written, if it cannot
        self.last_save_seconds = 0.0
        self._lock_fd: int | None = None
        self._blobs_known: set[str] = set()
        self._saving = threading.RLock()  # one save at a time (the app saves the selection from a thread)

    @classmethod
    def for_corpus(cls, corpus, root: Path | None = None) -> "ReviewStore":
        """The store of ``corpus``'s review (it may not exist yet)."""
        return cls(reviews_root(root) / review_key(corpus.fingerprint, corpus.text_col))

    def exists(self) -> bool:
        return self.path.exists()

    # ------------------------------------------------------------------ lock

    def acquire(self) -> bool:
        """Take the write lock; False (and ``read_only`` set) when another process holds it."""
        if self._lock_fd is not None:
            return True
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a read-only or missing data directory: nothing could be saved
            self.unwritable = f"{exc.strerror or exc}: {show_path(self.directory)}"
            self.read_only = True
            return False
        try:
            import fcntl
        except ImportError:  # pragma: no cover - no flock here: trust the single user
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                try:
                    self.holder_pid = int(os.read(fd, 32).decode().strip() or 0) or None
                except (OSError, ValueError):
                    self.holder_pid = None
                os.close(fd)
                self.read_only = True
                return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        os.fsync(fd)
        self._lock_fd = fd
        self.read_only = False
        self.holder_pid = None
        self._collect_garbage()
        return True

    @property
    def read_only_reason(self) -> str | None:
        """Why the review is read-only ('another qtui has this review open (pid N)', or the directory
        cannot be written), else None."""
        if not self.read_only:
            return None
        if self.unwritable:
            return f"opened read-only: reviews cannot be saved ({self.unwritable}); set QTUI_DATA_DIR to a writable folder"
        who = f" (pid {self.holder_pid})" if self.holder_pid else ""
        return f"opened read-only: another qtui has this review open{who}"

    def release(self) -> None:
        """Give the write lock back (it also goes when the process ends, however it ends).  A save in
        progress in another thread finishes first."""
        with self._saving:
            self._release()

    def _release(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "ReviewStore":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    # ------------------------------------------------------------------ saving

    def start(self, review: ReviewRecord | ReviewState, context: ReviewContext, keep_previous: bool = True) -> float:
        """Make ``review`` the saved review of ``context`` (a new one, or one carried over).

        With ``keep_previous`` an existing state file is set aside as ``state.superseded-<time>.json``
        (still listed and openable) rather than replaced.
        """
        self._need_writable()
        self.context = context
        if keep_previous:
            self.set_aside()
        return self.save(review)

    def set_aside(self) -> Path | None:
        """Rename the current state file to ``state.superseded-<time>.json`` (it stays listed); returns its
        new path, or None when there was none.  Set-aside files without a decision in them are removed."""
        self._need_writable()
        if not self.path.exists():
            return None
        aside = self.directory / f"state.superseded-{_stamp()}.json"
        os.replace(self.path, aside)
        for old in self.directory.glob(SET_ASIDE_GLOB):
            info = ReviewStore._info_of(old)
            if old != aside and info is not None and not info.problem and not info.has_decisions():
                with contextlib.suppress(OSError):
                    old.unlink()
        return aside

    def save_aside(self, record: ReviewRecord) -> Path:
        """Write ``record`` as a set-aside review (listed by ``qtui reviews``, openable again) and return its
        path; the current state file is not touched."""
        with self._saving:
            self._need_writable()
            aside = self.directory / f"state.superseded-{_stamp()}.json"
            self._save(record, aside)
            return aside

    def save(self, review: ReviewRecord | ReviewState) -> float:
        """Write ``review`` now (atomically); returns the seconds it took.  A bare state is saved as a
        review of one clustering, with the store's settings.

        Thread-safe: saves run one at a time, each writing the review as it is when it starts, so the
        last save to finish holds the latest state (the app saves the selection from a thread).
        """
        with self._saving:
            self._need_writable()
            if isinstance(review, ReviewState):
                if self.context is None:
                    raise ReviewError("the review store has no context: call start() or load() first")
                review = ReviewRecord.single(review, self.context.settings)
            return self._save(review)

    def _save(self, record: ReviewRecord, path: Path | None = None) -> float:
        t = time.perf_counter()
        path = self.path if path is None else path
        self._need_writable()
        if self.context is None:
            raise ReviewError("the review store has no context: call start() or load() first")
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        state = record.state
        progress = state.progress()
        epochs = []
        for epoch in record.epochs:
            actions, cursor = epoch.state.history()
            saved = {"settings": epoch.settings, "note": epoch.note, "base": self._base(epoch.state),
                     "actions": [self._record(a) for a in actions], "cursor": cursor, "next_id": epoch.state.next_id}
            if epoch.tree is not None:
                saved["tree"] = self._tree(epoch)
            epochs.append(saved)
        keys = None
        if record.row_keys is not None:
            keys = {"text": self._array(record.row_keys.text, "<u8")}
            if record.row_keys.ids is not None:
                keys["ids"] = self._array(record.row_keys.ids, "<u8")
        settings = record.epoch.settings
        payload = {
            "input": self.context.input, "model": self.context.model, "settings": settings,
            "row_keys": keys, "epochs": epochs, "current": record.current, "origin": record.origin,
            "ui": state.ui,
            "summary": {"reviewed": progress.reviewed, "clusters": progress.clusters,
                        "row_share": round(progress.row_share, 4), "actions": record.actions,
                        "named": len([c for c in state.names if state.exists(c)])},
            "saved_at": time.time(),
        }
        self.context.settings = settings
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        header = json.dumps({"format": FORMAT, "version": VERSION, "length": len(body),
                             "checksum": hashlib.blake2b(body, digest_size=16).hexdigest()}).encode()
        try:
            atomic_write(path, header + b"\n" + body)
        except OSError as exc:
            raise ReviewSaveError(f"{show_path(path)}: could not save the review ({exc.strerror or exc}); "
                                  f"the last change is kept in memory and saved with the next one that succeeds"
                                  ) from None
        self.last_save_seconds = time.perf_counter() - t
        return self.last_save_seconds

    def _base(self, state: ReviewState) -> dict:
        base = getattr(state, "_saved_base", None)
        if base is None:
            base = {"labels": self._array(state.base_labels, "<i4"),
                    "confidence": self._array(state.base_confidence, "<f2"),
                    "source": self._array(state.base_source, "|i1"),
                    "seen": self._array(state.base_seen, "|i1"),
                    "names": {str(k): v for k, v in state.base_names.items()},
                    "statuses": {str(k): v for k, v in state.base_statuses.items()}}
            if state.base_node_names or state.base_node_statuses:
                base["node_names"] = {str(k): v for k, v in state.base_node_names.items()}
                base["node_statuses"] = {str(k): v for k, v in state.base_node_statuses.items()}
            state._saved_base = base
        return base

    def _tree(self, epoch: Epoch) -> dict:
        saved = getattr(epoch, "_saved_tree", None)
        if saved is None:
            from engine.cluster_tree import tree_arrays

            arrays = tree_arrays(epoch.tree)
            saved = {k: self._array(np.ravel(arrays[k]), dtype) for k, dtype in TREE_DTYPES.items()}
            saved["base"] = int(epoch.tree.base)
            epoch._saved_tree = saved
        return saved

    def _need_writable(self) -> None:
        if self.read_only:
            raise ReviewReadOnly(self.read_only_reason or "read-only")
        if self._lock_fd is None:
            raise ReviewError("the review is not locked for writing: call acquire() first")

    def _record(self, action: Action) -> dict:
        record = getattr(action, "_saved_record", None)
        if record is None:
            args = {}
            for key, value in action.args.items():
                if isinstance(value, np.ndarray):
                    args[key] = self._array(value, ARRAY_DTYPES.get(key, "<i4"))
                else:
                    args[key] = value
            record = {"op": action.op, "args": args}
            action._saved_record = record
        return record

    def _array(self, values: np.ndarray, dtype: str) -> dict:
        data = np.ascontiguousarray(values, dtype=dtype).tobytes()
        if len(data) <= INLINE_BYTES:
            return {"dtype": dtype, "len": len(values), "b64": base64.b64encode(data).decode("ascii")}
        name = hashlib.blake2b(data, digest_size=16).hexdigest()
        if name not in self._blobs_known:
            target = self.blob_dir / f"{name}.bin"
            if not target.exists():
                try:
                    atomic_write(target, data)
                except OSError as exc:
                    raise ReviewSaveError(f"{show_path(target)}: could not save the review "
                                          f"({exc.strerror or exc}); the last change is kept in memory") from None
            self._blobs_known.add(name)
        return {"dtype": dtype, "len": len(values), "blob": name}

    # ------------------------------------------------------------------ loading

    def info(self) -> ReviewInfo | None:
        """What the saved review is (without replaying it), or None when there is none."""
        return self._info_of(self.path)

    @staticmethod
    def _info_of(path: Path) -> ReviewInfo | None:
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):  # no review (a folder on the way is missing or a file)
            return None
        except OSError as exc:
            return ReviewInfo(path, None, None, problem=exc.strerror or str(exc))
        try:
            payload = _parse(raw)
            return ReviewInfo(path, float(payload["saved_at"]), _context(payload), dict(payload["summary"]))
        except _Damaged as exc:
            return ReviewInfo(path, None, None, problem=str(exc))
        except (KeyError, TypeError, ValueError) as exc:
            return ReviewInfo(path, None, None, problem=f"unexpected content: {exc}")

    def load(self, corpus=None, path: Path | None = None) -> SavedReview:
        """Read, check and replay the saved review (or the set-aside one at ``path``); raises
        :class:`ReviewCorrupt` if it is damaged.

        With ``corpus`` the review must be of it (same content, text column
        and number of rows).  The store's context becomes the saved one.
        """
        path = self.path if path is None else Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ReviewError(f"{show_path(path)}: no saved review") from None
        try:
            payload = _parse(raw)
            if payload.get("_newer"):
                raise ReviewTooNew(f"{show_path(path)}: saved by a newer qtui (format {payload['_newer']}); "
                                   f"update qtui to open it")
            context = _context(payload)
            ui = dict(payload.get("ui") or {})
            if "epochs" in payload:
                raw_epochs, current = payload["epochs"], int(payload["current"])
            else:  # format 1: one clustering at the top level
                raw_epochs = [{"settings": payload["settings"], "base": payload["base"],
                               "actions": payload["actions"], "cursor": payload["cursor"],
                               "next_id": payload.get("next_id", 0)}]
                current = 0
            if not 0 <= current < len(raw_epochs):
                raise _Damaged(f"current clustering {current} outside the {len(raw_epochs)} saved")
            epochs = [self._epoch(e, ui) for e in raw_epochs]
            keys = payload.get("row_keys")
            row_keys = None if not keys else RowKeys(
                self._read_array(keys["text"]).astype(np.uint64),
                self._read_array(keys["ids"]).astype(np.uint64) if keys.get("ids") else None)
        except _Damaged as exc:
            raise self._set_aside(str(exc), path) from None
        except ReviewTooNew:
            raise
        except ReviewError as exc:
            raise self._set_aside(f"its actions do not replay: {exc}", path) from None
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise self._set_aside(f"unexpected content: {type(exc).__name__}: {exc}", path) from None
        record = ReviewRecord(epochs, current, row_keys, dict(payload.get("origin") or {}))
        if corpus is not None:
            expect = (corpus.fingerprint, corpus.text_col, len(corpus))
            got = (context.input.get("fingerprint"), context.input.get("text_col"), len(record.state))
            if expect != got:
                raise ReviewError(f"{show_path(path)}: the saved review is of another reading of the file "
                                  f"({got[2]} rows, text column {got[1]!r}; now {expect[2]} rows, {expect[1]!r})")
        self.context = context
        info = ReviewInfo(path, float(payload["saved_at"]), context, dict(payload["summary"]))
        return SavedReview(record, context, float(payload["saved_at"]), info)

    def _epoch(self, raw: dict, ui: dict) -> Epoch:
        base = raw["base"]
        labels = self._read_array(base["labels"])
        state = ReviewState(labels, self._read_array(base["confidence"]).astype(np.float32),
                            names={int(k): v for k, v in base.get("names", {}).items()},
                            statuses={int(k): v for k, v in base.get("statuses", {}).items()},
                            next_id=int(raw.get("next_id", 0)), ui=ui,
                            base_source=self._read_array(base["source"]) if "source" in base else None,
                            base_seen=self._read_array(base["seen"]).astype(bool) if "seen" in base else None,
                            node_names={int(k): v for k, v in base.get("node_names", {}).items()},
                            node_statuses={int(k): v for k, v in base.get("node_statuses", {}).items()})
        actions = [self._action(record) for record in raw["actions"]]
        cursor = int(raw["cursor"])
        if not 0 <= cursor <= len(actions):
            raise _Damaged(f"undo cursor {cursor} outside the log of {len(actions)} action{'s' * (len(actions) != 1)}")
        state.replay(actions, cursor)
        state._saved_base = base
        for action, record in zip(actions, raw["actions"]):
            action._saved_record = record  # saved again as read: its blobs exist
        epoch = Epoch(state, dict(raw["settings"]), str(raw.get("note") or ""), self._read_tree(raw, len(labels)))
        if epoch.tree is not None:
            epoch._saved_tree = raw["tree"]
        return epoch

    def _read_tree(self, raw: dict, n: int):
        """The epoch's saved tree (None in files before version 3); its rows are the embedded ones, so at most ``n``."""
        if "tree" not in raw:
            return None
        from engine.cluster_tree import tree_of_arrays

        arrays = {k: self._read_array(raw["tree"][k]) for k in TREE_DTYPES}
        tree = tree_of_arrays({**arrays, "base": raw["tree"]["base"]}, len(arrays["row_leaf"]))
        if tree is None or tree.n_rows > n:
            raise _Damaged("its clustering tree is inconsistent")
        return tree

    def _action(self, record: dict) -> Action:
        op = record["op"]
        if op not in OPS:
            raise _Damaged(f"unknown action {op!r}")
        args = {}
        for key, value in record["args"].items():
            if isinstance(value, dict) and "dtype" in value:
                array = self._read_array(value)
                args[key] = array.astype(np.float32 if key == "confidence" else
                                         np.int8 if key == "sources" else np.int64)
            else:
                args[key] = value
        for key in ("clusters", "created", "nodes"):
            if key in args and args[key] is not None:
                args[key] = [int(c) for c in args[key]]
        return Action(op, args)

    def _read_array(self, ref: dict) -> np.ndarray:
        dtype = np.dtype(ref["dtype"])
        if dtype.str not in ("<i4", "<f2", "<f4", "<f8", "|i1", "<u8"):
            raise _Damaged(f"unexpected array type {ref['dtype']!r}")
        if "b64" in ref:
            data = base64.b64decode(ref["b64"], validate=True)
        else:
            name = str(ref["blob"])
            path = self.blob_dir / f"{name}.bin"
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise _Damaged(f"missing data file {show_path(path)}") from None
            if hashlib.blake2b(data, digest_size=16).hexdigest() != name:
                aside = self._move_aside(path)
                raise _Damaged(f"data file {show_path(path)} failed its checksum"
                               + (f" (kept as {show_path(aside)})" if aside else ""))
        if len(data) != int(ref["len"]) * dtype.itemsize:
            raise _Damaged("an array has the wrong length")
        return np.frombuffer(data, dtype=dtype).copy()

    def _set_aside(self, reason: str, path: Path | None = None) -> ReviewCorrupt:
        path = self.path if path is None else path
        aside = None if self.read_only else self._move_aside(path)
        if aside is not None:
            msg = (f"{show_path(path)}: the saved review is damaged ({reason}); it was kept as "
                   f"{show_path(aside)} and a new review will start")
        else:
            msg = f"{show_path(path)}: the saved review is damaged ({reason}); it was left in place"
        return ReviewCorrupt(msg, path, aside)

    @staticmethod
    def _move_aside(path: Path) -> Path | None:
        aside = path.with_name(f"{path.name}.corrupt-{_stamp()}")
        try:
            os.replace(path, aside)
        except OSError:
            return None
        return aside

    def _collect_garbage(self) -> None:
        """Remove blobs no state file names (undone-then-replaced actions) and temporary files of killed saves."""
        with contextlib.suppress(OSError):
            for tmp in list(self.directory.glob(".*.tmp")) + list(self.blob_dir.glob(".*.tmp")):
                with contextlib.suppress(OSError):
                    tmp.unlink()
        if not self.blob_dir.is_dir():
            return
        used: set[str] = set()
        for head in self.directory.glob("state*"):  # current, superseded and set-aside state files
            try:
                text = head.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                return  # cannot tell what is used: keep everything
            used.update(part.split('"', 1)[0] for part in text.split('"blob":"')[1:])
        for blob in self.blob_dir.glob("*.bin"):
            if blob.stem not in used:
                with contextlib.suppress(OSError):
                    blob.unlink()


class _Damaged(Exception):
    pass


def _parse(raw: bytes) -> dict:
    """Check the header and checksum of a state file and return its payload."""
    newline = raw.find(b"\n")
    if newline < 0:
        raise _Damaged("no header line (truncated?)")
    try:
        header = json.loads(raw[:newline])
    except (ValueError, UnicodeDecodeError):
        raise _Damaged("unreadable header") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _Damaged("not a qtui review file")
    body = raw[newline + 1:]
    if len(body) != header.get("length"):
        raise _Damaged(f"{len(body)} bytes where {header.get('length')} were written (truncated?)")
    if hashlib.blake2b(body, digest_size=16).hexdigest() != header.get("checksum"):
        raise _Damaged("checksum mismatch")
    try:
        payload = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise _Damaged("unreadable content") from None
    if not isinstance(payload, dict):
        raise _Damaged("unexpected content")
    if int(header.get("version", 0)) > VERSION:
        payload["_newer"] = header.get("version")
    return payload


def _context(payload: dict) -> ReviewContext:
    return ReviewContext(dict(payload["input"]), dict(payload["model"]), dict(payload["settings"]))


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{time.time_ns() % 1_000_000_000:09d}"
