"""What zooming a review costs at scale: a level view of a review beside what the app repaints level 0 with today.

    HF_HUB_OFFLINE=1 nice -n 10 .venv/bin/python -m benchmarks.review_levels [--size 100000] [--repeats 5]

Opens the ``--size``-row scale corpus of :mod:`benchmarks.corpus` (embedded with the bundled MiniLM into
the bench cache; the first run embeds what is missing), starts a review on ``auto`` (in a temporary
data directory), makes a few steps on the tree (a name and a decision at a coarse level, a suggested
merge), then times, per zoom level and as the median of ``--repeats``:

- ``first``: :meth:`ReviewSession.level_view` the first time at that level (groups, names and keywords:
  one c-TF-IDF over the level's groups),
- ``again``: the same call once the level's keywords are kept (what a repaint after ``+``/``-`` costs),
- ``bare``: the call without keywords,
- ``board``: what the app builds for a `+`/`-` repaint once the level is kept: the board of the level
  (:func:`tui.level_board.make_board`), its cluster-pane lines and the members of its largest group in
  order (the panes then paint only the visible lines, whatever the size),

beside the baseline, run in the same process on the same review: :func:`engine.review_view.base_view`
of the analysis (what the app builds its cluster list from today) and
:func:`engine.analysis.describe_cut` of the level (naming a level without the review layer).  Also the
steps (``rename_node``, ``set_node_status`` with their save, ``merge_suggestions``) and the export's tree
columns.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def timed(call, repeats: int) -> tuple[float, object]:
    """Median milliseconds of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--corpus", type=Path, default=None, help="this file instead of the scale corpus")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from benchmarks.corpus import bench_dir, build_corpus

    os.environ.setdefault("QTUI_CACHE_DIR", str(bench_dir() / "cache"))
    with tempfile.TemporaryDirectory() as data:
        os.environ["QTUI_DATA_DIR"] = data
        return run(args.corpus or build_corpus(args.size), args.repeats)


def run(path: Path, repeats: int) -> dict:
    from engine.analysis import describe_cut
    from engine.clustering import ClusterSettings
    from engine.options import ModelOptions, SessionOptions
    from engine.review import ACCEPTED
    from engine.review_session import ReviewSession
    from engine.review_view import base_view
    from engine.session import Session

    session = Session.open(path, SessionOptions(model=ModelOptions(model="minilm")))
    t = time.perf_counter()
    review = ReviewSession.start(session, ClusterSettings())
    print(f"{len(session.rows):,} rows of {path.name}: review started in {time.perf_counter() - t:.1f} s "
          f"({review.analysis.n_clusters} clusters)", flush=True)
    terms = session.document_terms()
    steps = {}
    coarse = review.level_view(1)
    steps["rename_node"], _ = timed(lambda: review.rename_node(coarse.nodes[0].key, "a theme"), 1)
    steps["set_node_status"], _ = timed(lambda: review.set_node_status([coarse.nodes[1].key], ACCEPTED), 1)
    steps["merge_suggestions"], found = timed(lambda: review.merge_suggestions(10), repeats)
    review.merge_suggested(found[0])
    steps["tree_columns"], _ = timed(review.tree_columns, max(1, repeats // 2))
    steps["progress"], _ = timed(review.progress, repeats)  # the status line's, once a group is decided
    baseline, _ = timed(lambda: base_view(review.analysis), repeats)
    from tui.level_board import make_board

    view0 = review.view()

    def board_work(level: int):
        board = make_board(review, level, view=view0)
        lines = board.lines()
        return board, lines, board.members(lines[0].id)

    board_base, _ = timed(lambda: board_work(0), repeats)
    levels = review.levels()
    rows = []
    for level, k in levels.ladder():
        levels._memo.pop(("keywords", level), None)  # the first call at a level computes its keywords
        t = time.perf_counter()
        view = review.level_view(level)
        first = (time.perf_counter() - t) * 1e3
        again, _ = timed(lambda: review.level_view(level), repeats)
        bare, _ = timed(lambda: review.level_view(level, keywords=False), repeats)
        cut, _ = timed(lambda: describe_cut(review.analysis, levels.tree.labels_at(k), *terms), 1)
        board, _ = timed(lambda: board_work(level), repeats)
        rows.append({"level": level, "tree_clusters": k, "groups": len(view.nodes), "first": first, "again": again,
                     "bare": bare, "describe_cut": cut, "board": board})
        print(f"  level {level:+d} ({k:4d} tree clusters, {len(view.nodes):4d} groups): first {first:7.1f} ms, "
              f"again {again:6.1f} ms, bare {bare:6.1f} ms; describe_cut {cut:7.1f} ms; "
              f"again / describe_cut {again / cut:5.2f}; board {board:6.1f} ms "
              f"(/ level 0 board {board / board_base:5.2f})", flush=True)
    review.close()
    worst = max(r["again"] for r in rows)
    print(f"baseline base_view(analysis): {baseline:.1f} ms; slowest repaint of a kept level {worst:.1f} ms "
          f"({worst / 100:.2f} of the 100 ms target)")
    print(f"the app's level-0 board (a refresh after a step today): {board_base:.1f} ms; slowest board of a "
          f"kept level {max(r['board'] for r in rows):.1f} ms")
    print("steps: " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in steps.items()))
    return {"rows": rows, "base_view_ms": baseline, "board_base_ms": board_base, "steps": steps}


if __name__ == "__main__":
    main()
