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
    """Which model embeds, where, and how.

    ``embed_url`` sends the texts to an OpenAI-compatible embeddings server
    (``model`` is then the served model name; ``api_key_env`` names the variable
    holding its key; ``concurrency``, ``timeout`` and ``retries`` shape the
    requests); ``model`` None or "auto" is chosen from the texts (:mod:`engine.model_choice`);
    ``model="muse"`` is the multilingual USE; anything else is a
    sentence-transformers model, run at ``precision`` (auto: fp16 on CUDA) with ``backend``
    (None or "torch"; "onnx" or "onnx-int8" run it in onnxruntime on the CPU).
    """

    model: str | None = None
    dim: int | None = None
    device: str | None = None
    batch_size: int | None = None
    instruction: str | None = None
    precision: str | None = None
    backend: str | None = None
    embed_url: str | None = None
    api_key_env: str | None = None
    concurrency: int = 4
    timeout: float = 120.0
    retries: int = 5


@dataclass
class SessionOptions:
    """Everything needed to open a file; defaults work for a plain ``qtui open FILE``.

    ``labels`` / ``labels_from``: a labels file (one label a line, optionally ``name: description``) or an
    earlier labeled export to propose a label per cluster from (:mod:`engine.label_seeds`); opening only
    carries them.

    ``first_view``: which vectors :meth:`engine.session.Session.open` embeds with: "full" (the
    model itself), "static" (a static model distilled from it, see :mod:`engine.static_embedder`)
    or "auto" (static when many texts lack cached full vectors, see :mod:`engine.first_view`).
    ``clusters``: the zoom level of the review's tree the app opens at, the one nearest this many
    clusters (:meth:`engine.review_levels.ReviewLevels.level_nearest`); None: the clustering's own level.
    """

    load: LoadOptions = field(default_factory=LoadOptions)
    model: ModelOptions = field(default_factory=ModelOptions)
    cache_dir: Path | None = None
    use_cache: bool = True
    first_view: str = "full"
    clusters: int | None = None
    labels: Path | None = None
    labels_from: Path | None = None
