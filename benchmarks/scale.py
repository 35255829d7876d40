"""Engine figures at scale, each beside a baseline: warm reopen, peak memory, clustering, live query.

Used by :mod:`benchmarks.run`; every function returns plain numbers.

- :func:`probe` runs in a fresh subprocess what the app does on opening a file whose vectors are
  cached (``Session.open`` + ``Session.cluster``) and reports the stage times and the peak RSS
  (VmHWM from ``/proc/self/status``, per stage); ``floor=True`` instead only imports the same libraries and
  holds the texts and one float32 copy of the vectors — the memory floor of the data itself (``"float16"``:
  one float16 copy, the floor of the 1M case).
- :func:`million_case`: a 1,000,000-row file and its warm embedding cache, for the peak RSS at 1M.
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


def probe(path: Path, backend: str, algo: str = "auto", floor: bool | str = False, index: bool = False,
          cache_root: Path | None = None) -> dict:
    """Stage times and peak RSS (MB) of opening ``path`` with a warm cache, in a fresh process.

    ``floor``: only the imports, the texts and one copy of the vectors (``"float16"``: a float16 copy,
    else float32) instead.  Otherwise the stages are the app's: open, cluster (with keywords and metrics), the
    map's layout; ``index``: also wait for the search index (built or read from the cache in the background) and
    measure ``Session.search_text`` once.  ``cache_root``: the cache directory (default: the caller's
    ``$QTUI_CACHE_DIR``).  Every stage reports its own peak (``peak_mb``: VmHWM, reset after each stage)
    and what stays resident after it (``rss_mb``).
    """
    cmd = [sys.executable, "-m", "benchmarks.scale", str(path), backend, algo]
    cmd += ([f"--floor={'float16' if floor == 'float16' else 'float32'}"] if floor else []) + (["--index"] if index else [])
    env = dict(os.environ, **({"QTUI_CACHE_DIR": str(cache_root)} if cache_root is not None else {}))
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"probe failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: VmHWM, which starts afresh at exec.  (ru_maxrss does
    not: a probe started from a large benchmark process reports that process's peak, whatever it did.)"""
    got = _status_mb("VmHWM")
    if got is not None:
        return got
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Stages:
    """Peak and resident memory of each stage: VmHWM read, then reset (``/proc/self/clear_refs``)."""

    def __init__(self) -> None:
        self.peak = 0.0
        self.stages: dict[str, dict] = {}
        self.t = time.perf_counter()

    def mark(self, name: str) -> None:
        hwm = peak_rss_mb()
        self.peak = max(self.peak, hwm)
        self.stages[name] = {"s": round(time.perf_counter() - self.t, 2), "peak_mb": round(hwm),
                             "rss_mb": round(_status_mb("VmRSS") or 0)}
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
                f.write("5")  # resets VmHWM to the current RSS
        except OSError:
            pass
        self.t = time.perf_counter()


def _probe_main(path: str, backend: str, algo: str, floor: str | None, index: bool = False) -> None:
    stages = _Stages()
    import sentence_transformers  # noqa: F401  - the same libraries the app imports
    import textual  # noqa: F401

    from engine.clustering import ClusterSettings
    from engine.options import ModelOptions, SessionOptions
    from engine.session import Session

    stages.mark("import")
    out: dict = {"import": stages.stages["import"]["s"]}
    if floor:  # the data itself: the texts and one copy of the vectors
        with open(path, encoding="utf-8") as f:
            texts = [json.loads(line)["text"] for line in f]
        vectors = np.ones((len(texts), 384), dtype=floor)
        out["rows"] = len(texts) + int(vectors[0, 0] - 1)
        stages.mark("data")
    else:
        session = Session.open(path, SessionOptions(model=ModelOptions(backend=backend)))
        stages.mark("open")
        out["open"] = stages.stages["open"]["s"]
        out["cached"] = session.embed_stats.cached
        out["model_loaded"] = bool(session.embedder.loaded)
        analysis = session.cluster(ClusterSettings(algo))
        stages.mark("cluster")
        out["cluster_total"] = stages.stages["cluster"]["s"]
        out["cluster"] = analysis.timings.get("cluster")
        out["explain"] = analysis.timings.get("explain")
        out["clusters"] = len(analysis.clusters)
        out["from_cache"] = bool(analysis.clustering.info.get("from_cache"))
        from engine.projection import map_layout  # the app lays out the map once the clusters are on screen

        map_layout(analysis.vectors, analysis.clustering.labels, analysis.centres,
                   seed=analysis.clustering.settings.seed)
        stages.mark("map")
        out["map"] = stages.stages["map"]["s"]
        if index:
            session.index.ready.wait()
            stages.mark("index")
            out["index"] = stages.stages["index"]["s"]
            out["ann"] = session.index._ann is not None
            session.search_text("card arrived", 20)
            stages.mark("query")
    out["stages"] = stages.stages
    out["maxrss_mb"] = stages.peak
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


