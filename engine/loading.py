"""Read text files (.jsonl/.ndjson/.json, .csv/.tsv, .txt, .parquet, optionally gzipped) into a :class:`Corpus`.

Every file is treated as possibly hostile.  Every record that cannot be used
is listed with its line and the reason; the load goes on with the valid
records unless ``strict`` is set.  Problems with the file as a whole raise
:class:`~engine.errors.InputError` with a one-line message naming the file,
the line or column, and what to do.

The steps live in their own modules: :mod:`engine.file_bytes` (reading the
bytes, gzip, the format), :mod:`engine.decoding` (bytes to text),
:mod:`engine.delimited` (CSV/TSV), :mod:`engine.json_records` (JSON Lines and
JSON); this module parses plain text and Parquet, chooses the text, id and
label columns and builds the :class:`Corpus`.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from engine.corpus import Corpus, SkippedRow
from engine.decoding import decode, refuse_binary, split_lines
from engine.delimited import parse_delimited
from engine.errors import InputError, first_line, shorten
from engine.file_bytes import detect_format, gunzip, read_bytes, sniff_format
from engine.json_records import parse_json_array, parse_jsonl
from engine.options import LoadOptions
from engine.parsed import Parsed

#: Column names taken as the text column, in order of preference (case-insensitive).
TEXT_COLUMN_NAMES = (
    "text", "content", "comment", "comments", "review", "body", "sentence", "message",
    "utterance", "question", "query", "description", "summary", "headline", "title",
)
#: Column names taken as the id column (case-insensitive).
ID_COLUMN_NAMES = ("id",)


def load(path: str | Path, options: LoadOptions | None = None, raw: bytes | None = None) -> Corpus:
    """Load ``path`` into a :class:`Corpus` (see the module docstring for formats and errors).

    ``raw``: the file's bytes when the caller has read them already."""
    opts = options or LoadOptions()
    path = Path(path)
    raw = read_bytes(path) if raw is None else raw
    fingerprint = hashlib.blake2b(raw, digest_size=16).hexdigest()
    fmt = opts.file_format or detect_format(path)
    if raw[:2] == b"\x1f\x8b":
        raw = gunzip(path, raw)
    notices: list[str] = []
    if fmt is None:
        fmt = sniff_format(raw)
        notices.append(f"format guessed as {fmt} from the content")
    if not raw.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise InputError(path, "the file is empty: no records" if not raw else "the file holds no records, only blank space",
                         hint=_EXPECTED.get(fmt, "expected one text per record"))

    if fmt == "parquet":
        parsed = _parse_parquet(path, raw)
        encoding = "binary"
    else:
        refuse_binary(path, raw, opts.encoding)
        text, encoding = decode(path, raw, opts.encoding, notices)
        if fmt == "jsonl":
            parsed = parse_jsonl(path, text, notices)
        elif fmt == "json":
            parsed = parse_json_array(path, text, notices)
        elif fmt in ("csv", "tsv"):
            parsed = parse_delimited(path, text, "\t" if fmt == "tsv" else None, notices)
        else:
            parsed, blank = _parse_txt(text)
            if blank:
                notices.append(f"{blank} blank line{'s' * (blank != 1)} ignored")
    frame, lines, numbers, skipped = parsed.frame, parsed.lines, parsed.numbers, parsed.skipped

    if opts.strict and skipped:
        first = skipped[0]
        raise InputError(path, first.reason, line=first.line,
                         hint=f"{len(skipped)} bad record(s); drop --strict to skip them")
    if frame.width == 0:
        if skipped:
            raise InputError(path, f"no usable records; first problem: {skipped[0].reason}", line=skipped[0].line,
                             hint=_all_unusable(len(skipped)))
        if parsed.records > 0:
            raise InputError(path, "the only record has no fields" if parsed.records == 1
                             else f"the {parsed.records:,} records have no fields",
                             hint='expected objects such as {"text": "..."}')
        raise InputError(path, "the file holds no records", hint=_EXPECTED.get(fmt, "expected one text per record"))

    text_col = _choose_text_column(path, frame, opts.text_col, avoid=(opts.id_col, opts.label_col))
    id_col = _choose_id_column(path, frame, opts.id_col, text_col)
    label_col = _check_column(path, frame, opts.label_col, "--label-col") if opts.label_col else None
    dtype = frame.schema[text_col]
    if dtype.is_nested():
        others = _string_columns(frame, exclude=text_col)
        raise InputError(path, f"holds {_kind_of_dtype(dtype)}, not text", column=text_col,
                         hint=f"choose a text column with --text-col{': ' + others if others else ''}")

    texts, bad = _text_values(frame.get_column(text_col), parsed.nested.get(text_col, set()))
    if bad:
        if opts.strict:
            i, reason = bad[0]
            raise InputError(path, reason, line=int(lines[i]), column=text_col)
        keep = np.ones(frame.height, dtype=bool)
        for i, reason in bad:
            keep[i] = False
            skipped.append(SkippedRow(int(lines[i]), f"column {text_col!r}: {reason}"))
        frame = frame.filter(pl.Series(keep))
        lines, numbers = lines[keep], numbers[keep]
        texts = [t for t, k in zip(texts, keep) if k]
        skipped.sort(key=lambda s: s.line)
    if not texts:
        if skipped:
            raise InputError(path, f"no usable records; first problem: {skipped[0].reason}", line=skipped[0].line,
                             hint=_all_unusable(len(skipped)))
        if fmt in ("csv", "tsv"):
            raise InputError(path, "has a header line but no rows", line=1,
                             hint="expected one text per row under the header")
        raise InputError(path, "the file holds no records", hint=_EXPECTED.get(fmt, "expected one text per record"))
    if not any(t.strip() for t in texts):
        others = _string_columns(frame, exclude=text_col)
        raise InputError(path, "the only text is empty" if len(texts) == 1 else f"all {len(texts):,} texts are empty",
                         column=text_col,
                         hint="choose the text column with --text-col" + (f": {others}" if others else ""))
    ids = _id_values(frame, id_col, numbers)
    if id_col is not None:
        _note_duplicate_ids(ids, lines, id_col, notices)
    return Corpus(
        path=path, frame=frame, text_col=text_col, id_col=id_col, ids=ids, texts=texts,
        lines=lines, skipped=skipped, encoding=encoding, file_format=fmt, label_col=label_col,
        fingerprint=fingerprint, notices=notices,
    )


