"""Engine figures of exploring the columns, each beside a baseline in the same run: filter, column profile, hybrid search.

    python -m benchmarks.explore --size 100000 --backend torch     # alone (corpus embedded and clustered before)
    python -m benchmarks.explore --size 100000 --backend torch --stand-in   # rows not embedded yet: stand-in vectors

Used by :mod:`benchmarks.run` (step 3b).  Every function returns plain numbers (seconds):

- :func:`filter_times`: :meth:`engine.row_filter.RowFilter.mask` of :data:`FILTERS` (SQL through polars'
  SQL engine) beside the same conditions written as polars expressions and evaluated to a mask.
- :func:`profile_times`: :meth:`engine.column_stats.ColumnProfiler.profile` of each cluster beside a plain
  polars profile of the cluster's rows (value counts of the category, mean, median and counts of the
  rating, rows per week of the parsed date); and one statistic for every cluster (``cluster_stat``)
  beside a polars ``group_by``.
- :func:`search_times`: :meth:`engine.hybrid_search.HybridSearch.search` of every prefix of
  :data:`benchmarks.scale.QUERIES` as typed (query embedding included) beside ``Session.search_text`` of
  the same prefix (the plain vector search the search bar ran before); with and without a filter; and
  both again with each prefix's query vector computed beforehand (the engine's part of a keystroke).
"""

from __future__ import annotations

import time

import numpy as np
import polars as pl

from benchmarks.scale import QUERIES, pct

#: (SQL condition, the same condition as a polars expression) over the benchmark corpus's columns.
FILTERS = (
    ("rating <= 2 AND category = 'phones'", (pl.col("rating") <= 2) & (pl.col("category") == "phones")),
    ("text LIKE '%card%'", pl.col("text").str.contains("card", literal=True)),
    ("date >= '2025-06-01' AND rating >= 4", (pl.col("date") >= "2025-06-01") & (pl.col("rating") >= 4)),
    ("text ~ '(?i)refund|退款'", pl.col("text").str.contains("(?i)refund|退款")),
    ("category IN ('audio', 'tablets') OR text LIKE '%电池%'",
     pl.col("category").is_in(["audio", "tablets"]) | pl.col("text").str.contains("电池", literal=True)),
)
REPEATS = 12
#: The filter the restricted figures use.
LOW_RATINGS = "rating <= 2"


def filter_times(corpus) -> dict:
    """Seconds per :meth:`RowFilter.mask` (``ours``) and per polars expression to a mask (``base``), interleaved;
    ``first``: the first mask of a new :class:`RowFilter` (its frame built)."""
    from engine.row_filter import RowFilter

    t = time.perf_counter()
    rows = RowFilter(corpus)
    rows.mask(FILTERS[0][0])
    first = time.perf_counter() - t
    frame = corpus.frame
    ours, base = [], []
    for _ in range(REPEATS):
        for sql, expression in FILTERS:
            t = time.perf_counter()
            got = rows.mask(sql)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            expected = frame.select(expression.fill_null(False)).to_series().to_numpy()
            base.append(time.perf_counter() - t)
            if got.tolist() != expected.tolist():
                raise SystemExit(f"filter {sql!r}: the SQL and the polars expression select different rows")
    return {"ours": ours, "base": base, "first": first}


def _plain_profile(frame: pl.DataFrame, rows: np.ndarray) -> None:
    """A profile of the benchmark columns of ``rows`` the plain way: polars on the cluster's rows, nothing kept."""
    part = frame[rows]
    part["category"].value_counts(sort=True)
    part["rating"].mean(), part["rating"].median(), part["rating"].value_counts()
    part.select(pl.col("date").str.to_date().dt.truncate("1w")).group_by("date").len()


def profile_times(corpus, labels: np.ndarray) -> dict:
    """Seconds per cluster profile (``ours`` / ``base``: :func:`_plain_profile`), per profile against a filter
    (``filtered``: the cluster's matching rows beside the filter's), for every cluster of ``labels``; the one-off
    encoding (``build``) and per-board statistics (``stat_ours`` / ``stat_base``: mean rating per cluster)."""
    from engine.column_stats import ColumnProfiler
    from engine.row_filter import RowFilter

    t = time.perf_counter()
    profiler = ColumnProfiler(corpus)
    build = time.perf_counter() - t
    order = np.argsort(labels, kind="stable")
    ids, starts = np.unique(labels[order], return_index=True)
    members = np.split(order, starts[1:])
    frame = corpus.frame
    mask = RowFilter(corpus).mask(LOW_RATINGS)
    t = time.perf_counter()
    low = profiler.baseline(mask)
    filter_base = time.perf_counter() - t
    ours, base, filtered = [], [], []
    for rows in members:
        t = time.perf_counter()
        profiler.profile(rows)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        _plain_profile(frame, rows)
        base.append(time.perf_counter() - t)
        t = time.perf_counter()
        profiler.profile(rows[mask[rows]], low)
        filtered.append(time.perf_counter() - t)
    stat_ours, stat_base = [], []
    with_labels = frame.with_columns(pl.Series("cluster", labels))
    for _ in range(5):
        for choice in (("rating", "mean"), ("category", "share", "phones"), ("date", "trend")):
            t = time.perf_counter()
            profiler.cluster_stat(labels, choice)
            stat_ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        with_labels.group_by("cluster").agg(pl.col("rating").mean())
        with_labels.group_by("cluster").agg((pl.col("category") == "phones").mean())
        with_labels.group_by("cluster", pl.col("date").str.slice(0, 7)).len()
        stat_base.append((time.perf_counter() - t) / 3)
    return {"ours": ours, "base": base, "filtered": filtered, "build": build, "filter_base": filter_base,
            "clusters": len(members), "largest": max(len(m) for m in members),
            "stat_ours": stat_ours, "stat_base": stat_base}


