"""CSV and TSV to a frame of strings: delimiter sniffed, Excel's ``sep=`` line, quoted newlines.

Rows with the wrong number of fields are skipped with their line; a stray
quote that would swallow the rest of the file costs only its own line.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import polars as pl

from engine.corpus import SkippedRow
from engine.errors import InputError
from engine.parsed import Parsed

_LINE_END = re.compile(r"\r\n|\r|\n")


def parse_delimited(path: Path, text: str, delimiter: str | None, notices: list[str]) -> Parsed:
    csv.field_size_limit(2**31 - 1)
    first_line = 1
    excel_sep = re.match(r"sep=(.)\r?\n", text[:8])
    if excel_sep:  # Excel's "sep=;" line: it names the delimiter and is not the header
        delimiter = excel_sep.group(1)
        text = text[excel_sep.end():]
        first_line = 2
    elif delimiter is None:
        delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(path, "the file is empty", hint="expected a header line and one text per row") from None
    except csv.Error as exc:
        raise InputError(path, f"unreadable header ({exc})", line=first_line,
                         hint="fix the quotes of the header line") from None
    header = [h.strip() or f"column_{i + 1}" for i, h in enumerate(header)]
    header = _unique_names(header)
    rows, lines, numbers, skipped = _read_rows(text, reader.line_num, first_line, delimiter, len(header),
                                                 notices)
    columns = list(zip(*rows)) if rows else [()] * len(header)
    frame = pl.DataFrame([pl.Series(name, list(col), dtype=pl.String) for name, col in zip(header, columns)])
    return Parsed(frame, np.asarray(lines, dtype=np.int64), np.asarray(numbers, dtype=np.int64), skipped, {})


def _read_rows(text: str, header_lines: int, line0: int, delimiter: str, width: int, notices: list[str]):
    """The records of ``text`` after its first ``header_lines`` lines: (rows, lines, numbers, skipped).

    Line ``i`` of ``text`` (1-based) is line ``line0 + i - 1`` of the file.
    Quotes are read strictly.  A line whose quotes do not parse (``"a"b``, or a
    stray quote opening a field that would run on over the next lines) is read
    on its own with its quotes as plain characters, and reading goes on with the
    next line, so one stray quote never swallows or merges the rows after it.
    A record with the wrong number of fields is skipped with its lines.
    """
    starts: list[int] = []  # where each line of ``text`` starts, found when first needed
    rows: list[list[str]] = []
    lines: list[int] = []
    numbers: list[int] = []
    skipped: list[SkippedRow] = []
    record = loose = first_loose = 0
    base = header_lines  # lines of ``text`` before the reader's first line
    source = io.StringIO(text, newline="")
    source.seek(_offset_of_line(text, base))
    reader = csv.reader(source, delimiter=delimiter, strict=True)
    start = 1  # reader line where the next record starts
    while True:
        if reader is None:
            starts = starts or _line_starts(text)
            if base >= len(starts):
                break
            source.seek(starts[base])
            reader = csv.reader(source, delimiter=delimiter, strict=True)
            start = 1
        first = base + start  # line of ``text`` where this record starts
        try:
            row = next(reader)
            last = base + reader.line_num
        except StopIteration:
            break
        except csv.Error:
            starts = starts or _line_starts(text)
            row = next(csv.reader([_line(text, starts, first)], delimiter=delimiter, quoting=csv.QUOTE_NONE))
            last = first
            loose += 1
            first_loose = first_loose or line0 + first - 1
            if reader.line_num > start:  # the reader went past this line: read on from the next one
                base, reader = first, None
        start = last - base + 1
        if not row or (len(row) == 1 and not row[0] and width > 1):
            continue
        record += 1
        if len(row) != width:
            span = f" (lines {line0 + first - 1}–{line0 + last - 1} read as one record: check the quotes)" \
                if last > first else ""
            fields = f"{len(row)} field{'s' * (len(row) != 1)}"
            skipped.append(SkippedRow(line0 + first - 1, f"has {fields}, expected {width} like the header{span}"))
        else:
            rows.append(row)
            lines.append(line0 + first - 1)
            numbers.append(record)
    if loose:
        notices.append(f"{loose:,} line{'s' * (loose != 1)} with unbalanced quotes read with the quotes as "
                       "plain characters "
                       f"(the first on line {first_loose})")
    return rows, lines, numbers, skipped


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in _LINE_END.finditer(text)]


def _offset_of_line(text: str, count: int) -> int:
    """Where the text after the first ``count`` lines starts."""
    for i, match in enumerate(_LINE_END.finditer(text), start=1):
        if i == count:
            return match.end()
    return len(text)


def _line(text: str, starts: list[int], number: int) -> str:
    """Line ``number`` (1-based) of ``text`` without its line end."""
    end = starts[number] if number < len(starts) else len(text)
    return text[starts[number - 1]:end].rstrip("\r\n")


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