def _all_unusable(count: int) -> str:
    return "the only record is unusable" if count == 1 else f"all {count:,} records are unusable"


_EXPECTED = {
    "jsonl": 'expected one JSON object per line, e.g. {"text": "..."}',
    "json": 'expected a JSON array of objects, e.g. [{"text": "..."}]',
    "csv": "expected a header line and one text per row",
    "tsv": "expected a header line and one text per row",
    "txt": "expected one text per line",
    "parquet": "expected a table with a text column",
}



# --------------------------------------------------------------------------- text, Parquet


def _parse_txt(text: str) -> tuple[Parsed, int]:
    texts, lines, blank = [], [], 0
    all_lines = split_lines(text)
    if all_lines and all_lines[-1] == "":
        all_lines.pop()
    for number, line in enumerate(all_lines, start=1):
        if line.strip():
            texts.append(line)
            lines.append(number)
        else:
            blank += 1
    frame = pl.DataFrame([pl.Series("text", texts, dtype=pl.String)])
    line_array = np.asarray(lines, dtype=np.int64)
    return Parsed(frame, line_array, line_array, [], {}), blank


#: Reads a Parquet file from stdin in a child process: a damaged file can make polars abort the whole
#: process (a failed allocation of an absurd size is no exception), so it is tried there first.
_PARQUET_TRIAL = "import io, sys, polars; polars.read_parquet(io.BytesIO(sys.stdin.buffer.read()))"
_PARQUET_HINT = "copy the file again, or export it anew"


def _parse_parquet(path: Path, raw: bytes) -> Parsed:
    if len(raw) < 12 or raw[:4] != b"PAR1" or raw[-4:] != b"PAR1":
        what = "its end is missing" if raw[:4] == b"PAR1" else "it does not start as Parquet files do"
        raise InputError(path, f"not a Parquet file ({what})", hint=_PARQUET_HINT)
    trial = subprocess.run([sys.executable, "-c", _PARQUET_TRIAL], input=raw, capture_output=True, check=False,
                           env={**os.environ, "RUST_BACKTRACE": "0"})
    if trial.returncode != 0:
        raise InputError(path, f"not a readable Parquet file ({_crash_reason(trial.stderr)})", hint=_PARQUET_HINT)
    try:
        frame = pl.read_parquet(io.BytesIO(raw))
    except (Exception, pl.exceptions.PanicException) as exc:  # several types; a panic is no Exception
        raise InputError(path, f"not a readable Parquet file ({first_line(exc)})", hint=_PARQUET_HINT) from None
    categorical = [c for c, t in frame.schema.items() if isinstance(t, (pl.Categorical, pl.Enum))]
    if categorical:
        frame = frame.with_columns(pl.col(c).cast(pl.String) for c in categorical)
    rows = np.arange(1, frame.height + 1, dtype=np.int64)
    return Parsed(frame, rows, rows, [], {})


