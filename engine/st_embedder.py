"""Embedding with a sentence-transformers model on CUDA, MPS or the CPU.

Long texts are truncated at the model's token limit (``max_seq_length``), not
chunked: a cluster explorer wants one vector per row, and the rows cut short
are counted (:meth:`SentenceTransformerEmbedder.truncated_mask`) so the summary
can say how many.  On CUDA the model runs in half precision by default.
"""

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
PRECISIONS = ("auto", "fp32", "fp16")
#: Special tokens a tokenizer may add around a text (CLS/SEP, BOS/EOS), plus a margin.
_SPECIAL_MARGIN = 4


def query_prompt(instruction: str) -> str:
    """The Qwen3-Embedding query format for a task ``instruction`` (``Instruct: …\nQuery:``)."""
    return f"Instruct: {instruction.strip()}\nQuery:"


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
    given (Qwen3-Embedding style ``Instruct: …\\nQuery:``), else the model's own
    ``query`` prompt when it defines one.  ``precision`` "auto" means float16 on
    CUDA and float32 elsewhere; the vectors are comparable either way (the cache
    stores float16), so precision is not part of :attr:`identity`.
    """

    kind = "sentence-transformers"

    def __init__(self, model: str | None = None, *, device: str | None = None, dim: int | None = None,
                 batch_size: int | None = None, instruction: str | None = None,
                 precision: str | None = None) -> None:
        _quiet_transformers()
        self.spec: ModelSpec = resolve_model(model)
        self.device = pick_device(device)
        self.instruction = instruction
        self.precision = _pick_precision(precision, self.device)
        from sentence_transformers import SentenceTransformer

        try:
            with contextlib.redirect_stderr(io.StringIO()):
                self.model = SentenceTransformer(str(self.spec.path), device=self.device)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelError(f"--model {self.spec.name}: could not be loaded ({first[:200]})") from None
        if self.precision == "fp16":
            self.model.half()
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
            kwargs["prompt"] = query_prompt(self.instruction)
        elif self.model.prompts.get("query"):
            kwargs["prompt_name"] = "query"
        vectors = self.model.encode([text], batch_size=1, convert_to_numpy=True,
                                    show_progress_bar=False, normalize_embeddings=False, **kwargs)
        return self._finish(vectors)[0]

    def truncated_mask(self, texts: Sequence[str]) -> np.ndarray:
        """Which ``texts`` are longer than the model's token limit (their tail is not embedded).

        Only texts with more UTF-8 bytes than the limit are tokenized: no
        tokenizer makes more tokens than bytes, so shorter ones always fit.
        """
        mask = np.zeros(len(texts), dtype=bool)
        limit = self.max_seq_length
        tokenizer = getattr(self.model, "tokenizer", None)
        if not limit or tokenizer is None:
            return mask
        long_rows = [i for i, t in enumerate(texts) if len(t) + _SPECIAL_MARGIN > limit
                     and len(t.encode("utf-8", "surrogatepass")) + _SPECIAL_MARGIN > limit]
        for lo in range(0, len(long_rows), 256):
            rows = long_rows[lo: lo + 256]
            encoded = tokenizer([texts[i] for i in rows], add_special_tokens=True, truncation=False,
                                return_attention_mask=False, return_token_type_ids=False)
            for i, ids in zip(rows, encoded["input_ids"]):
                mask[i] = len(ids) > limit
        return mask

    def _finish(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)[:, : self.dim]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vectors / norms


def _pick_precision(wanted: str | None, device: str) -> str:
    """'fp16' or 'fp32' for ``device``: auto is fp16 on CUDA only; fp16 on the CPU is refused."""
    wanted = (wanted or "auto").lower()
    if wanted not in PRECISIONS:
        raise UsageError(f"--precision {wanted}: choose from {', '.join(PRECISIONS)}")
    kind = device.split(":")[0]
    if wanted == "auto":
        return "fp16" if kind == "cuda" else "fp32"
    if wanted == "fp16" and kind == "cpu":
        raise UsageError("--precision fp16: half precision needs a GPU (--device cuda or mps); the CPU runs fp32")
    return wanted
