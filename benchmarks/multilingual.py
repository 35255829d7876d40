"""NMI of KMeans (true k) on the Chinese and the mixed-language shared sets, English MiniLM versus muse.

    .venv/bin/python benchmarks/multilingual.py [--sets toutiao xsid] [--models minilm muse] [--limit N]

Embeddings go through the normal cache ($QTUI_CACHE_DIR or the user cache), so
a second run only clusters.  Prints one line per set and model: rows, k, NMI,
embedding rate (rows/s, 0 when all came from the cache).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.clustering import ClusterSettings, cluster  # noqa: E402
from engine.embedding import embed_texts, open_cache  # noqa: E402
from engine.options import ModelOptions  # noqa: E402
from engine.session import make_embedder, unit_rows  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["toutiao", "xsid"])
    parser.add_argument("--models", nargs="+", default=["minilm", "muse"])
    parser.add_argument("--limit", type=int, default=0, help="first N rows of each set (default: all)")
    args = parser.parse_args()
    from sklearn.metrics import normalized_mutual_info_score

    embedders = {name: make_embedder(ModelOptions(model=name, device="cpu")) for name in args.models}
    for name in args.sets:
        path = ROOT.parent / "shared" / "data" / f"{name}.jsonl"
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if args.limit:
            rows = rows[: args.limit]
        texts = [r["text"] for r in rows]
        _, gold = np.unique([r["label"] for r in rows], return_inverse=True)
        k = int(gold.max()) + 1
        for model, embedder in embedders.items():
            t = time.perf_counter()
            vectors, stats = embed_texts(texts, embedder, open_cache(embedder))
            seconds = time.perf_counter() - t
            found = cluster(unit_rows(vectors), ClusterSettings(algo="kmeans", k=k, seed=0)).labels
            nmi = normalized_mutual_info_score(gold.ravel(), found)
            rate = stats.embedded / seconds if stats.embedded else 0.0
            print(f"{name:8} {model:7} rows {len(texts):6,} k {k:3}  NMI {nmi:.3f}  "
                  f"embedded {stats.embedded:6,} at {rate:5.0f}/s", flush=True)


if __name__ == "__main__":
    main()
