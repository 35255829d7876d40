"""Results kept between runs as ``.npz`` files, named by a key that includes the source of the code behind them.

Each cached step (parsed corpora, term counts, clusterings, explanations,
notes) makes its own key; :class:`NpzCache` owns the folder: reading without
pickle, treating an absent or damaged entry as a miss, atomic writes, and
keeping only the most recently used entries.  :func:`code_digest` hashes the
source of the modules a result depends on, so changing that code recomputes it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
from pathlib import Path
from types import ModuleType
from typing import Callable, TypeVar

import numpy as np

from engine.atomic import atomic_write

T = TypeVar("T")


def code_digest(*modules: str | ModuleType) -> bytes:
    """Hash of the source of ``modules`` (dotted names or module objects), in order.

    Raises ``ModuleNotFoundError`` for a name that names no module and ``OSError`` when a source file
    cannot be read: a moved or renamed module must fail loudly, never silently stop invalidating.
    """
    h = hashlib.blake2b(digest_size=8)
    for module in modules:
        h.update(source_path(module).read_bytes())
    return h.digest()


def source_path(module: str | ModuleType) -> Path:
    """The source file of ``module`` (a dotted name is found without importing the module itself)."""
    if isinstance(module, ModuleType):
        name, spec = module.__name__, module.__spec__
    else:
        name, spec = module, importlib.util.find_spec(module)
    if spec is None:
        raise ModuleNotFoundError(f"code_digest: no module named {name!r}", name=name)
    if not spec.has_location or not spec.origin or not spec.origin.endswith(".py"):
        raise ModuleNotFoundError(f"code_digest: module {name!r} has no Python source file ({spec.origin})",
                                  name=name)
    return Path(spec.origin)


class NpzCache:
    """The folder ``<root>/<folder>/`` of one cached step: an ``<key>.npz`` file per result, the newest ``keep`` kept."""

    def __init__(self, root: str | Path, folder: str, keep: int) -> None:
        self.dir = Path(root) / folder
        self.keep = keep

    def path(self, key: str) -> Path:
        """Where the entry of ``key`` lives."""
        return self.dir / f"{key}.npz"

    def read(self, key: str, decode: Callable[[np.lib.npyio.NpzFile], T | None]) -> T | None:
        """``decode(arrays)`` of the entry of ``key``, or None on a miss.

        A miss is an absent entry, a damaged one (any error while loading or decoding it) or one that
        ``decode`` refuses by returning None; the caller computes the result again and :meth:`write`
        replaces the entry.  Arrays are read without pickle.  A hit is marked as recently used.
        """
        path = self.path(key)
        try:
            with np.load(path, allow_pickle=False) as arrays:
                value = decode(arrays)
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - damaged: a zip, npy, JSON or Arrow error, or a missing field
            return None
        if value is not None:
            try:
                os.utime(path)  # recently used: kept when older entries are removed
            except OSError:
                pass
        return value

    def write(self, key: str, **arrays: np.ndarray) -> None:
        """Store ``arrays`` as the entry of ``key`` atomically, then remove all but the ``keep`` most recently
        used entries.  A read-only or full disk is ignored: caching is optional."""
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path(key), buffer.getvalue())
            kept = sorted(self.dir.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in kept[self.keep:]:
                old.unlink(missing_ok=True)
        except OSError:
            pass
