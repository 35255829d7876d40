"""Scale-up corpora built from the real shared data sets, for benchmarks at 10k, 100k or 1M rows.

The first rows are the shared sets themselves (banking77, toutiao, xsid: 49,083
human-written texts, interleaved).  Beyond that, each new row is a real text
changed the way real exports repeat themselves: lower-cased without
punctuation, prefixed with a reply marker, or joined with another text of the
same gold label ("… Also, …").  Every text is distinct; the gold label and
language of the source row are kept, so clustering quality stays measurable.
The file is written once per (size, seed) under ``$QTUI_BENCH_DIR`` (default
``~/.cache/qtui-bench``) and reused.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
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


def build_corpus(size: int, seed: int = 0) -> Path:
    """Path of a JSON Lines corpus with ``size`` distinct texts (built on first use)."""
    path = bench_dir() / f"scale-{size}-seed{seed}.jsonl"
    if path.exists():
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
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


if __name__ == "__main__":
    import sys

    for n in sys.argv[1:] or ["10000"]:
        print(build_corpus(int(n)))