def _crash_reason(stderr: bytes) -> str:
    """What the trial reader said before it failed: its exception, or the line of a Rust panic or abort."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"[\w.]+(Error|Exception): ", line):
            return line.split(": ", 1)[1][:200]
    for line in lines:
        if line.startswith(("memory allocation", "called `")) or "panicked" in line:
            return line[:200]
    return "the reader stopped"


# --------------------------------------------------------------------------- columns


def _names(columns: list[str], limit: int = 12) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (" …" if len(columns) > limit else "")


def _string_columns(frame: pl.DataFrame, exclude: str | None = None) -> str:
    return _names([c for c in frame.columns if frame.schema[c] == pl.String and c != exclude], 6)


def _kind_of_dtype(dtype) -> str:
    if isinstance(dtype, pl.Struct):
        return "records (a struct column)"
    if isinstance(dtype, (pl.List, pl.Array)):
        return "lists"
    return str(dtype)


def _check_column(path: Path, frame: pl.DataFrame, name: str, option: str) -> str:
    if name in frame.columns:
        return name
    lower = {c.lower(): c for c in frame.columns}
    if name.lower() in lower:
        return lower[name.lower()]
    close = difflib.get_close_matches(name, frame.columns, n=3, cutoff=0.5)
    if not close:
        close = [c for c in frame.columns if name.lower() in c.lower() or c.lower() in name.lower()][:3]
    hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else f"give one of the columns to {option}"
    raise InputError(path, f"{option}: no column {name!r}; columns are: {_names(frame.columns)}", hint=hint)


def _choose_text_column(path: Path, frame: pl.DataFrame, wanted: str | None, avoid: tuple) -> str:
    if wanted:
        return _check_column(path, frame, wanted, "--text-col")
    strings = [c for c in frame.columns if frame.schema[c] == pl.String and c not in avoid]
    lower = {c.lower(): c for c in strings}
    for name in TEXT_COLUMN_NAMES:
        if name in lower:
            return lower[name]
    candidates = [c for c in strings if c.lower() not in ID_COLUMN_NAMES]
    if not candidates:
        listing = _names(frame.columns) or "none"
        raise InputError(path, f"no text column found (columns: {listing})", hint="name one with --text-col")
    if frame.height == 0:
        return candidates[0]
    lengths = {c: frame.get_column(c).str.len_chars().mean() or 0.0 for c in candidates}
    return max(candidates, key=lambda c: (lengths[c], -candidates.index(c)))


def _choose_id_column(path: Path, frame: pl.DataFrame, wanted: str | None, text_col: str) -> str | None:
    if wanted:
        return _check_column(path, frame, wanted, "--id-col")
    for c in frame.columns:
        if c.lower() in ID_COLUMN_NAMES and c != text_col:
            return c
    return None


def _text_values(col: pl.Series, nested: set[int]) -> tuple[list[str], list[tuple[int, str]]]:
    """Texts as strings; lists/objects are reported, numbers/booleans become their JSON spelling."""
    values = col.to_list()
    if col.dtype == pl.String or col.dtype == pl.Null:
        texts = ["" if v is None else v for v in values]
    elif col.dtype == pl.Boolean or col.dtype.is_numeric():
        texts = ["" if v is None else json.dumps(v) for v in values]
    else:
        texts = ["" if v is None else str(v) for v in values]  # dates, times: their usual spelling
    bad = [(i, f"expected a string, got {'a list' if texts[i][:1] == '[' else 'an object'}") for i in sorted(nested)]
    return texts, bad


def _id_values(frame: pl.DataFrame, id_col: str | None, numbers: np.ndarray) -> list[str]:
    if id_col is None:
        return [str(n) for n in numbers.tolist()]
    col = frame.get_column(id_col)
    values = col.to_list()
    if col.dtype != pl.String:
        values = [None if v is None else v if isinstance(v, str) else _json_or_str(v) for v in values]
    return [str(n) if v is None else v for v, n in zip(values, numbers.tolist())]


def _json_or_str(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _note_duplicate_ids(ids: list[str], lines: np.ndarray, id_col: str, notices: list[str]) -> None:
    if len(set(ids)) == len(ids):
        return  # the usual case, told at C speed
    first: dict[str, int] = {}
    dupes = 0
    example = None
    for i, value in enumerate(ids):
        j = first.setdefault(value, i)
        if j != i:
            dupes += 1
            if example is None:
                example = (value, int(lines[j]), int(lines[i]))
    if dupes:
        value, a, b = example
        notices.append(f"{dupes:,} row{'s repeat' if dupes != 1 else ' repeats'} an id of column {id_col!r} (e.g. {shorten(value)!r} "
                       f"on lines {a} and {b}); all rows are kept and told apart by their line")
