"""Loaded corpora kept between runs: reopening an unchanged file skips parsing it.

:func:`~engine.loading.load` is deterministic: its result depends only on the
file's bytes, the load options and the loading code.  So it is stored under a
hash of these (the bytes are hashed anyway: that is the corpus fingerprint)
with the BLAKE2b digest of every text, which the cache lookups of the embed step
need.  An entry is an ``.npz`` file (no pickle): the frame as Arrow IPC bytes,
texts and ids as a second one, lines, skipped records and notices; written
atomically under ``<cache root>/corpora/`` (:class:`~engine.npz_cache.NpzCache`); a damaged one
is ignored and the file parsed again.  A warm reopen reads the entry instead of parsing the file and
hashing its texts again.

Also kept here, under ``<cache root>/notes/``: which texts the model cuts short
and the language warning (:func:`cached_notes`), which depend on the texts and
the model only.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl

from engine.cache import text_hashes
from engine.corpus import Corpus, SkippedRow
from engine.file_bytes import read_bytes
from engine.loading import load
from engine.npz_cache import NpzCache, code_digest
from engine.options import LoadOptions

#: Corpora and notes kept; the least recently used beyond this are removed.
KEPT = 8
_CODE = ("engine.corpus_cache", "engine.loading", "engine.json_records", "engine.delimited", "engine.decoding",
         "engine.file_bytes", "engine.corpus", "engine.parsed")
#: What the notes depend on besides the texts and the model identity.
_NOTES_CODE = ("engine.languages", "engine.embedder", "engine.st_embedder", "engine.onnx_embedder",
               "engine.corpus_cache")
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
    cache, key = NpzCache(root, "corpora", KEPT), _key(raw, options)
    corpus = cache.read(key, lambda arrays: _decode(arrays, path))
    if corpus is not None:
        return corpus
    corpus = load(path, options, raw=raw)
    corpus.text_hashes = text_hashes(corpus.texts)
    _write(cache, key, corpus)
    return corpus


def cached_notes(hashes: np.ndarray, identity: dict, compute: Callable[[], tuple[np.ndarray, str | None]],
                 root: Path | None) -> tuple[np.ndarray, str | None]:
    """``compute()`` — (which texts the model cuts short, the language warning) — read from ``<root>/notes/``
    when it was computed for the same texts (``hashes``, in order) and model ``identity``."""
    if root is None:
        return compute()
    h = hashlib.blake2b(np.ascontiguousarray(hashes).tobytes(), digest_size=16)
    h.update(json.dumps(identity, sort_keys=True, default=str).encode())
    h.update(code_digest(*_NOTES_CODE))
    cache, key = NpzCache(root, "notes", KEPT), h.hexdigest()

    def decode(arrays) -> tuple[np.ndarray, str | None] | None:
        truncated = arrays["truncated"].astype(bool)
        return (truncated, json.loads(str(arrays["warning"]))) if truncated.shape == (len(hashes),) else None

    found = cache.read(key, decode)
    if found is not None:
        return found
    truncated, warning = compute()
    cache.write(key, truncated=np.asarray(truncated, dtype=bool), warning=np.asarray(json.dumps(warning)))
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


def _write(cache: NpzCache, key: str, corpus: Corpus) -> None:
    try:  # a column polars cannot write (Python objects) or a text it cannot hold: not kept, still returned
        frame = _ipc(corpus.frame)
        strings = _ipc(pl.DataFrame({"texts": corpus.texts, "ids": corpus.ids}, schema={"texts": pl.String,
                                                                                       "ids": pl.String}))
    except Exception:  # noqa: BLE001 - caching is optional
        return
    scalars = {name: getattr(corpus, name) for name in _SCALARS}
    cache.write(key, frame=frame, strings=strings, lines=np.asarray(corpus.lines, dtype=np.int64),
                hashes=corpus.text_hashes, skipped_lines=np.asarray([s.line for s in corpus.skipped], dtype=np.int64),
                skipped_reasons=np.asarray(json.dumps([s.reason for s in corpus.skipped])),
                scalars=np.asarray(json.dumps(scalars)), fingerprint=np.asarray(corpus.fingerprint))


def _decode(arrays, source: Path) -> Corpus | None:
    frame = pl.read_ipc(io.BytesIO(arrays["frame"].tobytes()))
    strings = pl.read_ipc(io.BytesIO(arrays["strings"].tobytes()))
    lines, hashes = arrays["lines"], arrays["hashes"]
    reasons = json.loads(str(arrays["skipped_reasons"]))
    skipped = [SkippedRow(int(line), reason) for line, reason in zip(arrays["skipped_lines"].tolist(), reasons)]
    scalars = json.loads(str(arrays["scalars"]))
    n = frame.height
    if strings.height != n or lines.shape != (n,) or hashes.shape != (n, 16) or set(scalars) != set(_SCALARS):
        return None
    return Corpus(path=source, frame=frame, ids=strings.get_column("ids").to_list(),
                  texts=strings.get_column("texts").to_list(), lines=lines.astype(np.int64), skipped=skipped,
                  fingerprint=str(arrays["fingerprint"]), text_hashes=hashes, **scalars)
