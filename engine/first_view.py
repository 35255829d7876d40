"""Which vectors a file's first view shows: the static model's (seconds) or the full model's (cached or embedded).

``--first-view static`` always takes the static model, ``full`` never does, and
``auto`` takes it when at least :data:`AUTO_STATIC_MIN` distinct texts have no
cached vectors of the full model, so a file the full model has embedded before
opens with its full vectors.  A model that cannot be distilled (muse, a remote
server) is never shown static: ``auto`` says why; ``static`` is refused for a model
the person named, and falls back to the full model, saying so, for one that
``--model auto`` chose (muse for mostly non-English texts: no multilingual model
with a token vocabulary is bundled to distill instead).
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from engine.errors import UsageError

FIRST_VIEWS = ("auto", "static", "full")
#: ``auto`` shows the static view when at least this many distinct texts lack cached full vectors:
#: embedding them with a transformer on a CPU takes a minute or more, the static model a second.
AUTO_STATIC_MIN = 5000


@dataclass(frozen=True)
class FirstView:
    """The decision: ``kind`` "static" or "full", and the reason in a few words (for a status line)."""

    kind: str
    reason: str

    @property
    def static(self) -> bool:
        return self.kind == "static"


def choose_first_view(requested: str | None, missing: int, refusal: str | None = None,
                      threshold: int = AUTO_STATIC_MIN, chosen: str | None = None) -> FirstView:
    """Decide the first view from the request, the distinct texts without cached full vectors (``missing``)
    and why the model cannot be distilled (``refusal``, None when it can).

    ``chosen``: the model ``--model auto`` chose (None when the person named one): a ``static`` request it
    cannot serve falls back to the full model.  Raises :class:`UsageError` for an unknown request, or
    ``static`` asked of a named model that cannot be distilled.
    """
    requested = (requested or "full").lower()
    if requested not in FIRST_VIEWS:
        raise UsageError(f"--first-view {requested}: choose from {', '.join(FIRST_VIEWS)}")
    if requested == "full":
        return FirstView("full", "full model (--first-view full)")
    if refusal:
        if requested == "static" and chosen is None:
            raise UsageError(f"--first-view static: {refusal}")
        if chosen is not None:
            return FirstView("full", f"full model: --model auto chose {chosen}, which has no static view ({refusal})")
        return FirstView("full", f"full model: no static view ({refusal})")
    if requested == "static":
        return FirstView("static", "static model (--first-view static)")
    if missing >= threshold:
        return FirstView("static", f"static model: {missing:,} texts have no full vectors yet")
    if missing:
        return FirstView("full", f"full model: only {missing:,} texts to embed")
    return FirstView("full", "full model: all vectors cached")


def missing_full_vectors(hashes: np.ndarray, cache) -> int:
    """How many distinct texts (by their :func:`~engine.cache.text_hashes`) have no vector in ``cache``
    (the full model's :class:`~engine.cache.EmbeddingCache`; None: no cache, so all of them)."""
    keys = np.unique(np.ascontiguousarray(hashes).view("V16").ravel())
    if cache is None or len(keys) == 0:
        return len(keys)
    return int(len(keys) - cache.contains(keys.view(np.uint8).reshape(-1, 16)).sum())


#: Share of a refinement each stage ends at (embedding with the full model is nearly all of it).
REFINE_STAGES = {"model": 0.02, "embed": 0.90, "cluster": 0.97, "keywords": 0.99, "metrics": 1.0}


def refining_share(progress) -> float:
    """How far a refinement (:meth:`engine.review_session.ReviewSession.refine_plan`) is, in [0, 1], from
    the :class:`~engine.progress.Progress` it reported last (stages in :data:`REFINE_STAGES` order)."""
    order = list(REFINE_STAGES)
    if progress.stage not in REFINE_STAGES:
        return 0.0
    start = REFINE_STAGES[order[order.index(progress.stage) - 1]] if progress.stage != order[0] else 0.0
    return start + (REFINE_STAGES[progress.stage] - start) * progress.fraction


def vectors_status(static: bool, refining=None, ready: bool = False) -> str:
    """The status line's words for the vectors a board shows: 'full vectors', 'static vectors · refining
    34%…' while ``refining`` (its last Progress) runs, 'static vectors · refined clusters ready' once ``ready``."""
    if not static:
        return "full vectors"
    if ready:
        return "static vectors · refined clusters ready"
    if refining is not None:
        return f"static vectors · refining {refining_share(refining):.0%}…"
    return "static vectors"
