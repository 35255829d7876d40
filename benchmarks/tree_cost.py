"""What the cluster tree costs at scale: the clustering stage with the tree beside the code before it.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.tree_cost [--size 100000] [--algo auto] [--repeats 3]
                                                             [--baseline-rev REV] [--corpus FILE]

The clustering stage is what ``Session.cluster`` does before explaining: ``cached_cluster`` of the
session's vectors into an empty results cache (hash the vectors, cluster, store the entry), then the
same call again (the reopen: one read).  It runs in fresh subprocesses, alternately with this tree's
``engine`` and with the ``engine`` of ``--baseline-rev`` (default: the parent of the commit that added
``engine/cluster_tree.py``, i.e. the code before the tree), on the same vectors: the ``--size``-row
scale corpus of :mod:`benchmarks.corpus` (or ``--corpus FILE``), embedded with the bundled MiniLM into
the bench cache (the first run embeds what is missing; minutes).  Prints the median of each and their ratio (the issue's
target: < 1.10), the entry's size on disk, and how long a level change takes at that size
(:meth:`ClusterTree.labels_at` for every zoom level, each cut fresh) beside a plain copy of the labels.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STAGE = r"""
import json, sys, tempfile, time
from pathlib import Path
import numpy as np
from engine.clustering import ClusterSettings
from engine.clustering_cache import cached_cluster
X = np.load(sys.argv[1])
with tempfile.TemporaryDirectory() as root:
    t = time.perf_counter()
    first = cached_cluster(X, ClusterSettings(sys.argv[2]), Path(root))
    stage = time.perf_counter() - t
    t = time.perf_counter()
    again = cached_cluster(X, ClusterSettings(sys.argv[2]), Path(root))
    reopen = time.perf_counter() - t
    size = sum(p.stat().st_size for p in Path(root, "clusterings").glob("*.npz"))
assert again.info.get("from_cache") and np.array_equal(again.labels, first.labels)
print(json.dumps({"stage": stage, "reopen": reopen, "bytes": size, "clusters": first.n_clusters,
                  "tree": getattr(first, "tree", None) is not None}))
"""


def baseline_source(rev: str | None) -> tuple[str, Path]:
    """(revision, folder) holding the ``engine`` package of ``rev`` (default: the code before the tree)."""
    if rev is None:
        added = subprocess.run(["git", "-C", str(ROOT), "rev-list", "--reverse", "HEAD", "--",
                                "engine/cluster_tree.py"], capture_output=True, text=True, check=True).stdout.split()
        if not added:
            raise SystemExit("no commit adds engine/cluster_tree.py here; give --baseline-rev")
        rev = f"{added[0]}^"
    folder = Path(tempfile.mkdtemp(prefix="qtui-baseline-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "engine"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return rev, folder


def run_stage(source: Path, vectors: Path, algo: str) -> dict:
    """The clustering stage with the ``engine`` package found in ``source``, in a fresh process."""
    env = dict(os.environ, PYTHONPATH=str(source))  # ahead of any installed qtui
    done = subprocess.run([sys.executable, "-c", STAGE, str(vectors), algo], cwd=source, env=env,
                          capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"stage failed in {source}:\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])


def level_change_ms(X: np.ndarray, algo: str) -> tuple[float, float, list]:
    """(median ms of a level change, median ms of copying the labels, the ladder) at this size."""
    from engine.clustering import ClusterSettings, cluster

    clustering = cluster(X, ClusterSettings(algo))
    tree = clustering.tree
    change, copy = [], []
    for _, k in tree.ladder():
        tree._memo.clear()  # every level change computes its cut afresh
        t = time.perf_counter()
        tree.labels_at(k)
        change.append(time.perf_counter() - t)
        t = time.perf_counter()
        clustering.labels.copy()
        copy.append(time.perf_counter() - t)
    return statistics.median(change) * 1e3, statistics.median(copy) * 1e3, tree.ladder()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--algo", default="auto", choices=("auto", "kmeans", "hdbscan"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-rev", default=None)
    parser.add_argument("--corpus", type=Path, default=None, help="cluster this file instead of the scale corpus")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from benchmarks.corpus import bench_dir, build_corpus
    from engine.session import Session

    os.environ.setdefault("QTUI_CACHE_DIR", str(bench_dir() / "cache"))
    path = args.corpus or build_corpus(args.size)
    session = Session.open(path)
    rev, old = baseline_source(args.baseline_rev)
    with tempfile.TemporaryDirectory() as tmp:
        vectors = Path(tmp) / "vectors.npy"
        np.save(vectors, session.vectors)
        print(f"{len(session.vectors):,} vectors of {path.name}; baseline {rev}; {args.algo}", flush=True)
        runs: dict[str, list[dict]] = {"tree": [], "before": []}
        for i in range(args.repeats):
            for name, source in (("tree", ROOT), ("before", old)) if i % 2 == 0 else (("before", old), ("tree", ROOT)):
                got = run_stage(source, vectors, args.algo)
                runs[name].append(got)
                print(f"  {name:6} stage {got['stage']:6.2f} s  reopen {got['reopen']:.3f} s  "
                      f"entry {got['bytes'] / 1e6:.2f} MB  {got['clusters']} clusters  tree {got['tree']}", flush=True)
    med = {name: {key: statistics.median(r[key] for r in rs) for key in ("stage", "reopen", "bytes")}
           for name, rs in runs.items()}
    ratio = med["tree"]["stage"] / med["before"]["stage"]
    change, copy, ladder = level_change_ms(session.vectors, args.algo)
    print(f"clustering stage ({args.algo}, {len(session.vectors):,} rows), median of {args.repeats}: "
          f"with the tree {med['tree']['stage']:.2f} s, before {med['before']['stage']:.2f} s, "
          f"ratio {ratio:.3f} (target < 1.10)")
    print(f"reopen read: {med['tree']['reopen'] * 1e3:.0f} ms with the tree, {med['before']['reopen'] * 1e3:.0f} ms "
          f"before; entry {med['tree']['bytes'] / 1e6:.2f} MB vs {med['before']['bytes'] / 1e6:.2f} MB")
    print(f"level change (labels_at, fresh cut), median over {len(ladder)} levels {ladder}: {change:.2f} ms; "
          f"copying the labels: {copy:.2f} ms")
    return {"runs": runs, "median": med, "ratio": ratio, "level_change_ms": change, "copy_ms": copy}


if __name__ == "__main__":
    main()
