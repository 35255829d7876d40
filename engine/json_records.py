"""JSON Lines and JSON arrays to a frame: bad records skipped with their line, hostile values bounded.

Mixed value types never make polars fail (a column of mixed types is kept as
strings, with non-strings in their exact JSON spelling); lists and objects are
remembered per row so a text column holding one reports that row.  The usual
file (plain objects, the same keys on every line) takes shortcuts that give the
same result: one scanner call per line, whole columns at once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from engine.corpus import SkippedRow
from engine.decoding import split_lines
from engine.errors import InputError, first_line, shorten
from engine.parsed import Parsed

#: JSON records may bring at most this many different keys, and keys × records at most MAX_CELLS.
MAX_COLUMNS = 5000
MAX_CELLS = 200_000_000
#: Longest integer (digits) read as a number; longer ones are kept as their digits.
MAX_INT_DIGITS = 4000

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATES = re.compile("[\ud800-\udfff]")


def _parse_int(digits: str) -> int | str:
    return int(digits) if len(digits) <= MAX_INT_DIGITS else digits  # kept as written, not a huge number


_JSON = json.JSONDecoder(strict=False, parse_int=_parse_int)
_SCAN = _JSON.scan_once  # (value, end) of the JSON value starting at an index


def _without_surrogates(value: Any) -> Any:
    """``value`` with lone UTF-16 surrogates (from \\ud800-style escapes) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value


def _loads(text: str) -> Any:
    """JSON ``text`` decoded (raw control characters in strings allowed); lone surrogates replaced."""
    value = _JSON.decode(text)
    if _SURROGATE_ESCAPE.search(text):
        value = _without_surrogates(value)
    return value


def _plain_object(line: str) -> dict | None:
    """``line`` decoded when it is exactly one JSON object (what :func:`_loads` gives), else None.

    One call of the decoder's scanner per line (half the time of ``_loads``); None sends the line to
    :func:`_loads`, which reports its problem.  Only for text without surrogate escapes.
    """
    if line[:1] != "{":
        return None
    try:
        value, end = _SCAN(line, 0)
    except Exception:  # noqa: BLE001 - invalid, or nested too deeply: _loads says which
        return None
    return value if end == len(line) and type(value) is dict else None


