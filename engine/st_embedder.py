"""Embedding with a sentence-transformers model on CUDA, MPS or the CPU.

Long texts are truncated at the model's token limit (``max_seq_length``), not
chunked: a cluster explorer wants one vector per row, and the rows cut short
are counted (:meth:`SentenceTransformerEmbedder.truncated_mask`) so the summary
can say how many.  On CUDA the model runs in half precision by default.

The texts of one :meth:`~SentenceTransformerEmbedder.encode` call (:data:`CHUNK`
of them from :func:`engine.embedding.embed_texts`) are sorted by token count and
run a batch at a time, so a batch pads little: ``SentenceTransformer.encode``
sorts by characters, which puts a Chinese text beside English ones of far fewer
tokens (the vectors are the same either way).
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from typing import Sequence

import numpy as np

from engine.devices import pick_device
from engine.embedder import Embedder
from engine.errors import ModelError, UsageError
from engine.models import ModelSpec, read_st_metadata, resolve_model

#: Texts per model batch, by device kind.
BATCH_SIZES = {"cuda": 128, "mps": 64, "cpu": 32}
#: Texts :func:`engine.embedding.embed_texts` hands one :meth:`~SentenceTransformerEmbedder.encode`
#: call (at least two batches): they are sorted by token count inside it, so the more there are,
#: the less a batch pads.
CHUNK = 256
PRECISIONS = ("auto", "fp32", "fp16")
#: Special tokens a tokenizer may add around a text (CLS/SEP, BOS/EOS), plus a margin.
_SPECIAL_MARGIN = 4
#: Before tokenizing, a text is cut to this many characters per token of the model's limit: the
#: tokenizer reads a whole text before it truncates (slow for a huge line); no real text needs
#: more than 16 characters per token to reach the limit, so what the model sees is unchanged.
CHARS_PER_TOKEN = 16


def clip_for_model(texts: Sequence[str], limit: int) -> list[str]:
    """``texts`` with each one longer than ``limit`` × :data:`CHARS_PER_TOKEN` characters cut to that length."""
    if not limit:
        return list(texts)
    cut = limit * CHARS_PER_TOKEN
    return [t if len(t) <= cut else t[:cut] for t in texts]


def query_prompt(instruction: str) -> str:
    """The Qwen3-Embedding query format for a task ``instruction`` (``Instruct: …\nQuery:``)."""
    return f"Instruct: {instruction.strip()}\nQuery:"


def quiet_transformers() -> None:
    """Keep transformers' and the hub's progress bars off the terminal (they would tear a TUI)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover
        pass


