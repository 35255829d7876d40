"""Every performance figure of qtui beside its baseline, measured in one run, as one table.

    python -m benchmarks.run --size 100000      # the issue's scale (about 10 min with a warm cache)
    python -m benchmarks.run --size 20000       # quick mode (no 1M-row search unless --million)

Steps (corpus from :mod:`benchmarks.corpus`; embeddings cached under ``$QTUI_BENCH_DIR/cache``):

1. embedding throughput on a random sample of ``--sample`` texts (not the whole corpus), see
   :mod:`benchmarks.embed_speed`: qtui's embed stage (torch, onnx, onnx-int8) vs. a plain
   ``SentenceTransformer.encode`` of the same texts;
2. the corpus is embedded once with ``--backend`` (default onnx, the fastest backend that keeps
   cosine >= 0.99) into the bench cache — only when it is cold, and not counted as a figure;
3. warm reopen, peak RSS and clustering in fresh subprocesses (:func:`benchmarks.scale.probe`);
3b. filter, column profiles and hybrid search at ``--size`` rows, engine part (:mod:`benchmarks.explore`);
4. live query at ``--size`` rows (query embedding included) and at 1,000,000 synthetic float16
   memory-mapped rows (:func:`benchmarks.scale.million_vectors`); peak RSS of a warm reopen of a
   1,000,000-row file (:func:`benchmarks.scale.million_case`; with ``--million-memory``: its first run takes 30+ min);
5. the app through Textual's Pilot (:mod:`benchmarks.ui`, in a fresh process, as the app runs): clusters on screen with a warm cache,
   cursor moves, pane switches, live query from keystroke to results; and a fresh ``qtui open`` in a
   real terminal (tmux) until the clusters are on screen, imports included.

Ratios are qtui / baseline (for throughput: qtui's rate / the baseline's rate).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from benchmarks.corpus import bench_dir, build_corpus

Row = tuple[str, float, float, str, bool, str]  # figure, baseline, qtui, target text, met, baseline is


def _cosine_rows(figures: dict) -> list[Row]:
    rows = []
    for backend in ("onnx", "onnx-int8"):
        if f"qtui {backend}" not in figures:
            continue
        mean, low = figures[f"{backend} cosine"]
        rate = figures[f"qtui {backend}"]
        rows.append((f"embed {backend} (texts/s)", figures["baseline"], rate, ">= 2.0x and cos >= 0.99",
                     rate >= 2 * figures["baseline"] and mean >= 0.99, "plain ST encode (torch fp32)"))
        rows.append((f"{backend} cosine to fp32 (mean/min)", 1.0, mean, f">= 0.99 (min {low:.3f})",
                     mean >= 0.99, "fp32 torch vectors"))
    return rows


def embedding_rows(size: int, sample: int) -> list[Row]:
    from benchmarks.embed_speed import measure, sample_texts

    texts = sample_texts(size, sample)
    figures = measure(texts)
    print(f"  sample: {len(texts)} texts, mean {figures['mean chars']:.0f} chars; baseline runs "
          f"{figures['baseline runs'][0]:.0f} and {figures['baseline runs'][1]:.0f} texts/s", flush=True)
    rows: list[Row] = [("embed qtui torch (texts/s)", figures["baseline"], figures["qtui torch"],
                        ">= 1.0x (3% noise band)", figures["qtui torch"] >= 0.97 * figures["baseline"],
                        "plain ST encode (torch fp32)")]
    return rows + _cosine_rows(figures)


def warm_cache(path, backend: str, algo: str) -> None:
    """Embed the corpus and cluster it once, so the reopen figures measure what they say: a warm cache."""
    from engine.clustering import ClusterSettings
    from engine.options import ModelOptions, SessionOptions
    from engine.session import Session

    t = time.perf_counter()
    session = Session.open(path, SessionOptions(model=ModelOptions(backend=backend)))
    stats = session.embed_stats
    if stats.embedded:
        print(f"  embedded {stats.embedded:,} rows with --backend {backend} in {time.perf_counter() - t:.0f} s "
              f"({stats.rate:.0f} texts/s; {stats.cached:,} were cached)", flush=True)
    t = time.perf_counter()
    analysis = session.cluster(ClusterSettings(algo))  # clusterings and explanations are kept between runs
    if not analysis.clustering.info.get("from_cache"):
        print(f"  clustered ({algo}) and explained in {time.perf_counter() - t:.0f} s, kept for the reopen", flush=True)


def engine_rows(path, size: int, backend: str, algo: str) -> tuple[list[Row], object, float]:
    from benchmarks.scale import pct, probe, query_times, read_floor
    from engine.options import ModelOptions, SessionOptions
    from engine.session import Session

    floor = probe(path, backend, floor=True)
    ours = probe(path, backend, algo)
    print(f"  probe: {ours}", flush=True)
    session = Session.open(path, SessionOptions(model=ModelOptions(backend=backend)))
    io_floor = read_floor(path, session.vectors)
    rows: list[Row] = [
        (f"reopen {size // 1000}k: open+cluster, engine (s)", io_floor, ours["open"] + ours["cluster_total"],
         "< 3 s", ours["open"] + ours["cluster_total"] < 3, "read file (polars) + copy vectors"),
        (f"peak RSS {size // 1000}k (MB)", floor["maxrss_mb"], ours["maxrss_mb"], "< 1500 MB",
         ours["maxrss_mb"] < 1500, "imports + texts + one float32 copy"),
    ]
    t = time.perf_counter()
    from sklearn.cluster import MiniBatchKMeans

    k = max(2, len(set(session.corpus.gold))) if session.corpus.gold is not None else 100
    MiniBatchKMeans(k, random_state=0, n_init=1, batch_size=4096).fit(session.vectors)
    base_cluster = time.perf_counter() - t
    from engine.clustering import ClusterSettings, cluster

    t = time.perf_counter()
    cluster(session.vectors, ClusterSettings(algo))  # computed here: the probe read it from the cache
    our_cluster = time.perf_counter() - t
    rows.append((f"clustering {algo} {size // 1000}k (s)", base_cluster, our_cluster, "< 60 s",
                 our_cluster < 60, f"MiniBatchKMeans, true k={k}"))
    session.embedder.load()
    q_ours, q_base, recall = query_times(session)
    rows.append((f"live query p95 {size // 1000}k, engine (ms)", pct(q_base, 0.95) * 1e3, pct(q_ours, 0.95) * 1e3,
                 f"< 50 ms (recall@10 {recall:.2f})", pct(q_ours, 0.95) < 0.05, "ST encode + numpy top-k"))
    return rows, session, io_floor


def million_rows(session) -> list[Row]:
    from benchmarks.scale import QUERIES, million_query_times, million_vectors, pct
    from engine.search import SimilarityIndex

    t = time.perf_counter()
    big = million_vectors(session.vectors)
    built = time.perf_counter() - t
    t = time.perf_counter()
    index = SimilarityIndex(big, background=False)
    build_index = time.perf_counter() - t
    queries = np.stack([session.embedder.encode_query(q) for q in QUERIES * 3])
    embed_times = []
    for q in QUERIES * 3:
        t = time.perf_counter()
        session.embedder.encode_query(q)
        embed_times.append(time.perf_counter() - t)
    got = million_query_times(big, queries, index)
    print(f"  1M: vectors ready in {built:.1f} s, index in {build_index:.1f} s, recall@10 {got['recall10']:.3f}",
          flush=True)
    ours = [a + b for a, b in zip(got["ours"], embed_times)]
    base = [a + b for a, b in zip(got["base"], embed_times)]
    return [("live query p95 1M synthetic (ms)", pct(base, 0.95) * 1e3, pct(ours, 0.95) * 1e3,
             f"< 150 ms (recall@10 {got['recall10']:.2f})", pct(ours, 0.95) < 0.15,
             "query embed + exact numpy f32")]


def million_memory_rows(backend: str, algo: str) -> list[Row]:
    """Peak RSS of opening a 1,000,000-row file with a warm cache (:func:`benchmarks.scale.million_case`):
    ``Session.open`` + ``Session.cluster`` + the search index, in a fresh process, beside the floor
    (imports, the texts and one float16 copy of the vectors).  The first run also builds the case and
    computes what a first open of the file computes (term counts, clustering, explanation, index), and
    reports its peak too."""
    from benchmarks.scale import million_case, probe

    t = time.perf_counter()
    path, root = million_case(backend)
    built = time.perf_counter() - t
    floor = probe(path, backend, floor="float16", cache_root=root)
    ours = probe(path, backend, algo, index=True, cache_root=root)
    rows: list[Row] = []
    if not ours.get("from_cache"):  # the first open of the file: everything was computed, now cached
        print(f"  1M first open (case built in {built:.0f} s): {ours}", flush=True)
        rows.append(("peak RSS 1M first open (MB)", floor["maxrss_mb"], ours["maxrss_mb"], "< 4096 MB",
                     ours["maxrss_mb"] < 4096, "imports + texts + one float16 copy"))
        ours = probe(path, backend, algo, index=True, cache_root=root)
    print(f"  1M reopen: {ours}", flush=True)
    rows.append(("peak RSS 1M (MB)", floor["maxrss_mb"], ours["maxrss_mb"], "< 4096 MB",
                 ours["maxrss_mb"] < 4096, "imports + texts + one float16 copy"))
    return rows


def pilot_rows(path, size: int, backend: str, algo: str, io_floor: float) -> list[Row]:
    from benchmarks.ui import fresh_open, pilot_in_fresh_process

    f = pilot_in_fresh_process(path, backend, algo)
    tag = f"{size // 1000}k"
    hello, fresh = fresh_open(path, backend, algo)
    print(f"  fresh qtui open in a terminal: {fresh:.2f} s (best of 3); Textual hello-world {hello:.2f} s", flush=True)
    return [
        (f"clusters on screen {tag}, warm (s)", io_floor, f["opened"], "< 3 s", f["opened"] < 3,
         "read file (polars) + copy vectors"),
        (f"clusters on screen {tag}, fresh qtui open (s)", hello, fresh, "< 3 s", fresh < 3,
         "Textual hello-world, first screen"),
        (f"cursor move p95 {tag} (ms)", f["stock_p95"] * 1e3, f["move_p95"] * 1e3, "< 50 ms",
         f["move_p95"] < 0.05, "stock OptionList, 1k rows"),
        (f"cursor move + detail pane p95 {tag} (ms)", f["stock_p95"] * 1e3, f["detail_p95"] * 1e3, "< 50 ms",
         f["detail_p95"] < 0.05, "stock OptionList, 1k rows"),
        (f"cluster move p95 {tag} (ms)", f["stock_p95"] * 1e3, f["cluster_p95"] * 1e3, "< 50 ms",
         f["cluster_p95"] < 0.05, "stock OptionList, 1k rows"),
        (f"pane switch p95 {tag} (ms)", f["stock_switch_p95"] * 1e3, f["switch_p95"] * 1e3, "< 50 ms",
         f["switch_p95"] < 0.05, "tab between 2 stock OptionLists"),
        (f"live query p95 {tag}, keystroke (ms)", f["bare_p95"] * 1e3, f["query_p95"] * 1e3, "< 50 ms",
         f["query_p95"] < 0.05, "encode_query + search, no UI"),
    ] + ([
        (f"cluster move + columns tab p95 {tag} (ms)", f["cluster_p95"] * 1e3, f["columns_p95"] * 1e3, "< 50 ms",
         f["columns_p95"] < 0.05, "cluster move, another tab open"),
        (f"filter apply, board repainted p95 {tag} (ms)", f["mask_p95"] * 1e3, f["filter_p95"] * 1e3, "< 150 ms",
         f["filter_p95"] < 0.15, "RowFilter.mask alone"),
        (f"filter clear, board repainted p95 {tag} (ms)", f["mask_p95"] * 1e3, f["unfilter_p95"] * 1e3, "< 150 ms",
         f["unfilter_p95"] < 0.15, "RowFilter.mask alone"),
    ] if "unfilter_p95" in f else [])  # measured last: absent when the app failed on the way out


def print_table(rows: list[Row]) -> None:
    print(f"\n{'figure':<40} {'baseline':>10} {'qtui':>10} {'ratio':>7}  {'target':<28} {'':4}  baseline is")
    for name, base, ours, target, met, what in rows:
        ratio = ours / base if base else float("nan")
        print(f"{name:<40} {base:>10.3f} {ours:>10.3f} {ratio:>7.2f}  {target:<28} {'pass' if met else 'FAIL'}  {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2000, help="texts for the throughput figures")
    parser.add_argument("--backend", default="onnx", help="backend the corpus is embedded and searched with")
    parser.add_argument("--algo", default="auto", help="clustering the reopen figures run (the app's default)")
    parser.add_argument("--million", action=argparse.BooleanOptionalAction, default=None,
                        help="search figure at 1M synthetic rows (default: on at --size >= 100000)")
    parser.add_argument("--million-memory", action="store_true",
                        help="also peak RSS of reopening a 1M-row file (the first run builds the case and computes "
                             "its term counts, clustering and explanation: 30+ min here; later runs 2-3 min)")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=("embed", "engine", "explore", "million", "million-memory", "pilot"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ["QTUI_CACHE_DIR"] = str(bench_dir() / "cache")
    os.environ["QTUI_DATA_DIR"] = tempfile.mkdtemp(prefix="qtui-bench-data-")  # no saved review to resume
    start = time.perf_counter()
    path = build_corpus(args.size)
    print(f"corpus: {path} ({args.size:,} rows)", flush=True)
    rows: list[Row] = []
    if "embed" not in args.skip:
        print("[1] embedding throughput", flush=True)
        rows += embedding_rows(args.size, args.sample)
    print(f"[2] embedding and clustering the corpus with --backend {args.backend} (skipped when cached)", flush=True)
    warm_cache(path, args.backend, args.algo)
    session, io_floor = None, float("nan")
    if "engine" not in args.skip:
        print("[3] reopen, memory, clustering, live query (engine)", flush=True)
        got, session, io_floor = engine_rows(path, args.size, args.backend, args.algo)
        rows += got
    if "explore" not in args.skip:
        print("[3b] filter, column profiles, hybrid search (engine)", flush=True)
        from benchmarks.explore import explore_rows
        from engine.clustering import ClusterSettings

        if session is None:
            from engine.options import ModelOptions, SessionOptions
            from engine.session import Session

            session = Session.open(path, SessionOptions(model=ModelOptions(backend=args.backend)))
        rows += explore_rows(session, session.cluster(ClusterSettings(args.algo)).labels, args.size)
    if (args.million if args.million is not None else args.size >= 100_000) and "million" not in args.skip:
        print("[4] live query at 1M rows", flush=True)
        if session is None:
            from engine.options import ModelOptions, SessionOptions
            from engine.session import Session

            session = Session.open(path, SessionOptions(model=ModelOptions(backend=args.backend)))
        rows += million_rows(session)
    del session
    if args.million_memory and "million-memory" not in args.skip:
        print("[4b] peak RSS at 1M rows (warm reopen, fresh process)", flush=True)
        rows += million_memory_rows(args.backend, args.algo)
    if "pilot" not in args.skip:
        print("[5] the app through Pilot", flush=True)
        rows += pilot_rows(path, args.size, args.backend, args.algo, io_floor)
    print_table(rows)
    print(f"\n{args.size:,} rows, backend {args.backend}, clustering {args.algo}; "
          f"whole run {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
