"""Embedding with a sentence-transformers model on CUDA, MPS or the CPU."""

from __future__ import annotations

import contextlib
import io
import os
from typing import Sequence

import numpy as np

from engine.devices import pick_device
from engine.errors import ModelError, UsageError
from engine.models import ModelSpec, resolve_model

#: Texts per ``encode`` batch, by device kind.
BATCH_SIZES = {"cuda": 128, "mps": 64, "cpu": 32}


def _quiet_transformers() -> None:
    """Keep transformers' and the hub's progress bars off the terminal (they would tear a TUI)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover
        pass


class SentenceTransformerEmbedder:
    """Embeds texts with a sentence-transformers model; vectors are float32 and L2-normalized.

    Documents are embedded without a prompt.  Queries use ``instruction`` when
    given (Qwen3-Embedding style ``Instruct: …\\nQuery: ``), else the model's own
    ``query`` prompt when it defines one.
    """

    kind = "sentence-transformers"

    def __init__(self, model: str | None = None, *, device: str | None = None, dim: int | None = None,
                 batch_size: int | None = None, instruction: str | None = None) -> None:
        _quiet_transformers()
        self.spec: ModelSpec = resolve_model(model)
        self.device = pick_device(device)
        self.instruction = instruction
        from sentence_transformers import SentenceTransformer

        try:
            with contextlib.redirect_stderr(io.StringIO()):
                self.model = SentenceTransformer(str(self.spec.path), device=self.device)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelError(f"--model {self.spec.name}: could not be loaded ({first[:200]})") from None
        native = self.model.get_embedding_dimension()
        if dim is not None and (dim < 1 or (native and dim > native)):
            raise UsageError(f"--dim {dim}: must be between 1 and the model's {native} dimensions")
        self.native_dim = native
        self.dim = dim or native
        self.batch_size = batch_size or BATCH_SIZES.get(self.device.split(":")[0], 32)
        self.name = self.spec.name

    @property
    def identity(self) -> dict:
        """What makes two vectors of this embedder comparable: the cache key is a hash of it."""
        return {
            "name": self.spec.name,
            "kind": self.kind,
            "fingerprint": self.spec.fingerprint,
            "dim": self.dim,
            "max_seq_length": self.model.max_seq_length,
            "backend": "torch",
        }

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length or 0)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed documents (no prompt); returns (n, dim) float32 unit vectors."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                    show_progress_bar=False, normalize_embeddings=False)
        return self._finish(vectors)

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one search query with the model's query prompt or the given instruction."""
        kwargs: dict = {}
        if self.instruction:
            kwargs["prompt"] = f"Instruct: {self.instruction}\nQuery: "
        elif self.model.prompts.get("query"):
            kwargs["prompt_name"] = "query"
        vectors = self.model.encode([text], batch_size=1, convert_to_numpy=True,
                                    show_progress_bar=False, normalize_embeddings=False, **kwargs)
        return self._finish(vectors)[0]

    def _finish(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)[:, : self.dim]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vectors / norms