class SentenceTransformerEmbedder(Embedder):
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
        self.spec: ModelSpec = resolve_model(model)
        self.name = self.spec.name
        self.instruction = instruction
        self._wanted_device = device
        self._wanted_precision = precision
        self._wanted_batch = batch_size
        self._model = None
        self._sort_tokenizer = None  # see _sort_counter
        self._lock = threading.Lock()
        if (device and device != "auto") or (precision and precision.lower() != "auto"):
            _pick_precision(precision, pick_device(device))  # an impossible request fails now, not later
        meta = read_st_metadata(self.spec.path)
        self._file_limit = meta.max_seq_length
        self.native_dim = meta.dim
        if self.native_dim is None:  # the files do not say: the model must tell
            self.load()
        if dim is not None and (dim < 1 or (self.native_dim and dim > self.native_dim)):
            raise UsageError(f"--dim {dim}: must be between 1 and the model's {self.native_dim} dimensions")
        self.dim = dim or self.native_dim

    # The weights are loaded on first use, so a file whose vectors are all cached opens without them.

    @property
    def loaded(self) -> bool:
        """Whether the weights are in memory yet."""
        return self._model is not None

    def load(self) -> None:
        """Load the weights now (thread-safe; a no-op once loaded)."""
        with self._lock:
            if self._model is not None:
                return
            device = pick_device(self._wanted_device)
            precision = _pick_precision(self._wanted_precision, device)
            quiet_transformers()
            from sentence_transformers import SentenceTransformer

            try:
                with contextlib.redirect_stderr(io.StringIO()):
                    model = SentenceTransformer(str(self.spec.path), device=device)
            except Exception as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise ModelError(f"--model {self.spec.name}: could not be loaded ({first[:200]})") from None
            if precision == "fp16":
                model.half()
            if self.native_dim is None:
                self.native_dim = model.get_embedding_dimension()
            self._device, self._precision = device, precision
            self._model = model

    @property
    def model(self):
        """The sentence-transformers model (loaded on first access)."""
        if self._model is None:
            self.load()
        return self._model

    @property
    def device(self) -> str:
        """The torch device, or what was asked for ('auto') until the weights are loaded."""
        return self._device if self._model is not None else (self._wanted_device or "auto")

    @property
    def precision(self) -> str:
        """'fp16' or 'fp32', as the weights run (or will run) on this machine."""
        if self._model is not None:
            return self._precision
        return _pick_precision(self._wanted_precision, pick_device(self._wanted_device))

    @property
    def batch_size(self) -> int:
        if self._wanted_batch:
            return self._wanted_batch
        return BATCH_SIZES.get(self.device.split(":")[0], 32)

    @property
    def chunk_size(self) -> int:
        """Texts one :meth:`encode` call should get: several batches to sort by token count."""
        return max(CHUNK, 2 * self.batch_size)

    @property
    def identity(self) -> dict:
        """What makes two vectors of this embedder comparable: the cache key is a hash of it.

        Read from the model's files, never from the loaded weights, so it is known before loading.
        """
        return {
            "name": self.spec.name,
            "kind": self.kind,
            "fingerprint": self.spec.fingerprint,
            "dim": self.dim,
            "max_seq_length": self._file_limit,
            "backend": "torch",
        }

    @property
    def max_seq_length(self) -> int:
        if self._file_limit:
            return int(self._file_limit)
        return int(self.model.max_seq_length or 0)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed documents (no prompt); returns (n, dim) float32 unit vectors."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        texts = clip_for_model(texts, self.max_seq_length)
        model, step = self.model, self.batch_size
        count = self._sort_counter() if len(texts) > step else None
        if count is None:  # one batch, or no fast tokenizer: sentence-transformers' own order
            return self._finish(model.encode(texts, batch_size=step, convert_to_numpy=True,
                                             show_progress_bar=False, normalize_embeddings=False))
        order = np.argsort(-np.asarray(count(texts)), kind="stable")  # most tokens first
        vectors = None
        for lo in range(0, len(order), step):
            rows = order[lo: lo + step]
            part = model.encode([texts[i] for i in rows], batch_size=len(rows), convert_to_numpy=True,
                                show_progress_bar=False, normalize_embeddings=False)
            if vectors is None:
                vectors = np.empty((len(texts), part.shape[1]), dtype=np.float32)
            vectors[rows] = part
        return self._finish(vectors)

    def _sort_counter(self):
        """A function giving token counts (cut at the limit) to sort texts into batches by, or None.

        ``SentenceTransformer.encode`` sorts a call's texts by characters, which puts a Chinese
        text (about a token a character) beside English ones of a quarter of its tokens; sorted by
        tokens, a batch pads little.  Needs the model's fast ``tokenizer.json``; None without it.
        """
        if self._sort_tokenizer is None:
            self._sort_tokenizer = False
            path = self.spec.path / "tokenizer.json"
            if path.is_file():
                try:
                    from tokenizers import Tokenizer

                    tok = Tokenizer.from_file(str(path))
                    if self.max_seq_length:
                        tok.enable_truncation(self.max_seq_length)
                    tok.no_padding()
                    self._sort_tokenizer = tok
                except Exception:  # an unusual tokenizer file: keep sentence-transformers' order
                    pass
        tok = self._sort_tokenizer
        if not tok:
            return None
        return lambda batch: [len(e.ids) for e in tok.encode_batch(batch, add_special_tokens=True)]

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
        A text cut by :func:`clip_for_model` counts as truncated.
        """
        mask = np.zeros(len(texts), dtype=bool)
        limit = self.max_seq_length
        if not limit:
            return mask
        long_rows = [i for i, t in enumerate(texts) if len(t) + _SPECIAL_MARGIN > limit
                     and len(t.encode("utf-8", "surrogatepass")) + _SPECIAL_MARGIN > limit]
        if not long_rows:
            return mask  # nothing can be too long
        count = self._token_counter()
        cut = limit * CHARS_PER_TOKEN
        for lo in range(0, len(long_rows), 256):
            rows = long_rows[lo: lo + 256]
            for i, n in zip(rows, count(clip_for_model([texts[i] for i in rows], limit))):
                mask[i] = n > limit or len(texts[i]) > cut
        return mask

    def _token_counter(self):
        """A function giving token counts (special tokens included) of a list of texts.

        Uses the model's ``tokenizer.json`` through the ``tokenizers`` library when the
        weights are not loaded (it loads in milliseconds), else the model's own tokenizer.
        """
        spec_file = self.spec.path / "tokenizer.json"
        if self._model is None and spec_file.is_file():
            try:
                from tokenizers import Tokenizer

                tok = Tokenizer.from_file(str(spec_file))
                tok.no_truncation()
                tok.no_padding()
                return lambda batch: [len(e.ids) for e in tok.encode_batch(batch, add_special_tokens=True)]
            except Exception:  # an unusual tokenizer file: let the model's tokenizer count
                pass
        tokenizer = self.model.tokenizer

        def count(batch: list[str]) -> list[int]:
            encoded = tokenizer(batch, add_special_tokens=True, truncation=False, return_attention_mask=False,
                                return_token_type_ids=False)
            return [len(ids) for ids in encoded["input_ids"]]

        return count

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
