"""Keeping the long-lived heap out of Python's cyclic collector once a big step is done."""

from __future__ import annotations

import gc


def freeze_heap() -> None:
    """Keep everything alive now (texts, the model, jieba's dictionary, the clustering) out of Python's
    cyclic collector.  Without it a full collection walks the whole heap while the person types (pauses
    the person feels at 100k rows); objects freed by reference count are still freed, and no collection
    runs first, as that would lengthen the opening.  Called again when background work is done: the
    modules the map layout and the model bring in (scikit-learn, onnxruntime) would make each full
    collection long again.
    """
    gc.freeze()
