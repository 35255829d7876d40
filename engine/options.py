"""Plain option records for opening a file (no heavy imports, so the CLI and the app start fast)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class LoadOptions:
    """How to read a file; every field may stay at its default."""

    text_col: str | None = None
    id_col: str | None = None
    label_col: str | None = None
    encoding: str | None = None
    strict: bool = False
    file_format: str | None = None


@dataclass
class ModelOptions:
    """Which model embeds, where, and how."""

    model: str | None = None
    dim: int | None = None
    device: str | None = None
    batch_size: int | None = None
    instruction: str | None = None


@dataclass
class SessionOptions:
    """Everything needed to open a file; defaults work for a plain ``qtui open FILE``."""

    load: LoadOptions = field(default_factory=LoadOptions)
    model: ModelOptions = field(default_factory=ModelOptions)
    cache_dir: Path | None = None
    use_cache: bool = True
