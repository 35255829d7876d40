"""Embedding throughput: qtui's embed stage and its onnx backends beside a plain ``SentenceTransformer.encode``.

    python -m benchmarks.embed_speed --size 100000 --sample 2000 [--threads 1]

The sample is ``--sample`` texts drawn at random (seed 0) from the scale-up corpus
(:mod:`benchmarks.corpus`), so short, long, English and Chinese texts are mixed as
in the file.  Every figure embeds the same texts in the same process, cache off:

- baseline: ``SentenceTransformer(bundled MiniLM, device="cpu").encode(texts, batch_size=32)``, run
  before and after the others (the mean of both runs);
- qtui torch: :func:`engine.embedding.embed_texts` with the default embedder (the whole stage:
  hashing, de-duplication, length ordering, float16 rounding);
- qtui onnx / onnx-int8: the same stage with ``--backend onnx`` / ``onnx-int8``, and the mean and
  minimum cosine of their vectors to the fp32 torch ones.

The texts are embedded in four slices, each slice by every way in turn, so load changes on a
shared machine hit every figure alike.  Still, other processes slow torch's two threads
more than onnxruntime's, so on a loaded
machine the onnx ratios come out high; the 1-minute load average before and after is printed beside them,
and ``--threads 1`` (every way on one thread) gives ratios that load barely moves.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from benchmarks.corpus import build_corpus


def sample_texts(size: int, sample: int, seed: int = 0) -> list[str]:
    """``sample`` distinct texts drawn at random from the ``size``-row scale-up corpus."""
    with open(build_corpus(size), encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(texts), size=min(sample, len(texts)), replace=False)
    return [texts[i] for i in sorted(pick)]


def measure(texts: list[str], backends=("onnx", "onnx-int8"), rounds: int = 4, threads: int | None = None) -> dict:
    """Texts per second of each way of embedding ``texts``, and cosines of the onnx vectors to torch's.

    The texts are cut into ``rounds`` slices and every way embeds each slice in turn (baseline
    first and last), so a change of load on a shared machine hits all of them alike.  ``threads``:
    torch's and onnxruntime's threads (default: theirs, one a core).
    """
    from engine.embedding import embed_texts
    from engine.onnx_embedder import OnnxEmbedder
    from engine.st_embedder import SentenceTransformerEmbedder

    load_before = os.getloadavg()[0]
    if threads:
        import torch

        torch.set_num_threads(threads)
    torch_embedder = SentenceTransformerEmbedder(device="cpu")
    plain = torch_embedder.model  # the very SentenceTransformer a plain user would load

    def baseline(batch):
        return plain.encode(batch, batch_size=32, convert_to_numpy=True, show_progress_bar=False,
                            normalize_embeddings=True)

    ways = {"baseline": baseline, "qtui torch": lambda b: embed_texts(b, torch_embedder)[0]}
    for backend in backends:
        embedder = OnnxEmbedder(backend=backend, threads=threads)
        embedder.load()  # the one-off export is not part of the throughput
        ways[f"qtui {backend}"] = lambda b, e=embedder: embed_texts(b, e)[0]
    ways["baseline again"] = baseline
    for fn in ways.values():
        fn(texts[:64])  # warm-up: first-call allocations, thread pools
    seconds = dict.fromkeys(ways, 0.0)
    vectors: dict[str, list] = {name: [] for name in ways}
    step = -(-len(texts) // rounds)
    for lo in range(0, len(texts), step):
        part = texts[lo: lo + step]
        for name, fn in ways.items():
            t = time.perf_counter()
            out = fn(part)
            seconds[name] += time.perf_counter() - t
            vectors[name].append(np.asarray(out, dtype=np.float32))
    rates = {name: len(texts) / sec for name, sec in seconds.items()}
    reference = np.concatenate(vectors["baseline"])
    figures: dict = {"qtui torch": rates["qtui torch"]}
    for backend in backends:
        got = np.concatenate(vectors[f"qtui {backend}"])
        cos = np.sum(got * reference, axis=1) / np.linalg.norm(got, axis=1)
        figures[f"qtui {backend}"] = rates[f"qtui {backend}"]
        figures[f"{backend} cosine"] = (float(cos.mean()), float(cos.min()))
    figures["baseline"] = (rates["baseline"] + rates["baseline again"]) / 2
    figures["baseline runs"] = (rates["baseline"], rates["baseline again"])
    figures["mean chars"] = float(np.mean([len(t) for t in texts]))
    figures["load"] = (load_before, os.getloadavg()[0])
    figures["threads"] = threads or os.cpu_count()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=None, help="threads of every way (default: one a core)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    figures = measure(sample_texts(args.size, args.sample), threads=args.threads)
    for name, value in figures.items():
        ratio = f"  {value / figures['baseline']:.2f}x plain" if name.startswith("qtui") else ""
        print(f"{name:<20} {value}{ratio}")


if __name__ == "__main__":
    main()
