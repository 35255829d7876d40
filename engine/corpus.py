"""The loaded corpus: texts, ids, original columns and what was skipped on the way in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl


@dataclass(frozen=True)
class SkippedRow:
    """A record of the input that could not be used, with where and why."""

    line: int
    reason: str


@dataclass
class Corpus:
    """Texts loaded from one file, one entry per usable record, in file order.

    ``frame`` holds every original column for the kept records; ``texts`` and
    ``ids`` are the strings used for embedding and export (ids byte-identical
    to the input, or the 1-based record number when the file has no id column).
    """

    path: Path
    frame: pl.DataFrame
    text_col: str
    id_col: str | None
    ids: list[str]
    texts: list[str]
    lines: np.ndarray
    skipped: list[SkippedRow] = field(default_factory=list)
    encoding: str = "utf-8"
    file_format: str = "jsonl"
    label_col: str | None = None
    fingerprint: str = ""
    notices: list[str] = field(default_factory=list)
    #: 16-byte BLAKE2b digest of every text (:func:`engine.cache.text_hashes`) when the loader has them.
    text_hashes: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def empty(self) -> np.ndarray:
        """Boolean mask of records whose text is empty or whitespace only."""
        return np.fromiter((not t.strip() for t in self.texts), dtype=bool, count=len(self.texts))

    @property
    def gold(self) -> list[str] | None:
        """Gold labels as strings (missing ones as ""), when a label column was named."""
        if self.label_col is None:
            return None
        col = self.frame.get_column(self.label_col)
        return ["" if v is None else str(v) for v in col.to_list()]

    @property
    def extra_columns(self) -> list[str]:
        """Original columns other than the id and text columns, in file order."""
        return [c for c in self.frame.columns if c not in (self.text_col, self.id_col)]
