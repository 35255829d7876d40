"""A sentence-transformers model run with onnxruntime on the CPU (``--backend onnx`` / ``onnx-int8``).

The model's transformer is exported to ONNX once (``torch.onnx.export``) and kept
in the user cache directory under a key of the model's fingerprint, the backend and
the onnx/onnxruntime versions; ``onnx-int8`` adds onnxruntime's dynamic int8
quantization of the weights.  Texts are tokenized with the model's fast
``tokenizer.json`` (``tokenizers``), cut at the model's ``max_seq_length``, pooled as
its Pooling module says (mean, CLS or max) and L2-normalized, as the
sentence-transformers model does.  The texts of one :meth:`~OnnxEmbedder.encode` call
(:data:`CHUNK` of them from :func:`engine.embedding.embed_texts`) are run in batches of
:data:`BATCH` cut from them sorted by token count, so a batch pads little: sorting by
characters, as ``SentenceTransformer.encode`` does, leaves a Chinese text (a token a
character) beside an English one of four times fewer tokens, and the batch pads a lot.
The backend is part of :attr:`identity`, so the cached vectors of one backend never serve another.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from engine.errors import ModelError, UsageError
from engine.st_embedder import SentenceTransformerEmbedder, clip_for_model, query_prompt

BACKENDS = ("torch", "onnx", "onnx-int8")
ONNX_BACKENDS = ("onnx", "onnx-int8")
OPSET = 17
#: How ``onnx-int8`` quantizes (part of its identity: vectors of another recipe are never reused):
#: dynamic int8, per output channel, MatMul weights only, the feed-forward output projections kept
#: in fp32 (quantizing them too takes the mean cosine to fp32 under 0.99; 7-bit
#: weights (``reduce_range``) do not win it back, so it is the activations' range, not int16 saturation).
INT8_RECIPE = "dynamic-qint8-per-channel-matmul-ffn-out-fp32"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
#: Texts per onnxruntime run unless ``batch_size`` is given: with texts sorted by token count,
#: small batches pad least and their activations stay in the CPU's cache.
BATCH = 16
#: Texts :func:`engine.embedding.embed_texts` hands one ``encode`` call (at least two batches): the
#: more there are to sort by token count, the less a batch pads (few enough that progress still moves).
CHUNK = 256
#: Modules of a sentence-transformers pipeline this backend reproduces (anything else: use torch).
_KNOWN_MODULES = ("Transformer", "Pooling", "Normalize")


def check_backend(backend: str | None, device: str | None = None) -> str:
    """``backend`` validated ('torch' when None); the onnx backends run on the CPU only."""
    backend = (backend or "torch").lower()
    if backend not in BACKENDS:
        raise UsageError(f"--backend {backend}: choose from {', '.join(BACKENDS)}")
    if backend != "torch" and device not in (None, "auto", "cpu"):
        raise UsageError(f"--backend {backend} runs on the CPU; drop --device {device} or use --backend torch")
    if backend != "torch":
        import importlib.util  # found, not imported: a reopen whose vectors are cached never runs the model

        if importlib.util.find_spec("onnxruntime") is None:
            raise UsageError(f"--backend {backend} needs onnxruntime and onnx: pip install 'qtui[onnx]'")
    return backend


def read_pooling(path: Path) -> tuple[str, bool]:
    """('mean' | 'cls' | 'max', normalize?) from a sentence-transformers directory's module files."""
    try:
        modules = json.loads((Path(path) / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        modules = [{"type": "Transformer", "path": ""}, {"type": "Pooling", "path": "1_Pooling"}]
    mode, normalize = "mean", False
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        if kind not in _KNOWN_MODULES:
            raise ModelError(f"the onnx backend runs Transformer, Pooling and Normalize modules only; "
                             f"this model also has {kind} (use --backend torch)")
        if kind == "Normalize":
            normalize = True
        if kind == "Pooling":
            try:
                config = json.loads((Path(path) / module.get("path", "") / "config.json").read_text("utf-8"))
            except (OSError, ValueError):
                config = {"pooling_mode_mean_tokens": True}
            modes = [m for m, key in (("cls", "pooling_mode_cls_token"), ("mean", "pooling_mode_mean_tokens"),
                                      ("max", "pooling_mode_max_tokens")) if config.get(key)]
            other = [k for k, v in config.items() if k.startswith("pooling_mode_") and v
                     and k not in ("pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens")]
            if len(modes) != 1 or other or config.get("include_prompt") is False:
                raise ModelError("the onnx backend supports one of mean, CLS or max pooling; "
                                 "this model pools otherwise (use --backend torch)")
            mode = modes[0]
    return mode, normalize


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """Sentence vectors from token states (batch, seq, width) and the attention mask (batch, seq)."""
    if mode == "cls":
        return hidden[:, 0]
    m = mask[:, :, None].astype(hidden.dtype)
    if mode == "max":
        return np.where(m > 0, hidden, np.finfo(hidden.dtype).min).max(axis=1)
    return (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)


class OnnxEmbedder(SentenceTransformerEmbedder):
    """A sentence-transformers model's transformer in onnxruntime (fp32, or int8 weights), on the CPU."""

    def __init__(self, model: str | None = None, *, backend: str = "onnx", dim: int | None = None,
                 batch_size: int | None = None, instruction: str | None = None, threads: int | None = None,
                 cache_root: Path | None = None) -> None:
        self.backend = check_backend(backend, "cpu")
        if self.backend == "torch":
            raise UsageError("OnnxEmbedder: pick onnx or onnx-int8 (torch is SentenceTransformerEmbedder)")
        self.threads = threads
        self._cache_root = cache_root
        self._session = None
        self._tokenizer = None
        self._pad_id = 0
        self._input_names: tuple[str, ...] = ()
        self._query_prefix = ""
        self._onnx_lock = threading.Lock()
        self.pooling: str | None = None
        super().__init__(model, device="cpu", dim=dim, batch_size=batch_size, instruction=instruction)
        self.pooling, self.normalize = read_pooling(self.spec.path)  # an unsupported model fails now

    @property
    def identity(self) -> dict:
        extra = {"quantization": INT8_RECIPE} if self.backend == "onnx-int8" else {}
        return {**super().identity, "backend": self.backend, **extra}

    @property
    def loaded(self) -> bool:
        return self._session is not None

    @property
    def batch_size(self) -> int:
        return self._wanted_batch or BATCH

    @property
    def chunk_size(self) -> int:
        return max(CHUNK, 2 * self.batch_size)

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def precision(self) -> str:
        return "int8" if self.backend == "onnx-int8" else "fp32"

    def onnx_path(self) -> Path:
        """Where the exported (and for int8 quantized) model of this model and backend is kept."""
        from engine.cache import default_cache_root
        from engine.models import cache_key

        import onnxruntime

        key = cache_key({"name": self.spec.name, "fingerprint": self.spec.fingerprint, "backend": self.backend,
                         "opset": OPSET, "onnxruntime": onnxruntime.__version__,
                         "quantization": INT8_RECIPE if self.backend == "onnx-int8" else None})
        return Path(self._cache_root or default_cache_root()) / "onnx" / key / "model.onnx"

    def load(self) -> None:
        """Export the model on first use (once per machine), then open it in onnxruntime."""
        with self._onnx_lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            path = self.onnx_path()
            if not path.is_file():
                export_onnx(self.spec.path, path, quantize=self.backend == "onnx-int8")
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads or 0
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # idle worker threads sleep instead of spinning: the app keeps the CPU for the screen
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            try:
                session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            except Exception as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise ModelError(f"--backend {self.backend}: the exported model does not open ({first[:200]}); "
                                 f"delete {path.parent} to export it again") from None
            from engine.models import read_st_metadata

            if self.pooling is None:
                self.pooling, self.normalize = read_pooling(self.spec.path)
            self._input_names = tuple(i.name for i in session.get_inputs())
            self._tokenizer, self._pad_id = _tokenizer(self.spec.path, self.max_seq_length, Tokenizer)
            prompts = read_st_metadata(self.spec.path).prompts or {}
            self._query_prefix = query_prompt(self.instruction) if self.instruction else prompts.get("query") or ""
            if self.native_dim is None:  # the files do not say: one text tells
                self.native_dim = int(self._run(self._tokenizer.encode_batch(["dimension"]), session).shape[1])
            self._session = session

    @property
    def model(self):
        raise AttributeError("the onnx backend has no torch model")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed documents; returns (n, dim) float32 unit vectors."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        if self._session is None:
            self.load()
        step = self.batch_size
        encoded = self._tokenizer.encode_batch(clip_for_model(texts, self.max_seq_length))
        order = np.argsort([-len(e.ids) for e in encoded], kind="stable")  # longest first
        vectors = None
        for lo in range(0, len(order), step):
            rows = order[lo: lo + step]
            part = self._run([encoded[i] for i in rows])
            if vectors is None:
                vectors = np.empty((len(encoded), part.shape[1]), dtype=np.float32)
            vectors[rows] = part
        return self._finish(vectors)

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one query with the given instruction or the model's own query prompt."""
        if self._session is None:
            self.load()
        return self.encode([self._query_prefix + text])[0]

    @property
    def max_seq_length(self) -> int:
        return int(self._file_limit or 512)

    def _run(self, encoded: list, session=None) -> np.ndarray:
        """Pooled vectors of one batch of tokenized texts, padded to the longest of them."""
        session = session or self._session
        width = max(len(e.ids) for e in encoded)
        ids = np.full((len(encoded), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encoded), width), dtype=np.int64)
        types = np.zeros((len(encoded), width), dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, :len(e.ids)] = e.ids
            mask[row, :len(e.ids)] = e.attention_mask
            types[row, :len(e.ids)] = e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = session.run(None, {k: v for k, v in feed.items() if k in self._input_names})[0]
        return pool(hidden, mask, self.pooling)

    def _token_counter(self):
        spec_file = self.spec.path / "tokenizer.json"
        if not spec_file.is_file():
            raise ModelError("the onnx backend needs the model's tokenizer.json (a fast tokenizer)")
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(spec_file))
        tok.no_truncation()
        tok.no_padding()
        return lambda batch: [len(e.ids) for e in tok.encode_batch(batch, add_special_tokens=True)]


