"""What a format parser hands to :func:`engine.loading.load`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.corpus import SkippedRow


@dataclass
class Parsed:
    frame: pl.DataFrame
    lines: np.ndarray  # line where each record starts (1-based)
    numbers: np.ndarray  # record number used as the id when the file has no id column
    skipped: list[SkippedRow]
    nested: dict[str, set[int]]  # column -> rows that held a JSON list/object
    records: int = -1  # records seen (for "records have no fields"); -1 = as many as frame rows