def typed(query: str) -> list[str]:
    """Every prefix of ``query`` a person typing it sees, blank ones left out."""
    return [query[:i] for i in range(1, len(query) + 1) if query[:i].strip()]


#: Results per search: what the app's members pane asks for (``tui.panes.members_pane.SEARCH_RESULTS``).
APP_RESULTS = 200


def search_times(session, k: int = APP_RESULTS) -> dict:
    """Seconds per keystroke, ``k`` results each (default: as many as the app asks for): hybrid search
    (``ours``), ``Session.search_text`` (``base``), the word part alone (``words``), hybrid search within a
    filter (``filtered``), the query embedding alone (``encode``); the same
    two without the query embedding (``engine_ours``, ``engine_base``: each prefix's vector computed before);
    ``build``: the keyword index."""
    from engine.hybrid_search import HybridSearch, KeywordIndex, parse_query
    from engine.row_filter import RowFilter

    session.index.ready.wait()
    t = time.perf_counter()
    hybrid = HybridSearch.from_session(session)
    build = time.perf_counter() - t
    # each figure has its own index: an index keeps its last hits, and each sees the keystrokes in order
    in_filter, word_index = HybridSearch.from_session(session), KeywordIndex(session.corpus.texts)
    mask = RowFilter(session.corpus).mask(LOW_RATINGS)
    session.search_text("warm up", k)  # the model's first call
    ours, base, words, filtered, encode = [], [], [], [], []
    for query in QUERIES:
        for prefix in typed(query):
            t = time.perf_counter()
            session.embedder.encode_query(prefix)
            encode.append(time.perf_counter() - t)
            t = time.perf_counter()
            hybrid.search(prefix, k)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            session.search_text(prefix, k)
            base.append(time.perf_counter() - t)
            t = time.perf_counter()
            word_index.matches(parse_query(prefix).words)
            words.append(time.perf_counter() - t)
            t = time.perf_counter()
            in_filter.search(prefix, k, within=mask)
            filtered.append(time.perf_counter() - t)
    # the engine's part: the same keystrokes with each prefix's query vector computed beforehand
    vectors = {p: session.embedder.encode_query(p) for q in QUERIES for p in typed(q)}
    engine_hybrid = HybridSearch(session.corpus.texts, lambda text, n, within: session.search_vector(vectors[text], n,
                                                                                                   within))
    engine_ours, engine_base = [], []
    for query in QUERIES:
        for prefix in typed(query):
            t = time.perf_counter()
            engine_hybrid.search(prefix, k)
            engine_ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            session.search_vector(vectors[prefix], k)
            engine_base.append(time.perf_counter() - t)
    return {"ours": ours, "base": base, "words": words, "filtered": filtered, "encode": encode, "build": build,
            "engine_ours": engine_ours, "engine_base": engine_base}