def _tokenizer(model_dir: Path, limit: int, factory):
    """The model's fast tokenizer, cutting at ``limit`` tokens and padding nothing, and its pad token's id."""
    path = Path(model_dir) / "tokenizer.json"
    if not path.is_file():
        raise ModelError("the onnx backend needs the model's tokenizer.json (a fast tokenizer)")
    tok = factory.from_file(str(path))
    if limit:
        tok.enable_truncation(limit)
    pad_token = "[PAD]"
    try:
        config = json.loads((Path(model_dir) / "tokenizer_config.json").read_text(encoding="utf-8"))
        pad_token = config.get("pad_token") or pad_token
        pad_token = pad_token.get("content", "[PAD]") if isinstance(pad_token, dict) else pad_token
    except (OSError, ValueError):
        pass
    pad_id = tok.token_to_id(pad_token)
    tok.no_padding()
    return tok, pad_id if pad_id is not None else 0


def export_onnx(model_dir: Path, target: Path, quantize: bool = False) -> Path:
    """Export the transformer of the sentence-transformers model in ``model_dir`` to ``target`` (atomically)."""
    import torch
    from transformers import AutoModel

    try:
        base = AutoModel.from_pretrained(str(model_dir)).eval()
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"the onnx backend could not load the transformer of {model_dir} ({first[:200]})") from None
    import inspect

    accepted = set(inspect.signature(base.forward).parameters)
    names = [n for n in _INPUTS if n in accepted]

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.base = base

        def forward(self, *args):
            return self.base(**dict(zip(names, args))).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{uuid.uuid4().hex}.onnx")
    dummy = tuple(torch.ones((2, 8), dtype=torch.int64) if n != "token_type_ids"
                  else torch.zeros((2, 8), dtype=torch.int64) for n in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(Hidden(), dummy, str(tmp), input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=OPSET, dynamo=False)
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            import onnx

            graph = onnx.load(str(tmp)).graph
            keep = [n.name for n in graph.node if n.op_type == "MatMul" and "/output/dense/" in n.name
                    and "/attention/" not in n.name]  # feed-forward output projections stay fp32
            quantized = tmp.with_name(tmp.stem + "-int8.onnx")
            before = logging.root.manager.disable
            logging.disable(max(before, logging.WARNING))  # its advice to pre-process, printed over the app
            try:
                quantize_dynamic(str(tmp), str(quantized), weight_type=QuantType.QInt8, per_channel=True,
                                 op_types_to_quantize=["MatMul"], nodes_to_exclude=keep)
            finally:
                logging.disable(before)
            os.replace(quantized, tmp)
        os.replace(tmp, target)
    except ModelError:
        raise
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"the onnx export of {model_dir} failed ({first[:200]})") from None
    finally:
        for leftover in target.parent.glob(f"{tmp.stem}*"):
            leftover.unlink(missing_ok=True)
    return target
