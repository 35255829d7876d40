"""Static embeddings: a model2vec model distilled once from a sentence-transformers model, cached, looked up per token.

Distilling runs the source model's transformer once over each token of its
vocabulary (model2vec: mean pooling, PCA to :data:`PCA_DIMS` dimensions, Zipf/SIF
weights); a text's vector is then the mean of its tokens' vectors, with no
transformer at all.  The distilled model is kept under ``<cache root>/static/``,
keyed by the source model's fingerprint, the recipe and the model2vec version, and
written atomically (a directory renamed into place).  :class:`StaticEmbedder` is an
:class:`~engine.embedding.Embedder` whose identity names the static model, so its
vectors are cached apart from the full model's and never mixed with them.

model2vec's ``distill`` runs in one call that cannot be interrupted; the same
steps are run here from its parts, so the token encoding (the long step) reports
progress and checks the cancel token between slices of the vocabulary.  Loading
the transformer and the PCA are not interruptible.  Needs ``model2vec`` and
``skeletoken`` (in qtui's dependencies; model2vec's ``distill`` extra is not used,
as it caps transformers below 5.4).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from engine.embedder import Embedder
from engine.errors import ModelError, UsageError
from engine.models import ModelSpec, cache_key, read_st_metadata, resolve_model
from engine.options import ModelOptions
from engine.progress import CancelToken, ProgressCallback, Progress, StageMeter, check

#: Dimensions the distilled vectors keep (PCA), model2vec's default.
PCA_DIMS = 256
#: The distillation recipe (part of the cache key and of the vectors' identity).
RECIPE = f"model2vec-mean-pca{PCA_DIMS}-sif1e-4-float16"
_SIF = 1e-4
_TOKEN_REMOVE = r"\[unused\d+\]"
#: Vocabulary tokens run through the transformer between two progress reports and cancel checks.
DISTILL_SLICE = 2048
#: Texts :func:`engine.embedding.embed_texts` hands one :meth:`StaticEmbedder.encode` call.
CHUNK = 16384
#: Texts per model2vec batch inside one call.
BATCH = 2048
#: Fallback token limit when the source model does not state one.
DEFAULT_LIMIT = 512


def static_refusal(options: ModelOptions) -> str | None:
    """Why the model ``options`` asks for cannot give a static first view (one line), or None when it can."""
    from engine.muse_embedder import is_muse

    if options.embed_url:
        return ("the model runs on the --embed-url server, so there are no local weights to distill "
                "a static model from")
    if is_muse(options.model):
        return "--model muse is not a transformer with a token vocabulary; model2vec cannot distill it"
    missing = missing_packages()
    if missing:
        return f"the static model needs {' and '.join(missing)} (pip install {' '.join(missing)})"
    return None


def missing_packages() -> list[str]:
    """The packages distillation needs that are not installed (found, not imported)."""
    import importlib.util

    return [name for name in ("model2vec", "skeletoken") if importlib.util.find_spec(name) is None]


def _model2vec_version() -> str:
    """model2vec's major.minor version (a new release may distill differently)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return ".".join(version("model2vec").split(".")[:2])
    except PackageNotFoundError:
        return "0"


def static_model_dir(spec: ModelSpec, root: Path | None = None) -> Path:
    """Where the static model distilled from ``spec`` is kept."""
    from engine.cache import default_cache_root

    key = cache_key({"name": spec.name, "fingerprint": spec.fingerprint, "recipe": RECIPE,
                     "model2vec": _model2vec_version()})
    return Path(root or default_cache_root()) / "static" / key


def hidden_width(path: Path) -> int | None:
    """Width of the transformer's token states, from its ``config.json`` (None when it does not say)."""
    try:
        config = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for key in ("hidden_size", "d_model", "dim", "n_embd"):
        if isinstance(config.get(key), int):
            return config[key]
    return None