def parse_jsonl(path: Path, text: str, notices: list[str]) -> Parsed:
    records: list[dict] = []
    lines: list[int] = []
    skipped: list[SkippedRow] = []
    plain = _SURROGATE_ESCAPE.search(text) is None
    for number, line in enumerate(split_lines(text), start=1):
        value = _plain_object(line) if plain else None
        if value is not None:
            records.append(value)
            lines.append(number)
            continue
        if not line.strip():
            continue
        try:
            value = _loads(line)
        except json.JSONDecodeError as exc:
            skipped.append(SkippedRow(number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        except RecursionError:
            skipped.append(SkippedRow(number, "JSON nested too deeply"))
            continue
        except ValueError as exc:  # e.g. a number too long to convert
            skipped.append(SkippedRow(number, f"not usable JSON ({first_line(exc)})"))
            continue
        if not isinstance(value, dict):
            skipped.append(SkippedRow(number, f"expected a JSON object, got {_json_kind(value)}"))
            continue
        records.append(value)
        lines.append(number)
    line_array = np.asarray(lines, dtype=np.int64)
    frame, nested = _frame_from_records(path, records, line_array)
    return Parsed(frame, line_array, line_array, skipped, nested, len(records))


def parse_json_array(path: Path, text: str, notices: list[str]) -> Parsed:
    try:
        value = _loads(text)
    except json.JSONDecodeError as exc:
        if text.lstrip().startswith("{"):
            return parse_jsonl(path, text, notices)  # a .json file that is really JSON Lines
        raise InputError(path, f"not valid JSON ({exc.msg} at column {exc.colno})", line=exc.lineno,
                         hint="fix the file, or give JSON Lines (.jsonl) so one bad record does not stop the rest"
                         ) from None
    except RecursionError:
        raise InputError(path, "JSON nested too deeply to read", hint='expected an array of objects, e.g. '
                         '[{"text": "..."}]') from None
    except ValueError as exc:
        raise InputError(path, f"not usable JSON ({first_line(exc)})") from None
    if isinstance(value, dict):
        lists = [k for k, v in value.items() if isinstance(v, list) and v and all(isinstance(i, (dict, str)) for i in v)]
        if len(lists) == 1 and all(not isinstance(v, list) or k == lists[0] for k, v in value.items()):
            notices.append(f"records read from the key {lists[0]!r} of the top-level object")
            value = value[lists[0]]
        else:
            value = [value]
    if not isinstance(value, list):
        raise InputError(path, f"expected a JSON array of objects, got {_json_kind(value)}",
                         hint='e.g. [{"text": "..."}], or one object per line in a .jsonl file')
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
    number_array = np.asarray(numbers, dtype=np.int64)
    frame, nested = _frame_from_records(path, records, number_array)
    return Parsed(frame, number_array, number_array, skipped, nested, len(records))


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


def _frame_from_records(path: Path, records: list[dict], lines: np.ndarray) -> tuple[pl.DataFrame, dict[str, set[int]]]:
    """Build a frame column by column so mixed JSON types never make polars fail.

    Also returns, per column, the rows whose value was a JSON list or object.
    Time and memory grow with the values present, and the number of different
    keys is bounded (:data:`MAX_COLUMNS`), so sparse hostile records cannot blow up.
    """
    n = len(records)
    same = _same_keys(records)
    if same is not None:
        return _frame_from_columns(same)
    columns: dict[str, tuple[list[int], list[Any]]] = {}
    for i, rec in enumerate(records):
        for key, value in rec.items():
            col = columns.get(key)
            if col is None:
                if len(columns) >= MAX_COLUMNS or (len(columns) + 1) * n > MAX_CELLS:
                    raise InputError(path, f"the records bring more than {len(columns):,} different keys "
                                     f"(here {shorten(key)!r})", line=int(lines[i]),
                                     hint="qtui reads records with a fixed set of fields, e.g. "
                                          '{"id": ..., "text": ...}')
                col = columns[key] = ([], [])
            col[0].append(i)
            col[1].append(value)
    full_columns = {}
    for name, (rows, values) in columns.items():
        if len(rows) == n:
            full_columns[name] = values
        else:
            full = full_columns[name] = [None] * n
            for i, v in zip(rows, values):
                full[i] = v
    return _frame_from_columns(full_columns)


def _same_keys(records: list[dict]) -> dict[str, list[Any]] | None:
    """The columns of ``records`` when all have the same keys (in any order, within the bounds), else None."""
    keys = records[0].keys() if records else {}
    if not keys or len(keys) > MAX_COLUMNS or len(keys) * len(records) > MAX_CELLS:
        return None
    if not all(r.keys() == keys for r in records):
        return None
    return {key: [r[key] for r in records] for key in keys}


def _frame_from_columns(columns: dict[str, list[Any]]) -> tuple[pl.DataFrame, dict[str, set[int]]]:
    """The frame of full columns (None where a record lacks the key), and per column the rows holding a list/object."""
    series, nested = [], {}
    for name, values in columns.items():
        kinds = set(map(type, values))
        kinds.discard(type(None))
        if any(issubclass(kind, (list, dict)) for kind in kinds):
            nested[name] = {i for i, v in enumerate(values) if isinstance(v, (list, dict))}
        series.append(_series(name, values, kinds))
    return pl.DataFrame(series), nested


def _series(name: str, values: list[Any], kinds: set[type]) -> pl.Series:
    """``values`` as one polars column; ``kinds``: the types of its values other than None."""
    if kinds <= {str}:
        return pl.Series(name, values, dtype=pl.String)
    if kinds == {bool}:
        return pl.Series(name, values, dtype=pl.Boolean)
    if kinds <= {int} and all(v is None or -(2**63) <= v < 2**63 for v in values):
        return pl.Series(name, values, dtype=pl.Int64)
    if kinds <= {int, float} and all(v is None or isinstance(v, float) or -(2**53) <= v <= 2**53 for v in values):
        return pl.Series(name, [None if v is None else float(v) for v in values], dtype=pl.Float64)
    # Mixed, nested or huge values: keep strings as they are, write the rest as compact JSON (exact).
    return pl.Series(name, [v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                            for v in values], dtype=pl.String)

