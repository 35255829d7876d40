"""The static first view beside the full model, in one run: distilling, throughput, a new file's clusters, quality.

    python -m benchmarks.static_view --size 100000              # distill, throughput, new 100k file, quality
    python -m benchmarks.static_view --size 100000 --million    # + a new 1,000,000-row file

Steps (corpus from :mod:`benchmarks.corpus`; ratios are static / full):

1. **distill**: a fresh process distills the bundled MiniLM into an empty directory
   (:func:`engine.static_embedder.load_or_distill`: imports, loading the transformer, encoding
   every vocabulary token, PCA, writing); beside it, the full model's time to embed the
   ``--size`` corpus once, from its rate in step 2.  Target < 60 s.
2. **throughput**: the same ``--sample`` texts drawn from the corpus, embedded by
   :func:`engine.embedding.embed_texts` (cache off) with the static model and with the full
   model (torch, fp32), in interleaved slices; the static model also embeds the whole corpus.
   The full model is timed on the sample only (the whole corpus takes ~10 min here).
3. **new file**: a fresh process opens the corpus with ``first_view="static"`` (the bundled
   MiniLM named: ``--model auto`` picks muse for this mixed corpus, which has no static view) in
   a cache directory that holds only the distilled model (no vectors, no parsed file, no
   clustering, no term counts: a file never seen), clusters ``auto`` and explains (keywords,
   metrics) — what ``qtui cluster FILE --first-view static`` does: the quick clustering and
   keywords from a sample (``ClusterSettings.quick``, which a static session takes); stage times
   and peak RSS per stage (open, cluster, explain: :class:`benchmarks.scale._Stages`, in the
   printed JSON).  Time to clusters is the process's wall time, imports included.  Baseline, the
   full path of the same new file: a second fresh process doing the same with ``quick=False``
   (``auto`` as the full model's clustering runs it, every row's term counts), its static embed
   time replaced by the full model's (corpus rows / the rate of step 2; an estimate: the corpus
   is not embedded with the full model here).  Target < 15 s at 100k.
4. **1M** (``--million``): step 3 on :func:`benchmarks.corpus.build_million` (the corpus × 10,
   every text distinct).  Targets < 120 s and < 4096 MB peak RSS.
5. **quality**: ``auto`` on the static and on the full vectors of each shared set, NMI and ARI
   against the gold labels (:func:`benchmarks.quality.score`), and the quick ``auto`` the first
   view runs on the static vectors; the full vectors are embedded once into the bench cache and
   read from it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.corpus import ROOT, SHARED, bench_dir, build_corpus

Row = tuple[str, float, float, str, bool, str]


def _run_child(*args: str, env: dict | None = None) -> tuple[dict, float]:
    """Run ``python -m benchmarks.static_view ARGS`` in a fresh process: (its JSON line, wall seconds)."""
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "benchmarks.static_view", *args], cwd=ROOT, capture_output=True,
                          text=True, check=False, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"static_view child failed: {' '.join(args)}\n{done.stderr[-3000:]}")
    return json.loads(lines[-1]), wall


def distill_seconds() -> tuple[float, float]:
    """(wall seconds of a fresh process distilling the bundled MiniLM into an empty directory, of which distilling)."""
    with tempfile.TemporaryDirectory(prefix="qtui-static-") as tmp:
        got, wall = _run_child("--child-distill", tmp)
    return wall, got["distill"]


def _child_distill(root: str) -> None:
    from engine.models import resolve_model
    from engine.static_embedder import load_or_distill

    t = time.perf_counter()
    model = load_or_distill(resolve_model(None), Path(root), "cpu")
    print(json.dumps({"distill": time.perf_counter() - t, "dim": int(model.dim)}), flush=True)


def throughput(texts: list[str], corpus_texts: list[str], root: Path, rounds: int = 4) -> dict:
    """Texts per second of the static and the full model's embed stage on the same ``texts`` (interleaved
    slices), and of the static model on ``corpus_texts``."""
    from engine.embedding import embed_texts
    from engine.st_embedder import SentenceTransformerEmbedder
    from engine.static_embedder import StaticEmbedder

    static = StaticEmbedder(cache_root=root)
    static.load()
    full = SentenceTransformerEmbedder(device="cpu")
    full.load()
    embed_texts(texts[:64], full)  # warm-up: first-call allocations
    embed_texts(texts[:64], static)
    seconds = {"static": 0.0, "full": 0.0}
    for part in np.array_split(np.arange(len(texts)), rounds):
        chunk = [texts[i] for i in part]
        t = time.perf_counter()
        for _ in range(10):  # ten passes: one takes milliseconds
            embed_texts(chunk, static)
        seconds["static"] += (time.perf_counter() - t) / 10
        t = time.perf_counter()
        embed_texts(chunk, full)
        seconds["full"] += time.perf_counter() - t
    t = time.perf_counter()
    embed_texts(corpus_texts, static)
    whole = time.perf_counter() - t
    return {"static": len(texts) / seconds["static"], "full": len(texts) / seconds["full"],
            "static whole": len(corpus_texts) / whole}


def new_file(path: Path, model_root: Path, quick: bool = True) -> dict:
    """Stage times, peak RSS and wall time of a fresh process clustering ``path`` with the static view, in a
    cache directory holding only the distilled model (copied from ``model_root``); ``quick`` False: the full
    path's clustering and keywords instead of the first view's."""
    from engine.models import resolve_model
    from engine.static_embedder import static_model_dir

    spec = resolve_model(None)
    with tempfile.TemporaryDirectory(prefix="qtui-static-new-") as tmp:
        shutil.copytree(static_model_dir(spec, model_root), static_model_dir(spec, Path(tmp)))
        got, wall = _run_child("--child-open", str(path), tmp, "quick" if quick else "exact",
                               env={"QTUI_CACHE_DIR": tmp})
    got["wall"] = wall
    return got


def _child_open(path: str, root: str, mode: str) -> None:
    from benchmarks.scale import _Stages

    stages = _Stages()
    from engine.clustering import ClusterSettings
    from engine.models import DEFAULT_MODEL
    from engine.options import ModelOptions, SessionOptions
    from engine.session import Session

    stages.mark("import")
    session = Session.open(path, SessionOptions(cache_dir=Path(root), first_view="static",
                                                model=ModelOptions(model=DEFAULT_MODEL)))
    stages.mark("open")

    def mark_clustered(p) -> None:  # the clustering is done when the keywords start
        if p.stage == "keywords" and "cluster" not in stages.stages:
            stages.mark("cluster")

    analysis = session.cluster(ClusterSettings("auto", quick=mode == "quick"), progress=mark_clustered)
    stages.mark("explain")
    out = {"rows": len(session.corpus), "embedded": session.embed_stats.embedded, "static": session.static,
           "quick": analysis.clustering.settings.quick, "keyword_rows": analysis.keyword_rows,
           "clusters": analysis.n_clusters, "timings": {k: round(v, 2) for k, v in analysis.timings.items()},
           "stages": stages.stages, "maxrss_mb": stages.peak}
    print(json.dumps(out), flush=True)


def quality(sets: list[str], root: Path) -> list[dict]:
    """NMI/ARI of ``auto`` on the static and the full vectors of each shared set (``root``: the full vectors' cache)."""
    from benchmarks.quality import read_set, score
    from engine.clustering import ClusterSettings, cluster
    from engine.embedding import embed_texts, open_cache
    from engine.session import unit_rows
    from engine.st_embedder import SentenceTransformerEmbedder
    from engine.static_embedder import StaticEmbedder

    full = SentenceTransformerEmbedder(device="cpu")
    static = StaticEmbedder(cache_root=root)
    out = []
    for name in sets:
        path = SHARED / f"{name}.jsonl"
        if not path.exists():
            print(f"  {name}: {path} is missing; skipped", flush=True)
            continue
        texts, gold = read_set(path)
        for kind, embedder, quick in (("quick", static, True), ("static", static, False), ("full", full, False)):
            t = time.perf_counter()
            vectors, stats = embed_texts(texts, embedder, open_cache(embedder, root))
            embed = time.perf_counter() - t
            labels = cluster(unit_rows(vectors), ClusterSettings("auto", quick=quick)).labels
            row = {"set": name, "vectors": kind, **score(gold, labels), "embedded": stats.embedded,
                   "embed_s": round(embed, 2)}
            out.append(row)
            print(f"  {name:10} {kind:6} NMI {row['nmi']:.3f} ARI {row['ari']:.3f} clusters {row['clusters']:4d} "
                  f"unassigned {row['unassigned']:.1%} (embedded {stats.embedded:,} in {embed:.1f} s)", flush=True)
    return out


def main() -> None:
    from benchmarks.run import print_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=1000, help="texts for the full model's throughput")
    parser.add_argument("--million", action="store_true", help="also a new 1,000,000-row file (step 4)")
    parser.add_argument("--sets", nargs="*", default=["banking77", "toutiao", "xsid"])
    parser.add_argument("--skip", nargs="*", default=[], choices=("distill", "new", "quality"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    root = bench_dir() / "cache"
    os.environ["QTUI_CACHE_DIR"] = str(root)
    start = time.perf_counter()
    path = build_corpus(args.size)
    print(f"corpus: {path} ({args.size:,} rows); load {os.getloadavg()[0]:.1f}", flush=True)
    rows: list[Row] = []
    distill = None
    if "distill" not in args.skip:
        print("[1] distilling the bundled MiniLM in a fresh process", flush=True)
        distill = distill_seconds()
        print(f"  {distill[0]:.1f} s wall, {distill[1]:.1f} s in load_or_distill", flush=True)
    from engine.models import resolve_model
    from engine.static_embedder import load_or_distill

    load_or_distill(resolve_model(None), root, "cpu")  # the bench cache's copy (distilled once)
    print("[2] throughput", flush=True)
    with open(path, encoding="utf-8") as f:
        corpus_texts = [json.loads(line)["text"] for line in f if line.strip()]
    pick = np.random.default_rng(0).choice(len(corpus_texts), size=min(args.sample, len(corpus_texts)), replace=False)
    rates = throughput([corpus_texts[i] for i in sorted(pick)], corpus_texts, root)
    print(f"  static {rates['static']:,.0f} texts/s (whole corpus {rates['static whole']:,.0f}), "
          f"full {rates['full']:,.0f} texts/s on {len(pick):,} texts", flush=True)
    full_corpus = len(corpus_texts) / rates["full"]
    if distill:
        rows.append(("distill bundled MiniLM (s)", full_corpus, distill[0], "< 60 s", distill[0] < 60,
                     f"full model embeds the {args.size // 1000}k corpus (est.)"))
    rows.append(("embed, sample (texts/s)", rates["full"], rates["static"], "static >> full", True,
                 f"full MiniLM torch fp32, same {len(pick):,} texts"))
    cases = [] if "new" in args.skip else [(path, args.size, 15.0)]
    if args.million and "new" not in args.skip:
        from benchmarks.corpus import build_million

        cases.append((build_million(path), len(corpus_texts) * 10, 120.0))
    for case, size, target in cases:
        print(f"[3] new {size:,}-row file, static first view, fresh process (then the full path's clustering)",
              flush=True)
        got = new_file(case, root)
        print(f"  {json.dumps(got)}", flush=True)
        exact = new_file(case, root, quick=False)
        print(f"  {json.dumps(exact)}", flush=True)
        embed = exact["timings"].get("embed", 0.0)
        baseline = exact["wall"] - embed + exact["rows"] / rates["full"]
        tag = f"{size // 1000}k" if size < 1_000_000 else f"{size // 1_000_000}M"
        rows.append((f"new {tag} file: clusters, static (s)", baseline, got["wall"], f"< {target:.0f} s",
                     got["wall"] < target, "full embed (est.) + full auto + keywords"))
        after_open = lambda run: sum(run["stages"][k]["s"] for k in ("cluster", "explain") if k in run["stages"])
        rows.append((f"new {tag} file: cluster+explain (s)", after_open(exact), after_open(got), "report", True,
                     "full auto + keywords, same vectors"))
        rows.append((f"new {tag} file: peak RSS (MB)", exact["maxrss_mb"], got["maxrss_mb"], "< 4096 MB",
                     got["maxrss_mb"] < 4096, "full auto + keywords, same vectors"))
    if "quality" not in args.skip:
        print("[5] quality: auto on static and full vectors", flush=True)
        results = quality(args.sets, root)
        by = {(r["set"], r["vectors"]): r for r in results}
        for name in args.sets:
            if (name, "static") in by:
                q, s, f = by[(name, "quick")], by[(name, "static")], by[(name, "full")]
                for figure in ("nmi", "ari"):
                    rows.append((f"{name} {figure.upper()}, first view", f[figure], q[figure], "report", True,
                                 "full MiniLM, auto"))
                    rows.append((f"{name} {figure.upper()}, static auto", f[figure], s[figure], "report", True,
                                 "full MiniLM, auto"))
    print_table(rows)
    print(f"\nwhole run {time.perf_counter() - start:.0f} s; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child-distill":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        _child_distill(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "--child-open":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        _child_open(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