def distill(spec: ModelSpec, target: Path, device: str | None = None, progress: ProgressCallback | None = None,
            cancel: CancelToken | None = None) -> Path:
    """Distill a static model from the sentence-transformers model ``spec`` into the directory ``target``.

    Runs on ``device`` (as ``--device``: CUDA when asked or available, else the CPU).  Reports the
    stage ``distill`` (vocabulary tokens encoded of the total); ``cancel`` is checked between slices of
    :data:`DISTILL_SLICE` tokens and between the steps.  ``target`` appears whole or not at all.
    """
    from engine.atomic import atomic_directory
    from engine.devices import pick_device
    from engine.st_embedder import quiet_transformers

    device = "cuda" if pick_device(device).startswith("cuda") else "cpu"  # model2vec: MPS is slow with torch 2.8+

    if progress:
        progress(Progress("distill", 0, 1, message=f"loading {spec.name}"))
    quiet_transformers()
    from model2vec.distill.inference import apply_pca, compute_weights, create_embeddings
    from model2vec.model import StaticModel
    from model2vec.quantization import DType, quantize_embeddings
    from model2vec.tokenizer import clean_and_create_vocabulary, turn_tokens_into_ids
    from skeletoken import TokenizerModel
    from skeletoken.external.transformers import reshape_embeddings
    from transformers import AutoModel, AutoTokenizer

    try:
        with _quiet():
            model = AutoModel.from_pretrained(str(spec.path))
            tokenizer = AutoTokenizer.from_pretrained(str(spec.path), use_fast=True)
            source = TokenizerModel.from_transformers_tokenizer(tokenizer).prune_added_tokens()
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"--model {spec.name}: cannot be distilled into a static model ({first[:200]})") from None
    check(cancel)
    with _quiet():
        vocabulary = source.deep_copy()
        if vocabulary.adds_prefix_space is not None:
            vocabulary.adds_prefix_space = True
        vocabulary = clean_and_create_vocabulary(vocabulary, [], token_remove_regex=re.compile(_TOKEN_REMOVE))
        tokens = vocabulary.sorted_vocabulary
        if not tokens:
            raise ModelError(f"--model {spec.name}: its tokenizer has no vocabulary to distill")
        token_ids = turn_tokens_into_ids(tokens, source)
        model = reshape_embeddings(model, source)
    check(cancel)
    meter = StageMeter("distill", len(token_ids), progress, message=spec.name)
    parts = []
    for lo in range(0, len(token_ids), DISTILL_SLICE):
        check(cancel)
        with _quiet():  # its tqdm bar: progress is reported here instead
            parts.append(create_embeddings(model, token_ids[lo: lo + DISTILL_SLICE], device,
                                           pad_token_id=source.pad_token_id or 0, pooling="mean"))
        meter.advance(len(parts[-1]))
    del model
    check(cancel)
    with _quiet():
        embeddings = np.concatenate(parts)
        embeddings = apply_pca(embeddings, PCA_DIMS) * compute_weights(len(embeddings), _SIF)[:, None]
        embeddings = quantize_embeddings(embeddings, DType.Float16)
        config = {"model_type": "model2vec", "architectures": ["StaticModel"], "tokenizer_name": spec.name,
                  "apply_pca": PCA_DIMS, "sif_coefficient": _SIF, "hidden_dim": int(embeddings.shape[1]),
                  "seq_length": 1000000, "normalize": True, "pooling": "mean", "qtui_recipe": RECIPE,
                  "qtui_source_fingerprint": spec.fingerprint}
        static = StaticModel(vectors=embeddings, tokenizer=vocabulary.to_tokenizer(), config=config,
                             base_model_name=spec.path.name, normalize=True, max_length=token_limit(spec))
    check(cancel)
    with atomic_directory(target) as tmp, _quiet():
        static.save_pretrained(tmp)
    return target


def token_limit(spec: ModelSpec) -> int:
    """The source model's token limit (texts are cut there, as the full model cuts them)."""
    return int(read_st_metadata(spec.path).max_seq_length or DEFAULT_LIMIT)


def load_or_distill(spec: ModelSpec, root: Path | None = None, device: str | None = None,
                    progress: ProgressCallback | None = None, cancel: CancelToken | None = None):
    """The model2vec ``StaticModel`` distilled from ``spec``: read from the cache, else distilled and cached.

    A cached model that does not load (damaged) is removed and distilled again.
    """
    missing = missing_packages()
    if missing:
        raise ModelError(f"the static model needs {' and '.join(missing)} (pip install {' '.join(missing)})")
    target = static_model_dir(spec, root)
    if target.is_dir():
        got = _read(target, token_limit(spec))
        if got is not None:
            return got
        shutil.rmtree(target, ignore_errors=True)
    distill(spec, target, device, progress, cancel)
    got = _read(target, token_limit(spec))
    if got is None:
        raise ModelError(f"the static model distilled from {spec.name} does not load from {target}")
    return got


def _read(directory: Path, limit: int):
    from model2vec.model import StaticModel

    try:
        with _quiet():
            return StaticModel.from_pretrained(directory, force_download=False, max_length=limit)
    except Exception:  # damaged or half-deleted: the caller distills again
        return None