def million_case(backend: str, base_size: int = 100_000) -> tuple[Path, Path]:
    """(a 1,000,000-row JSON Lines file, the cache root holding its vectors), built once under the bench dir.

    Embedding 1M texts here would take hours, so the case is made from the real ``base_size`` corpus:

    - the file (:func:`benchmarks.corpus.build_million`): the corpus × 10, copy N >= 1 of each text
      suffixed `` [copy N]`` (every text distinct, labels kept), copy-major;
    - its vectors: copy 0 gets the real vectors of the corpus (read from the bench embedding cache,
      where ``benchmarks.run`` embedded it with ``backend``); copy N >= 1 of a row gets its real vector
      plus Gaussian noise (sigma 0.02 per dimension, seeded), renormalized and rounded to float16 —
      the recipe of :func:`million_vectors`;
    - written through the engine's own cache API (:meth:`engine.cache.EmbeddingCache.add`, one shard per
      copy, then compacted into one shard as a real embed run leaves it) under ``<bench dir>/cache-1m``,
      the model key of ``backend``, so ``Session.open`` takes the real warm-reopen path.  A separate root,
      because the cache reads every shard of a model: the 100k figures would otherwise read 1.1M vectors.
    """
    from benchmarks.corpus import MILLION_COPIES, build_corpus, build_million, copy_text
    from engine.cache import text_hashes
    from engine.embedding import open_cache
    from engine.options import ModelOptions
    from engine.session import make_embedder

    base = build_corpus(base_size)
    path = build_million(base)
    root = bench_dir() / "cache-1m"
    done = root / f"seeded-{path.stem}-{backend}"
    if done.exists():
        return path, root
    embedder = make_embedder(ModelOptions(backend=backend))  # the identity only: no weights are loaded
    with open(base, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    found, real = open_cache(embedder, bench_dir() / "cache").lookup(text_hashes(texts))
    if not found.all():
        raise SystemExit(f"the {base_size:,}-row corpus is not embedded with --backend {backend} yet: "
                         f"run python -m benchmarks.run --size {base_size} --backend {backend} first")
    target = open_cache(embedder, root)  # never loaded: add() only writes the shard
    rng = np.random.default_rng(0)
    source = real.astype(np.float32)
    for copy in range(MILLION_COPIES):
        if copy == 0:
            vectors = real
        else:
            block = source + rng.normal(0, 0.02, source.shape).astype(np.float32)
            vectors = (block / np.linalg.norm(block, axis=1, keepdims=True)).astype(np.float16)
        target.add(text_hashes([copy_text(t, copy) for t in texts]), vectors)
    del source, real, vectors
    target.compact(force=True)
    done.write_text(f"{path.name}: {MILLION_COPIES} copies of {base.name}, noise sigma 0.02, seed 0\n")
    return path, root


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
    floor_arg = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--floor=")), None)
    _probe_main(sys.argv[1], sys.argv[2], sys.argv[3], floor_arg, "--index" in sys.argv)
