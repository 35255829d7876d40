"""Read text files (.jsonl/.ndjson/.json, .csv/.tsv, .txt, .parquet, optionally gzipped) into a :class:`Corpus`.

Every record that cannot be used is listed with its line and the reason; the
load goes on with the valid records unless ``strict`` is set.  Problems with
the file as a whole raise :class:`~engine.errors.InputError` with a one-line
message naming the file, the line or column, and what to do.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from engine.corpus import Corpus, SkippedRow
from engine.errors import InputError
from engine.options import LoadOptions

#: Column names taken as the text column, in order of preference (case-insensitive).
TEXT_COLUMN_NAMES = (
    "text", "content", "comment", "comments", "review", "body", "sentence", "message",
    "utterance", "question", "query", "description", "summary", "headline", "title",
)
#: Column names taken as the id column (case-insensitive).
ID_COLUMN_NAMES = ("id",)

FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv",
    ".tsv": "tsv", ".tab": "tsv", ".txt": "txt", ".text": "txt", ".parquet": "parquet", ".pq": "parquet",
}


@dataclass
class _Parsed:
    frame: pl.DataFrame
    lines: np.ndarray  # line where each record starts (1-based)
    numbers: np.ndarray  # record number used as the id when the file has no id column
    skipped: list[SkippedRow]
    nested: dict[str, set[int]]  # column -> rows that held a JSON list/object


def load(path: str | Path, options: LoadOptions | None = None) -> Corpus:
    """Load ``path`` into a :class:`Corpus` (see the module docstring for formats and errors)."""
    opts = options or LoadOptions()
    path = Path(path)
    raw = _read_bytes(path)
    fingerprint = hashlib.blake2b(raw, digest_size=16).hexdigest()
    fmt = opts.file_format or _detect_format(path)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(path, f"damaged gzip data ({exc})") from None
    notices: list[str] = []
    if fmt is None:
        fmt = _sniff_format(raw)
        notices.append(f"format guessed as {fmt} from the content")

    if fmt == "parquet":
        parsed = _parse_parquet(path, raw)
        encoding = "binary"
    else:
        text, encoding = _decode(path, raw, opts.encoding, notices)
        if fmt == "jsonl":
            parsed = _parse_jsonl(text)
        elif fmt == "json":
            parsed = _parse_json_array(path, text)
        elif fmt in ("csv", "tsv"):
            parsed = _parse_delimited(path, text, "\t" if fmt == "tsv" else None)
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
            raise InputError(path, f"no usable records; first problem: {skipped[0].reason}", line=skipped[0].line)
        raise InputError(path, "the file holds no records", hint="expected one text per record")

    text_col = _choose_text_column(path, frame, opts.text_col, avoid=(opts.id_col, opts.label_col))
    id_col = _choose_id_column(path, frame, opts.id_col, text_col)
    label_col = _check_column(path, frame, opts.label_col, "--label-col") if opts.label_col else None

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
    ids = _id_values(frame, id_col, numbers)
    return Corpus(
        path=path, frame=frame, text_col=text_col, id_col=id_col, ids=ids, texts=texts,
        lines=lines, skipped=skipped, encoding=encoding, file_format=fmt, label_col=label_col,
        fingerprint=fingerprint, notices=notices,
    )


# --------------------------------------------------------------------------- bytes and text


def _read_bytes(path: Path) -> bytes:
    try:
        if path.is_dir():
            raise InputError(path, "is a directory", hint="give a file: .jsonl, .csv, .tsv, .txt or .parquet")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except PermissionError:
        raise InputError(path, "permission denied", hint="check the file's read permission") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory", hint="give a file: .jsonl, .csv, .tsv, .txt or .parquet") from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from None


def _detect_format(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".gzip"):
        suffixes = suffixes[:-1]
    return FORMATS.get(suffixes[-1]) if suffixes else None


def _sniff_format(raw: bytes) -> str:
    if raw[:4] == b"PAR1":
        return "parquet"
    head = raw[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"{":
        return "jsonl"
    if head[:1] == b"[":
        return "json"
    return "txt"


def _decode(path: Path, raw: bytes, encoding: str | None, notices: list[str]) -> tuple[str, str]:
    if encoding:
        try:
            text = raw.decode(encoding)
        except LookupError:
            raise InputError(path, f"unknown encoding {encoding!r}", hint="e.g. utf-8, gb18030, latin-1") from None
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise InputError(path, f"not valid {encoding} (byte 0x{raw[exc.start]:02x})", line=line,
                             hint="try another --encoding") from None
        return text.removeprefix("\ufeff"), encoding
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        bad_at = exc.start
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None and _mostly_cjk(text):
        notices.append("decoded as GB18030 (not valid UTF-8); pass --encoding to override")
        return text, "gb18030"
    line = raw.count(b"\n", 0, bad_at) + 1
    raise InputError(path, f"not valid UTF-8 (byte 0x{raw[bad_at]:02x})", line=line,
                     hint="pass --encoding, e.g. --encoding gb18030 or --encoding latin-1")


def _mostly_cjk(text: str) -> bool:
    non_ascii = [ch for ch in text[:200_000] if ord(ch) > 127]
    if not non_ascii:
        return False
    cjk = sum(1 for ch in non_ascii if "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")
    return cjk / len(non_ascii) > 0.6


def _split_lines(text: str) -> list[str]:
    """Split on \\n, \\r\\n and lone \\r only (not on the other characters str.splitlines knows)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