@contextlib.contextmanager
def _quiet():
    """model2vec and transformers print progress bars and warnings on stderr (they would tear a TUI)."""
    import logging

    before = logging.root.manager.disable
    logging.disable(max(before, logging.WARNING))
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logging.disable(before)


class StaticEmbedder(Embedder):
    """Embeds texts with the static model distilled from a sentence-transformers model (numpy, no transformer).

    The model is read from the cache, or distilled, on first use (:meth:`load`), reporting to
    ``progress`` and checking ``cancel``; vectors are float32 and L2-normalized, cut to ``dim`` when given
    (PCA components, strongest first).  Texts are cut at the source model's token limit, as the full
    model cuts them.  Queries are embedded like documents (a static model has no prompts).
    """

    kind = "model2vec"
    static = True

    def __init__(self, model: str | None = None, *, dim: int | None = None, batch_size: int | None = None,
                 device: str | None = None, cache_root: Path | None = None,
                 progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> None:
        self.spec: ModelSpec = resolve_model(model)
        self._model_arg = model
        self.source_name = self.spec.name
        self.name = f"{self.spec.name} (static)"
        self.cache_root = cache_root
        self.progress, self.cancel = progress, cancel
        self.device = "cpu (numpy)"
        self._wanted_device = device
        self._batch = batch_size
        self._model = None
        self._source = None  # the full model's embedder, for counting tokens (weights never loaded)
        self._lock = threading.Lock()
        self.max_seq_length = token_limit(self.spec)
        width = hidden_width(self.spec.path)
        self.native_dim = min(PCA_DIMS, width) if width else None
        if self.native_dim is None:  # the config does not say: the model must tell
            self.load()
        if dim is not None and not 1 <= dim <= self.native_dim:
            raise UsageError(f"--dim {dim}: must be between 1 and the static model's {self.native_dim} dimensions")
        self.dim = dim or self.native_dim

    @property
    def loaded(self) -> bool:
        """Whether the static model is in memory yet."""
        return self._model is not None

    def load(self) -> None:
        """Read the static model from the cache, or distill it (thread-safe; a no-op once loaded)."""
        with self._lock:
            if self._model is not None:
                return
            model = load_or_distill(self.spec, self.cache_root, self._wanted_device, self.progress, self.cancel)
            self.native_dim = self.native_dim or int(model.dim)
            self._model = model

    @property
    def model(self):
        """The model2vec ``StaticModel`` (loaded or distilled on first access)."""
        if self._model is None:
            self.load()
        return self._model

    @property
    def batch_size(self) -> int:
        return self._batch or BATCH

    @property
    def chunk_size(self) -> int:
        """Texts one :meth:`encode` call should get: lookups are fast, so many per progress step."""
        return max(CHUNK, self.batch_size)

    @property
    def identity(self) -> dict:
        """The static model's identity: its source model, recipe and dimension (known before distilling)."""
        return {"name": self.name, "source": self.source_name, "kind": self.kind, "fingerprint": self.spec.fingerprint,
                "recipe": RECIPE,
                "model2vec": _model2vec_version(), "dim": self.dim, "max_seq_length": self.max_seq_length}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed documents; returns (n, dim) float32 unit vectors (zero for a text with no known token)."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=self.batch_size, use_multiprocessing=False,
                                    normalize=False, show_progress_bar=False)
        vectors = np.asarray(vectors, dtype=np.float32)[:, : self.dim]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vectors / norms

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one search query (the same way as a document)."""
        return self.encode([text])[0]

    def truncated_mask(self, texts: Sequence[str]) -> np.ndarray:
        """Which ``texts`` are longer than the source model's token limit (counted by its tokenizer)."""
        if self._source is None:
            from engine.st_embedder import SentenceTransformerEmbedder

            self._source = SentenceTransformerEmbedder(self._model_arg, device="cpu")
        return self._source.truncated_mask(texts)


def make_static_embedder(options: ModelOptions, cache_root: Path | None = None,
                         progress: ProgressCallback | None = None,
                         cancel: CancelToken | None = None) -> StaticEmbedder:
    """The static embedder of the model ``options`` asks for, or :class:`UsageError` saying why there is none."""
    refusal = static_refusal(options)
    if refusal:
        raise UsageError(f"no static first view: {refusal}")
    return StaticEmbedder(options.model, dim=options.dim, batch_size=None, device=options.device,
                          cache_root=cache_root, progress=progress, cancel=cancel)