def explore_rows(session, labels: np.ndarray, size: int) -> list:
    """The table rows of :mod:`benchmarks.run` for the three figures (p95, ms)."""
    tag = f"{size // 1000}k"
    f = filter_times(session.corpus)
    p = profile_times(session.corpus, labels)
    s = search_times(session)
    print(f"  filter: first use {f['first'] * 1e3:.0f} ms; profiles: encoding {p['build'] * 1e3:.0f} ms once, "
          f"{p['clusters']} clusters (largest {p['largest']:,} rows), filter baseline {p['filter_base'] * 1e3:.1f} ms, "
          f"within the filter p95 {pct(p['filtered'], 0.95) * 1e3:.2f} ms; search: keyword index "
          f"{s['build'] * 1e3:.0f} ms once, word part p95 {pct(s['words'], 0.95) * 1e3:.1f} ms (median "
          f"{pct(s['words'], 0.5) * 1e3:.1f}), query embedding alone p95 {pct(s['encode'], 0.95) * 1e3:.1f} ms "
          f"(median {pct(s['encode'], 0.5) * 1e3:.1f}), within a filter p95 {pct(s['filtered'], 0.95) * 1e3:.1f} ms",
          flush=True)
    ms = 1e3
    return [
        (f"filter apply p95 {tag}, engine (ms)", pct(f["base"], 0.95) * ms, pct(f["ours"], 0.95) * ms, "< 150 ms",
         pct(f["ours"], 0.95) < 0.15, "the same condition as a polars expr"),
        (f"column profile per cluster p95 {tag} (ms)", pct(p["base"], 0.95) * ms, pct(p["ours"], 0.95) * ms,
         "< 50 ms", pct(p["ours"], 0.95) < 0.05, "polars on the cluster's rows"),
        (f"cluster statistic, all clusters p95 {tag} (ms)", pct(p["stat_base"], 0.95) * ms,
         pct(p["stat_ours"], 0.95) * ms, "< 50 ms", pct(p["stat_ours"], 0.95) < 0.05, "polars group_by"),
        (f"hybrid search p95 {tag}, keystroke (ms)", pct(s["base"], 0.95) * ms, pct(s["ours"], 0.95) * ms, "< 50 ms",
         pct(s["ours"], 0.95) < 0.05, "Session.search_text (vectors)"),
        (f"hybrid search p95 {tag}, no query embed (ms)", pct(s["engine_base"], 0.95) * ms,
         pct(s["engine_ours"], 0.95) * ms, "< 50 ms, engine part", pct(s["engine_ours"], 0.95) < 0.05,
         "vector search of the same vector"),
    ]


def stand_in_session(path, backend: str, seed: int = 0):
    """(a Session of ``path``, rows with real vectors): the vectors are the real ones where the bench embedding
    cache holds them; each other row gets the real vector of a random row of its gold label plus Gaussian noise
    (sigma 0.02 per dimension), renormalised.  Nothing is written to the cache (the vectors are not the model's)."""
    from engine.cache import text_hashes
    from engine.embedding import EmbedStats, open_cache
    from engine.options import ModelOptions, SessionOptions
    from engine.session import Session, load_corpus, make_embedder, results_root, unit_rows

    options = SessionOptions(model=ModelOptions(backend=backend))
    corpus = load_corpus(path, options)
    embedder = make_embedder(options.model)
    rows = np.flatnonzero(~corpus.empty)
    found, vectors = open_cache(embedder, results_root(options)).lookup(
        text_hashes([corpus.texts[i] for i in rows]))
    if not found.any():
        raise SystemExit(f"--stand-in: no vector of {path} is in the bench cache; embed its first rows first")
    out = np.empty((len(rows), vectors.shape[1]), dtype=np.float32)
    out[found] = vectors
    labels = corpus.frame.get_column("label").cast(pl.String).to_numpy()[rows]
    real = np.flatnonzero(found)
    by_label: dict = {}
    for i in real.tolist():
        by_label.setdefault(labels[i], []).append(i)
    rng = np.random.default_rng(seed)
    for i in np.flatnonzero(~found).tolist():
        pool = by_label.get(labels[i], real)
        out[i] = out[pool[int(rng.integers(len(pool)))]] + rng.normal(0, 0.02, out.shape[1])
    session = Session(corpus, embedder, rows, unit_rows(out), EmbedStats(rows=len(rows), cached=int(found.sum())))
    return session, int(found.sum())


def main() -> None:
    import argparse
    import os

    from benchmarks.corpus import bench_dir, build_corpus
    from benchmarks.run import print_table
    from engine.clustering import ClusterSettings, cluster
    from engine.options import ModelOptions, SessionOptions
    from engine.session import Session

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--backend", default="onnx", help="backend the corpus was embedded with")
    parser.add_argument("--algo", default="auto", help="clustering whose clusters are profiled")
    parser.add_argument("--stand-in", action="store_true", help="rows the bench cache has no vector for get a "
                        "stand-in (see stand_in_session) instead of being embedded")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["QTUI_CACHE_DIR"] = str(bench_dir() / "cache")
    path = build_corpus(args.size)
    if args.stand_in:
        session, real = stand_in_session(path, args.backend)
        print(f"  {real:,} of {len(session.rows):,} rows with their real vectors, the others stand-ins", flush=True)
        t = time.perf_counter()
        labels = np.full(len(session.corpus), -2, dtype=np.int64)
        labels[session.rows] = cluster(session.vectors, ClusterSettings(args.algo)).labels
        print(f"  clustered ({args.algo}) in {time.perf_counter() - t:.0f} s", flush=True)
    else:
        session = Session.open(path, SessionOptions(model=ModelOptions(backend=args.backend)))
        labels = session.cluster(ClusterSettings(args.algo)).labels
    print_table(explore_rows(session, labels, args.size))


if __name__ == "__main__":
    main()
