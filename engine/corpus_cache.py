"""Loaded corpora kept between runs: reopening an unchanged file skips parsing it.

:func:`~engine.loading.load` is deterministic: its result depends only on the
file's bytes, the load options and the loading code.  So it is stored under a
hash of these (the bytes are hashed anyway: that is the corpus fingerprint)
with the BLAKE2b digest of every text, which the cache lookups of the embed step
need.  An entry is an ``.npz`` file (no pickle): the frame as Arrow IPC bytes,
texts and ids as a second one, lines, skipped records and notices; written
atomically under ``<cache root>/corpora/``; a damaged one is ignored and the
file parsed again.  At 100k rows of JSON Lines this turns the 1.4 s parse (and
0.17 s of hashing) of a warm reopen into a 0.1 s read.

Also kept here, under ``<cache root>/notes/``: which texts the model cuts short
and the language warning (:func:`cached_notes`), which depend on the texts and
the model only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl

from engine.atomic import store_npz
from engine.cache import code_digest, text_hashes
from engine.corpus import Corpus, SkippedRow
from engine.file_bytes import read_bytes
from engine.loading import load
from engine.options import LoadOptions

#: Corpora and notes kept; the least recently used beyond this are removed.
KEPT = 8
_CODE = ("corpus_cache.py", "loading.py", "json_records.py", "delimited.py", "decoding.py", "file_bytes.py",
         "corpus.py", "parsed.py")
#: Fields of a :class:`Corpus` kept as JSON.
_SCALARS = ("text_col", "id_col", "encoding", "file_format", "label_col", "notices")


def cached_load(path: str | Path, options: LoadOptions | None, root: Path | None) -> Corpus:
    """``load(path, options)``, read from ``<root>/corpora/`` when the same bytes were loaded the same way
    before; ``root`` None: no cache.  The corpus carries the digests of its texts (``text_hashes``)."""
    options = options or LoadOptions()
    path = Path(path)
    if root is None:
        return load(path, options)
    raw = read_bytes(path)
    entry = Path(root) / "corpora" / f"{_key(raw, options)}.npz"
    corpus = _read(entry, path)
    if corpus is not None:
        return corpus
    corpus = load(path, options, raw=raw)
    corpus.text_hashes = text_hashes(corpus.texts)
    _write(entry, corpus)
    return corpus


def cached_notes(hashes: np.ndarray, identity: dict, compute: Callable[[], tuple[np.ndarray, str | None]],
                 root: Path | None) -> tuple[np.ndarray, str | None]:
    """``compute()`` — (which texts the model cuts short, the language warning) — read from ``<root>/notes/``
    when it was computed for the same texts (``hashes``, in order) and model ``identity``."""
    if root is None:
        return compute()
    h = hashlib.blake2b(np.ascontiguousarray(hashes).tobytes(), digest_size=16)
    h.update(json.dumps(identity, sort_keys=True, default=str).encode())
    h.update(code_digest("languages.py", "st_embedder.py", "onnx_embedder.py", "corpus_cache.py"))
    path = Path(root) / "notes" / f"{h.hexdigest()}.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            truncated = data["truncated"].astype(bool)
            warning = json.loads(str(data["warning"]))
        if truncated.shape == (len(hashes),):
            _touch(path)
            return truncated, warning
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):  # absent or damaged: compute again
        pass
    truncated, warning = compute()
    store_npz(path, KEPT, truncated=np.asarray(truncated, dtype=bool), warning=np.asarray(json.dumps(warning)))
    return truncated, warning


def _key(raw: bytes, options: LoadOptions) -> str:
    h = hashlib.blake2b(raw, digest_size=16)
    h.update(json.dumps(asdict(options), sort_keys=True).encode())
    h.update(code_digest(*_CODE))
    h.update(pl.__version__.encode())
    return h.hexdigest()


def _ipc(frame: pl.DataFrame) -> np.ndarray:
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="uncompressed")
    return np.frombuffer(buffer.getvalue(), dtype=np.uint8)


def _write(path: Path, corpus: Corpus) -> None:
    try:  # a column polars cannot write (Python objects) or a text it cannot hold: not kept, still returned
        frame = _ipc(corpus.frame)
        strings = _ipc(pl.DataFrame({"texts": corpus.texts, "ids": corpus.ids}, schema={"texts": pl.String,
                                                                                       "ids": pl.String}))
    except Exception:  # noqa: BLE001 - caching is optional
        return
    scalars = {name: getattr(corpus, name) for name in _SCALARS}
    store_npz(path, KEPT, frame=frame, strings=strings, lines=np.asarray(corpus.lines, dtype=np.int64),
              hashes=corpus.text_hashes, skipped_lines=np.asarray([s.line for s in corpus.skipped], dtype=np.int64),
              skipped_reasons=np.asarray(json.dumps([s.reason for s in corpus.skipped])),
              scalars=np.asarray(json.dumps(scalars)), fingerprint=np.asarray(corpus.fingerprint))


def _read(path: Path, source: Path) -> Corpus | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            frame = pl.read_ipc(io.BytesIO(data["frame"].tobytes()))
            strings = pl.read_ipc(io.BytesIO(data["strings"].tobytes()))
            lines, hashes = data["lines"], data["hashes"]
            reasons = json.loads(str(data["skipped_reasons"]))
            skipped = [SkippedRow(int(line), reason) for line, reason in zip(data["skipped_lines"].tolist(), reasons)]
            scalars = json.loads(str(data["scalars"]))
            fingerprint = str(data["fingerprint"])
    except Exception:  # noqa: BLE001 - absent or damaged (zip, npy, Arrow or JSON errors): parse the file again
        return None
    n = frame.height
    if strings.height != n or lines.shape != (n,) or hashes.shape != (n, 16) or set(scalars) != set(_SCALARS):
        return None
    _touch(path)
    return Corpus(path=source, frame=frame, ids=strings.get_column("ids").to_list(),
                  texts=strings.get_column("texts").to_list(), lines=lines.astype(np.int64), skipped=skipped,
                  fingerprint=fingerprint, text_hashes=hashes, **scalars)


def _touch(path: Path) -> None:
    try:
        os.utime(path)  # recently used: kept when older entries are removed
    except OSError:
        pass