# --------------------------------------------------------------------------- parsers


def _parse_jsonl(text: str) -> _Parsed:
    records: list[dict] = []
    lines: list[int] = []
    skipped: list[SkippedRow] = []
    for number, line in enumerate(_split_lines(text), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            skipped.append(SkippedRow(number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        except RecursionError:
            skipped.append(SkippedRow(number, "JSON nested too deeply"))
            continue
        if not isinstance(value, dict):
            skipped.append(SkippedRow(number, f"expected a JSON object, got {_json_kind(value)}"))
            continue
        records.append(value)
        lines.append(number)
    line_array = np.asarray(lines, dtype=np.int64)
    frame, nested = _frame_from_records(records)
    return _Parsed(frame, line_array, line_array, skipped, nested)


def _parse_json_array(path: Path, text: str) -> _Parsed:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if text.lstrip().startswith("{"):
            return _parse_jsonl(text)  # a .json file that is really JSON Lines
        raise InputError(path, f"not valid JSON ({exc.msg})", line=exc.lineno) from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise InputError(path, f"expected a JSON array of objects, got {_json_kind(value)}")
    records, numbers, skipped = [], [], []
    for number, item in enumerate(value, start=1):
        if isinstance(item, dict):
            records.append(item)
            numbers.append(number)
        elif isinstance(item, str):
            records.append({"text": item})
            numbers.append(number)
        else:
            skipped.append(SkippedRow(number, f"item {number}: expected an object, got {_json_kind(item)}"))
    frame, nested = _frame_from_records(records)
    number_array = np.asarray(numbers, dtype=np.int64)
    return _Parsed(frame, number_array, number_array, skipped, nested)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _frame_from_records(records: list[dict]) -> tuple[pl.DataFrame, dict[str, set[int]]]:
    """Build a frame column by column so mixed JSON types never make polars fail.

    Also returns, per column, the rows whose value was a JSON list or object.
    """
    columns: dict[str, list[Any]] = {}
    for i, rec in enumerate(records):
        for key, value in rec.items():
            col = columns.get(key)
            if col is None:
                col = columns[key] = [None] * i
            col.append(value)
        for col in columns.values():
            if len(col) <= i:
                col.append(None)
    nested = {name: {i for i, v in enumerate(values) if isinstance(v, (list, dict))}
              for name, values in columns.items()}
    frame = pl.DataFrame([_series(name, values) for name, values in columns.items()])
    return frame, {k: v for k, v in nested.items() if v}


def _series(name: str, values: list[Any]) -> pl.Series:
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {str}:
        return pl.Series(name, values, dtype=pl.String)
    if kinds == {bool}:
        return pl.Series(name, values, dtype=pl.Boolean)
    if kinds <= {int} and all(v is None or -(2**63) <= v < 2**63 for v in values):
        return pl.Series(name, values, dtype=pl.Int64)
    if kinds <= {int, float}:
        return pl.Series(name, [None if v is None else float(v) for v in values], dtype=pl.Float64)
    # Mixed or nested values: keep strings as they are, write the rest as compact JSON.
    return pl.Series(name, [v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                            for v in values], dtype=pl.String)


def _parse_delimited(path: Path, text: str, delimiter: str | None) -> _Parsed:
    if delimiter is None:
        delimiter = _sniff_delimiter(text)
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    skipped: list[SkippedRow] = []
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(path, "the file is empty", hint="expected a header row and one text per row") from None
    except csv.Error as exc:
        raise InputError(path, f"unreadable header ({exc})", line=1) from None
    header = [h.strip() or f"column_{i + 1}" for i, h in enumerate(header)]
    header = _unique_names(header)
    width = len(header)
    rows: list[list[str]] = []
    lines: list[int] = []
    numbers: list[int] = []
    record = 0
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            record += 1
            skipped.append(SkippedRow(start, f"unreadable CSV ({exc})"))
            start = reader.line_num + 1
            continue
        if not row or (len(row) == 1 and not row[0] and width > 1):
            start = reader.line_num + 1
            continue
        record += 1
        if len(row) != width:
            skipped.append(SkippedRow(start, f"has {len(row)} fields, expected {width} like the header"))
        else:
            rows.append(row)
            lines.append(start)
            numbers.append(record)
        start = reader.line_num + 1
    columns = list(zip(*rows)) if rows else [()] * width
    frame = pl.DataFrame([pl.Series(name, list(col), dtype=pl.String) for name, col in zip(header, columns)])
    return _Parsed(frame, np.asarray(lines, dtype=np.int64), np.asarray(numbers, dtype=np.int64), skipped, {})


def _sniff_delimiter(text: str) -> str:
    sample = text[:65536]
    first = sample.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        seen.setdefault(name, 0)
        out.append(name)
    return out


def _parse_txt(text: str) -> tuple[_Parsed, int]:
    texts, lines, blank = [], [], 0
    all_lines = _split_lines(text)
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
    return _Parsed(frame, line_array, line_array, [], {}), blank


def _parse_parquet(path: Path, raw: bytes) -> _Parsed:
    try:
        frame = pl.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # polars raises several types for damaged files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, f"not a readable Parquet file ({first})") from None
    rows = np.arange(1, frame.height + 1, dtype=np.int64)
    return _Parsed(frame, rows, rows, [], {})


# --------------------------------------------------------------------------- columns


def _check_column(path: Path, frame: pl.DataFrame, name: str, option: str) -> str:
    if name in frame.columns:
        return name
    lower = {c.lower(): c for c in frame.columns}
    if name.lower() in lower:
        return lower[name.lower()]
    close = difflib.get_close_matches(name, frame.columns, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else None
    listing = ", ".join(frame.columns[:12]) + (" …" if frame.width > 12 else "")
    raise InputError(path, f"{option}: no column {name!r}; columns are: {listing}", hint=hint)


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
        listing = ", ".join(frame.columns[:12]) or "none"
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
    if col.dtype == pl.String:
        texts = ["" if v is None else v for v in values]
    elif col.dtype == pl.Boolean or col.dtype.is_numeric():
        texts = ["" if v is None else json.dumps(v) for v in values]
    else:
        return ["" for _ in values], [(i, f"expected a string, got {col.dtype}") for i in range(len(values))]
    bad = [(i, f"expected a string, got {'a list' if texts[i][:1] == '[' else 'an object'}") for i in sorted(nested)]
    return texts, bad


def _id_values(frame: pl.DataFrame, id_col: str | None, numbers: np.ndarray) -> list[str]:
    if id_col is None:
        return [str(n) for n in numbers.tolist()]
    col = frame.get_column(id_col)
    values = col.to_list()
    if col.dtype != pl.String:
        values = [None if v is None else json.dumps(v) if not isinstance(v, str) else v for v in values]
    return [str(n) if v is None else v for v, n in zip(values, numbers.tolist())]
