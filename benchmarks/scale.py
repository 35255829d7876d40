"""Engine figures at scale, each beside a baseline: warm reopen, peak memory, clustering, live query.

Used by :mod:`benchmarks.run`; every function returns plain numbers.

- :func:`probe` runs in a fresh subprocess what the app does on opening a file whose vectors are
  cached (``Session.open`` + ``Session.cluster``) and reports the stage times and the peak RSS
  (VmHWM from ``/proc/self/status``); ``floor=True`` instead only imports the same libraries and holds the
  texts and one float32 copy of the vectors — the memory floor of the data itself.
- :func:`query_times`: ``Session.search_text`` (query embedding included) vs. the plain way: the
  ``SentenceTransformer`` encode of the query, a numpy float32 matrix product and a top-k sort.
- :func:`million_vectors`: 1,000,000 float16 unit vectors, memory-mapped: the real 100k vectors,
  each repeated 10 times with Gaussian noise (sigma 0.02 per dimension) and renormalized, so the
  neighbourhood structure is that of real data (synthetic, built once under the bench directory).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.corpus import ROOT, bench_dir

QUERIES = ("card arrived", "退款太慢", "set an alarm", "exchange rate", "battery", "weather tomorrow",
           "my transfer failed", "股票", "play some jazz", "refund", "lost my card", "flight to boston")


def pct(values, q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def probe(path: Path, backend: str, algo: str = "auto", floor: bool = False) -> dict:
    """Stage times and peak RSS (MB) of opening ``path`` with a warm cache, in a fresh process."""
    cmd = [sys.executable, "-m", "benchmarks.scale", str(path), backend, algo] + (["--floor"] if floor else [])
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"probe failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: VmHWM, which starts afresh at exec.  (ru_maxrss does
    not: a probe started from a benchmark process holding 1.4 GB reported 1.4 GB whatever it did.)"""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _probe_main(path: str, backend: str, algo: str, floor: bool) -> None:
    start = time.perf_counter()
    import sentence_transformers  # noqa: F401  - the same libraries the app imports
    import textual  # noqa: F401

    from engine.clustering import ClusterSettings
    from engine.options import ModelOptions, SessionOptions
    from engine.session import Session

    out: dict = {"import": time.perf_counter() - start}
    if floor:
        with open(path, encoding="utf-8") as f:
            texts = [json.loads(line)["text"] for line in f]
        vectors = np.ones((len(texts), 384), dtype=np.float32)
        out["rows"] = len(texts) + int(vectors[0, 0] - 1)
    else:
        t = time.perf_counter()
        session = Session.open(path, SessionOptions(model=ModelOptions(backend=backend)))
        out["open"] = time.perf_counter() - t
        out["cached"] = session.embed_stats.cached
        out["model_loaded"] = bool(getattr(session.embedder, "loaded", True))
        t = time.perf_counter()
        analysis = session.cluster(ClusterSettings(algo))
        out["cluster_total"] = time.perf_counter() - t
        out["cluster"] = analysis.timings.get("cluster")
        out["explain"] = analysis.timings.get("explain")
        out["clusters"] = len(analysis.clusters)
    out["maxrss_mb"] = peak_rss_mb()
    print(json.dumps(out), flush=True)


def read_floor(path: Path, vectors: np.ndarray) -> float:
    """Seconds to read the file with polars and copy the vectors once: the I/O floor of a reopen."""
    import polars as pl

    t = time.perf_counter()
    pl.read_ndjson(path)
    np.array(vectors, dtype=np.float32)
    return time.perf_counter() - t


def query_times(session, repeats: int = 3) -> tuple[list[float], list[float], float]:
    """(qtui, baseline) seconds per query over :data:`QUERIES` × ``repeats``, interleaved, and qtui's
    recall@10 against the exact top 10 (below 1 only when the approximate index answers)."""
    from engine.st_embedder import SentenceTransformerEmbedder

    plain = SentenceTransformerEmbedder(device="cpu").model
    matrix = np.ascontiguousarray(session.vectors, dtype=np.float32)
    session.index.ready.wait()  # the approximate index, built or read in the background
    session.search_text("warm up")
    plain.encode(["warm up"])
    ours, base, recall = [], [], []
    for _ in range(repeats):
        for q in QUERIES:
            t = time.perf_counter()
            rows, _ = session.search_text(q, 200)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            v = plain.encode([q], convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)[0]
            sims = matrix @ v
            top = np.argpartition(-sims, 199)[:200]
            top = top[np.argsort(-sims[top])]
            base.append(time.perf_counter() - t)
            exact = np.argsort(-(matrix @ session.embedder.encode_query(q)))[:10]
            recall.append(len(set(rows[:10].tolist()) & set(session.rows[exact].tolist())) / 10)
    return ours, base, float(np.mean(recall))


def million_vectors(vectors: np.ndarray, n: int = 1_000_000) -> np.ndarray:
    """``n`` float16 unit vectors, memory-mapped from a file built once from the real ``vectors``."""
    path = bench_dir() / f"synthetic-{n}-{len(vectors)}.f16.npy"
    if not path.exists():
        rng = np.random.default_rng(0)
        tmp = path.with_suffix(".tmp")
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(n, vectors.shape[1]))
        source = np.asarray(vectors, dtype=np.float32)
        for lo in range(0, n, 50_000):
            hi = min(n, lo + 50_000)
            block = source[np.arange(lo, hi) % len(source)]
            block = block + rng.normal(0, 0.02, block.shape).astype(np.float32)
            out[lo:hi] = block / np.linalg.norm(block, axis=1, keepdims=True)
        out.flush()
        del out
        os.replace(tmp, path)
    return np.load(path, mmap_mode="r")


def million_query_times(big: np.ndarray, query_vectors: np.ndarray, index) -> dict:
    """Search figures over ``big`` (1M rows): qtui's index vs. exact numpy float32, and recall@10."""
    exact = np.asarray(big, dtype=np.float32)  # the baseline holds a float32 copy (1.5 GB)
    ours, base, recall = [], [], []
    index.search(query_vectors[0], 200)
    for v in query_vectors:
        t = time.perf_counter()
        got, _ = index.search(v, 200)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        sims = exact @ v
        top = np.argpartition(-sims, 199)[:200]
        top = top[np.argsort(-sims[top])]
        base.append(time.perf_counter() - t)
        recall.append(len(set(got[:10].tolist()) & set(top[:10].tolist())) / 10)
    del exact
    return {"ours": ours, "base": base, "recall10": statistics.mean(recall)}


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _probe_main(sys.argv[1], sys.argv[2], sys.argv[3], "--floor" in sys.argv)
