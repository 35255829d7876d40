"""Scale-up corpora built from the real shared data sets, for benchmarks at 10k, 100k or 1M rows.

The first rows are the shared sets themselves (banking77, toutiao, xsid: 49,083
human-written texts, interleaved).  Beyond that, each new row is a real text
changed the way real exports repeat themselves: lower-cased without
punctuation, prefixed with a reply marker, or joined with another text of the
same gold label ("… Also, …").  Every text is distinct; the gold label and
language of the source row are kept, so clustering quality stays measurable.
The file is written once per (size, seed) under ``$QTUI_BENCH_DIR`` (default
``~/.cache/qtui-bench``) and reused.

Every row also carries synthetic columns a real export has (:func:`add_columns`): ``category`` (one of
:data:`CATEGORIES`, mostly fixed by the gold label), ``rating`` (1–5, around a mean drawn per label) and
``date`` (ISO, over :data:`YEAR`; per label a share growing or shrinking through the year).  They are
drawn from their own random stream, after the texts, so the texts (and their cached vectors) are those
of a file built without them.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("QTUI_SHARED_DATA", ROOT.parent / "shared" / "data"))
CATEGORIES = ("phones", "laptops", "audio", "wearables", "tablets", "chargers", "cameras", "smart home")
#: First day and number of days of the ``date`` column.
YEAR = ("2025-01-01", 365)
#: Share of rows whose category is drawn at random instead of from their label.
CATEGORY_NOISE = 0.15
SETS = ("banking77", "toutiao", "xsid")
PREFIXES = ("Re: ", "Fwd: ", "Update: ", "Again: ", "回复：", "追评：")
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)


def bench_dir() -> Path:
    """Where built corpora are kept."""
    path = Path(os.environ.get("QTUI_BENCH_DIR", Path.home() / ".cache" / "qtui-bench"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_rows() -> list[dict]:
    """All rows of the shared sets, interleaved so any prefix mixes languages and sources."""
    per_set = []
    for name in SETS:
        path = SHARED / f"{name}.jsonl"
        if not path.exists():
            raise SystemExit(f"benchmark data {path} is missing")
        with open(path, encoding="utf-8") as f:
            per_set.append([dict(json.loads(line), source=name) for line in f if line.strip()])
    out = []
    for i in range(max(len(rows) for rows in per_set)):
        for rows in per_set:
            if i < len(rows):
                out.append(rows[i])
    return out


def _variant(row: dict, partner: dict, kind: int, serial: int) -> str:
    text = row["text"]
    if kind == 0:
        plain = _PUNCT.sub(" ", text).lower()
        return " ".join(plain.split()) + f" #{serial}"
    if kind == 1:
        return PREFIXES[serial % len(PREFIXES)] + text
    joiner = "。另外，" if row.get("lang") == "zh" else ". Also, "
    return text.rstrip(" .。!?！？") + joiner + partner["text"]


def add_columns(rows: list[dict], seed: int = 0) -> None:
    """Give every row a ``category``, a 1–5 ``rating`` and a ``date`` (see the module), in place."""
    labels = sorted({str(row["label"]) for row in rows})
    draw = np.random.default_rng([seed, 19])
    home = dict(zip(labels, draw.integers(len(CATEGORIES), size=len(labels)).tolist()))
    mean_rating = dict(zip(labels, draw.uniform(1.6, 4.6, size=len(labels)).tolist()))
    growth = dict(zip(labels, draw.uniform(-2.0, 2.0, size=len(labels)).tolist()))  # log of the year's change
    first, days = np.datetime64(YEAR[0]), YEAR[1]
    noise = draw.random(len(rows)) < CATEGORY_NOISE
    other = draw.integers(len(CATEGORIES), size=len(rows))
    spread = draw.normal(0.0, 0.9, size=len(rows))
    when = draw.random(len(rows))
    for i, row in enumerate(rows):
        label = str(row["label"])
        row["category"] = CATEGORIES[other[i] if noise[i] else home[label]]
        row["rating"] = int(np.clip(round(mean_rating[label] + spread[i]), 1, 5))
        g = growth[label]  # days drawn with density proportional to exp(g * t), t in [0, 1)
        t = np.log1p(when[i] * np.expm1(g)) / g if abs(g) > 1e-9 else when[i]
        row["date"] = str(first + np.timedelta64(int(t * days), "D"))


def _has_columns(path: Path) -> bool:
    with open(path, encoding="utf-8") as f:
        return "rating" in json.loads(f.readline())


def build_corpus(size: int, seed: int = 0) -> Path:
    """Path of a JSON Lines corpus with ``size`` distinct texts and their columns (built on first use; a file
    built before the columns existed is rebuilt, with the same texts)."""
    path = bench_dir() / f"scale-{size}-seed{seed}.jsonl"
    if path.exists() and _has_columns(path):
        return path
    base = shared_rows()
    by_label: dict[str, list[int]] = {}
    for i, row in enumerate(base):
        by_label.setdefault(row["label"], []).append(i)
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    rows: list[dict] = []
    for row in base[:size]:
        if row["text"] not in seen:
            seen.add(row["text"])
            rows.append(row)
    serial = 0
    while len(rows) < size:
        serial += 1
        row = base[int(rng.integers(len(base)))]
        group = by_label[row["label"]]
        partner = base[group[int(rng.integers(len(group)))]]
        text = _variant(row, partner, serial % 3, serial)
        if text in seen:
            continue
        seen.add(text)
        rows.append({"id": f"v{serial}", "text": text, "label": row["label"], "lang": row.get("lang", ""),
                     "source": row["source"]})
    add_columns(rows, seed)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


#: Copies of the 100k corpus in the 1M-row memory case (copy 0 is the corpus itself).
MILLION_COPIES = 10


def copy_text(text: str, copy: int) -> str:
    """Text of ``copy`` of a row in the 1M case: copy 0 unchanged, others with a visible " [copy N]" suffix."""
    return text if copy == 0 else f"{text} [copy {copy}]"


def build_million(base: Path, copies: int = MILLION_COPIES) -> Path:
    """A JSON Lines file of ``copies`` × the rows of ``base`` (written once beside it and reused).

    Copy 0 is ``base`` itself; copy N >= 1 of a row keeps its id (suffixed ``-cN``), label, language and
    source, and its text gets the suffix `` [copy N]``.  Rows are copy-major: all of copy 0, then copy 1, ...
    Every text is distinct (checked).  Its vectors are synthetic: see :func:`benchmarks.scale.million_case`.
    """
    path = base.with_name(f"{base.stem}-x{copies}.jsonl")
    if path.exists() and _has_columns(path):
        return path
    with open(base, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    seen: set[str] = set()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for copy in range(copies):
            for row in rows:
                text = copy_text(row["text"], copy)
                if text in seen:
                    raise SystemExit(f"build_million: {text!r} occurs twice")
                seen.add(text)
                out = dict(row, text=text, id=f"{row['id']}-c{copy}" if copy else row["id"]) if "id" in row \
                    else dict(row, text=text)
                f.write(json.dumps(out, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


if __name__ == "__main__":
    import sys

    for n in sys.argv[1:] or ["10000"]:
        print(build_corpus(int(n)))
