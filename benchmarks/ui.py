"""App responsiveness, each figure next to a baseline measured in the same run.

    python -m benchmarks.ui --sizes 10000 100000

Figures (per corpus size, corpus from :mod:`benchmarks.corpus`):

- first paint: ``qtui open`` in a real terminal (tmux via ../shared/tools/tui-drive) until its first
  screen, vs. a one-line Textual app started the same way;
- clusters shown (warm cache): until the clusters are on screen, vs. ``qtui cluster --quiet`` doing the
  same engine work headless;
- cursor move: p50/p95 of one ``j`` press in the members pane, run through Textual's Pilot and timed by
  :class:`KeyTimer` (key sent → screen painted), vs. Textual's stock OptionList holding 1,000 rows;
- cursor move with its detail: the same ``j`` timed until the detail pane shows the new text and its
  nearest texts (searched in a worker: a second paint after the cursor's);
- cluster move: ``j`` in the clusters pane (the members, keywords and metrics of the next cluster);
- pane switch: p50/p95 of one ``tab`` press (focus to the next pane), vs. ``tab`` between two stock
  OptionLists;
- live query: p50/p95 from a keystroke in the search bar to results on screen (query embedding
  included), vs. the bare work: ``encode_query`` plus the exact top-k search;
- cluster move with the Columns tab open: ``j`` in the clusters pane until the next cluster's column
  profiles are on screen (computed in a worker, once per cluster and filter), vs. the cluster move above;
- filter: Enter on the ``f`` prompt (``rating <= 2``) until the board is repainted with the matching rows,
  and ``f`` clearing it, vs. the bare ``RowFilter.mask`` of the same expression;
- zoom (``--zoom``, on ``auto``): p50/max of one ``+``/``-`` level change (key sent → every pane shows the
  new level: clusters, members, keywords, metrics, map), first visits and kept levels, vs. ``j`` in the
  clusters pane (the next cluster's members, keywords and metrics) in the same app.

Nothing is asserted: the table is for reading (ratios, since shared machines drift).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import ROOT, build_corpus

TUI_DRIVE = ROOT.parent / "shared" / "tools" / "tui-drive"
QTUI = str(Path(sys.executable).parent / "qtui")
HELLO = "from textual.app import App\nfrom textual.widgets import Static\n" \
        "class Hello(App):\n    def compose(self):\n        yield Static('hello there')\nHello().run()\n"
ARGS = ["--algo", "kmeans", "--k", "50"]


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def terminal_time(command: list[str], pattern: str, timeout: int = 900) -> float:
    """Seconds from starting ``command`` in tmux until ``pattern`` is on its screen.

    ``--settle 0``: the clock stops when the pattern is first seen.  ``wait``'s default also waits
    for the screen to stay unchanged for 300 ms (up to 1.3 s), which a static hello-world does at
    once and an app still updating its status line does not: it would bias the figure against qtui only."""
    name = f"bench-{os.getpid()}-{time.monotonic_ns()}"
    start = time.perf_counter()
    subprocess.run([str(TUI_DRIVE), "start", name, "--size", "120x40", "--cwd", str(ROOT), "--", *command],
                   check=True, capture_output=True)
    try:
        subprocess.run([str(TUI_DRIVE), "wait", name, pattern, "--timeout", str(timeout), "--settle", "0"], check=True,
                       capture_output=True)
        return time.perf_counter() - start
    finally:
        subprocess.run([str(TUI_DRIVE), "stop", name], capture_output=True)


def first_paint(path: Path) -> tuple[float, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(HELLO)
    base = min(terminal_time([sys.executable, f.name], "hello there") for _ in range(3))
    ours = min(terminal_time([QTUI, "open", str(path), *ARGS], "Opening") for _ in range(3))
    return base, ours


def fresh_open(path: Path, backend: str, algo: str, runs: int = 3) -> tuple[float, float]:
    """(baseline, qtui) seconds in a real terminal, best of ``runs``: a Textual hello-world until its
    first screen, and a fresh ``qtui open`` (every import included) until the clusters are on screen.
    The environment (cache, offline) is passed to the command itself: a tmux server already running
    would not pass the caller's on."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(HELLO)
    base = min(terminal_time([sys.executable, f.name], "hello there") for _ in range(runs))
    env = ["env", "HF_HUB_OFFLINE=1"]
    if os.environ.get("QTUI_CACHE_DIR"):
        env.append(f"QTUI_CACHE_DIR={os.environ['QTUI_CACHE_DIR']}")
    ours = []
    for _ in range(runs):
        data = tempfile.mkdtemp(prefix="qtui-bench-data-")  # no saved review: no "Resume?" question
        ours.append(terminal_time([*env, f"QTUI_DATA_DIR={data}", QTUI, "open", str(path), "--backend", backend,
                                   "--algo", algo], "Members of"))
    return base, min(ours)


def clusters_shown(path: Path) -> tuple[float, float]:
    start = time.perf_counter()
    subprocess.run([QTUI, "cluster", str(path), "--quiet", *ARGS], check=True, capture_output=True)
    base = time.perf_counter() - start
    ours = terminal_time([QTUI, "open", str(path), *ARGS], "Members of")
    return base, ours


class KeyTimer:
    """Times keys in an app run by Textual's Pilot: from the key event to the screen painted.

    ``pilot.press`` cannot measure this: it sleeps twice for 20 ms and then polls until the process
    looks idle, so even Textual's stock OptionList measures slow with it, and any background
    thread (the search index being built) stretches it further.  Here the key event goes to the
    driver as ``pilot.press`` sends it; the figure ends at the first paint after every message the
    key caused was handled (the paint includes turning the update into terminal output).
    """

    def __init__(self, app) -> None:
        self.app = app
        self.paints: list[float] = []
        display = app._display

        def timed_display(screen, renderable) -> None:
            display(screen, renderable)
            if renderable is not None and hasattr(renderable, "render_segments"):
                renderable.render_segments(app.console)  # what a real terminal's write costs to build
            self.paints.append(time.perf_counter())

        app._display = timed_display

    def _busy(self) -> bool:
        return any(node._message_queue.qsize() for node in (self.app, *self.app.screen.walk_children(with_self=True)))

    async def press(self, key: str, until=None, settle: float = 0.1) -> float:
        """Seconds from sending ``key`` to the paint that shows its effect (``until()``: also wait for that)."""
        from textual import events

        app = self.app
        char = " " if key == "space" else (key if len(key) == 1 else None)
        before = len(self.paints)
        start = time.perf_counter()
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)
        await asyncio.sleep(0)
        while (self._busy() or (until is not None and not until())) and time.perf_counter() - start < 30:
            await asyncio.sleep(0.001)
        idle, painted = time.perf_counter(), len(self.paints)
        while len(self.paints) == painted and time.perf_counter() - idle < settle:
            await asyncio.sleep(0.001)
        end = self.paints[-1] if len(self.paints) > before else float("nan")
        await asyncio.sleep(0.03)  # let the next key arrive on a quiet app, as a person's would
        return end - start


async def _pilot_figures(path: Path, options=None, settings=None, figures=None) -> dict[str, float]:
    import tui  # noqa: F401  (first: the app's frame rate is set before Textual is imported; the stock app shares it)
    from textual.app import App
    from textual.widgets import OptionList

    from engine.clustering import ClusterSettings
    from tests.app_helpers import wait_opened, wait_until
    from tui.app import QtuiApp

    figures = {} if figures is None else figures  # filled as measured (kept if the app fails at exit)

    class Stock(App):
        def compose(self):
            yield OptionList(*[f"option {i} some text to show" for i in range(1000)])
            yield OptionList(*[f"other {i} some text to show" for i in range(1000)])

    stock = Stock()  # measured first, on a fresh process: the baseline's best case
    async with stock.run_test(size=(160, 48)) as pilot:
        timer = KeyTimer(stock)
        stock.query_one(OptionList).focus()
        await pilot.pause(0.3)
        moves = [await timer.press("down") for _ in range(150)]
        figures["stock_p50"], figures["stock_p95"] = p(moves, 0.5), p(moves, 0.95)
        switches = [await timer.press("tab") for _ in range(60)]
        figures["stock_switch_p50"], figures["stock_switch_p95"] = p(switches, 0.5), p(switches, 0.95)

    app = QtuiApp(path, options=options, settings=settings or ClusterSettings("kmeans", k=50))
    start = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot, timeout=1800)
        figures["opened"] = time.perf_counter() - start - 0.1  # wait_opened pauses 0.1 s after
        # the keys are timed once the background work of the opening is done (the map's layout, the
        # search index, the model's weights): steady state, not the first seconds after the clusters appear
        await wait_until(pilot, lambda: app.board_screen.detail.map_xy is not None, 600, "the map")
        await asyncio.to_thread(app.session.index.ready.wait, 600)
        await wait_until(pilot, lambda: app.session.embedder.loaded, 600, "the model")
        timer = KeyTimer(app)
        largest = max(app.analysis.clusters, key=lambda c: c.size).id
        app.query_one("#clusters").select_cluster(largest)
        await pilot.pause(0.5)
        app.board_screen.action_focus_members()
        await pilot.pause(0.3)
        moves = [await timer.press("j") for _ in range(150)]
        figures["move_p50"], figures["move_p95"] = p(moves, 0.5), p(moves, 0.95)
        members = app.query_one("#members")
        details = []
        for _ in range(40):  # the move's whole effect: the detail pane with the text's nearest texts (a worker's search)
            details.append(await timer.press("j", until=lambda: app.board_screen.detail.neighbours_shown_for == members.current_row))
        figures["detail_p50"], figures["detail_p95"] = p(details, 0.5), p(details, 0.95)
        switches = [await timer.press("tab") for _ in range(60)]
        figures["switch_p50"], figures["switch_p95"] = p(switches, 0.5), p(switches, 0.95)
        app.board_screen.action_focus_clusters()
        await pilot.pause(0.3)
        cluster_moves = []
        await pilot.press("g")  # from the first cluster down: each move reaches a cluster (none waits at the end)
        for _ in range(min(60, app.board_screen.clusters.table.row_count - 1)):  # until the members pane holds
            # the next cluster: the table's cursor is painted first
            before = app.board_screen.selected_cluster
            cluster_moves.append(await timer.press("j", until=lambda: app.board_screen.selected_cluster != before))
        figures["cluster_p50"], figures["cluster_p95"] = p(cluster_moves, 0.5), p(cluster_moves, 0.95)
        session = app.session
        bare = []
        for word in ("card", "refund", "电池", "weather", "delivery late", "exchange rate"):
            t = time.perf_counter()
            session.index.search(session.embedder.encode_query(word), 200)
            bare.append(time.perf_counter() - t)
        app.board_screen.action_focus_query()
        query_times = []
        for phrase in ("card arrived", "退款太慢", "set an alarm"):
            app.query_one("#query").value = ""
            await pilot.pause(0.1)
            for ch in phrase:
                before = app.board_screen.members.last_query_shown
                query_times.append(await timer.press(ch if ch != " " else "space",
                                                     until=lambda: app.board_screen.members.last_query_shown != before))
        figures["query_p50"], figures["query_p95"] = p(query_times, 0.5), p(query_times, 0.95)
        figures["bare_p50"], figures["bare_p95"] = p(bare, 0.5), p(bare, 0.95)
        app.query_one("#query").value = ""  # back to the members of a cluster
        await _explore_figures(app, pilot, timer, figures)
    return figures


async def _explore_figures(app, pilot, timer: KeyTimer, figures: dict, where: str = "rating <= 2") -> None:
    """Cluster moves with the Columns tab open, and a row filter applied and cleared (see the module)."""
    from tests.app_helpers import wait_until
    from tui.screens.prompt_screen import PromptScreen

    screen = app.board_screen
    await wait_until(pilot, lambda: screen.filtering.filter.profiler is not None, 600, "the columns read")
    screen.detail.active = "columns"  # beside the clusters at 160 columns; the focus stays on the clusters
    screen.action_focus_clusters()
    await pilot.press("g")  # from the first cluster down: each move reaches a cluster
    await pilot.pause(0.3)
    moves = []
    for _ in range(min(60, screen.clusters.table.row_count - 1)):
        before = screen.selected_cluster
        moves.append(await timer.press("j", until=lambda: screen.selected_cluster != before and
                                       screen.detail.columns_shown_for is not None and
                                       screen.detail.columns_shown_for[-1] == screen.selected_cluster))
    figures["columns_p50"], figures["columns_p95"] = p(moves, 0.5), p(moves, 0.95)
    applied, cleared, bare = [], [], []
    for _ in range(20):
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptScreen), 30, "the filter prompt")
        app.screen.query_one("#prompt-input").value = where
        applied.append(await timer.press("enter", until=lambda: app.board is not None and app.board.where == where))
        cleared.append(await timer.press("f", until=lambda: app.board.within is None))
        t = time.perf_counter()
        screen.filtering.filter._rows.mask(where)
        bare.append(time.perf_counter() - t)
    figures["filter_p50"], figures["filter_p95"] = p(applied, 0.5), p(applied, 0.95)
    figures["unfilter_p95"] = p(cleared, 0.95)
    figures["mask_p95"] = p(bare, 0.95)

async def _zoom_figures(path: Path) -> dict[str, list[float]]:
    """Seconds per ``+``/``-`` level change (first visits, then kept levels) and per ``j`` between clusters."""
    import tui  # noqa: F401  (first: the app's frame rate is set before Textual is imported)
    from engine.clustering import ClusterSettings
    from engine.options import ModelOptions, SessionOptions
    from tests.app_helpers import wait_opened, wait_until
    from tui.app import QtuiApp

    # MiniLM, as benchmarks/review_levels.py embeds the scale corpus (its vectors are in the bench cache)
    app = QtuiApp(path, SessionOptions(model=ModelOptions(model="minilm")), settings=ClusterSettings())
    figures: dict[str, list[float]] = {"first": [], "kept": [], "cluster": []}
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_opened(pilot, timeout=1800)
        await wait_until(pilot, lambda: app.board_screen.detail.map_xy is not None, 600, "the map")
        timer = KeyTimer(app)
        app.board_screen.action_focus_clusters()
        await pilot.pause(0.5)
        for _ in range(20):
            before = app.board_screen.selected_cluster
            figures["cluster"].append(await timer.press("j", until=lambda: app.board_screen.selected_cluster != before))
        levels = app.review.levels()
        ladder = [level for level, _ in levels.ladder()]
        for which in ("first", "kept"):
            for key, targets in (("plus", [lv for lv in ladder if lv > 0]), ("minus", sorted((lv for lv in ladder if lv < 0), reverse=True))):
                for target in targets:
                    await pilot.pause(1.0)  # the look-ahead worker has built the next level
                    if which == "first":
                        levels._memo.pop(("keywords", target), None)  # its keywords are not kept yet
                    figures[which].append(await timer.press(key, until=lambda: app.board.level == target))
                    figures.setdefault(f"{which}_levels", []).append(target)
                back = "minus" if key == "plus" else "plus"
                while app.board.level != 0:
                    level = app.board.level
                    await timer.press(back, until=lambda: app.board.level != level)
    return figures


def zoom_main(sizes: list[int]) -> None:
    for size in sizes:
        path = build_corpus(size)
        f = asyncio.run(_zoom_figures(path))
        base = p(f["cluster"], 0.5) * 1e3
        print(f"{size:>8,} rows  j between clusters p50 {base:7.1f} ms (baseline)")
        for which in ("first", "kept"):
            ms = [v * 1e3 for v in f[which]]
            print(f"{size:>8,} rows  +/- {which:5} p50 {p(ms, 0.5):7.1f} ms  max {max(ms):7.1f} ms  "
                  f"p50/baseline {p(ms, 0.5) / base:5.2f}  max/100 ms {max(ms) / 100:5.2f}  ({len(ms)} changes)")
            print("          to level " + ", ".join(f"{lv:+d}: {v:.0f} ms" for lv, v in zip(f[f"{which}_levels"], ms)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--zoom", action="store_true", help="only the zoom figures (auto, level changes)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.zoom:
        zoom_main(args.sizes)
        return
    rows = []
    for size in args.sizes:
        path = build_corpus(size)
        print(f"[{size:,} rows] warming the embedding cache (first run embeds everything)…", flush=True)
        subprocess.run([QTUI, "cluster", str(path), "--quiet", *ARGS], check=True, capture_output=True)
        base, ours = first_paint(path)
        rows.append((size, "first paint (s)", base, ours, "Textual hello-world"))
        base, ours = clusters_shown(path)
        rows.append((size, "clusters shown, warm cache (s)", base, ours, "qtui cluster (headless)"))
        f = asyncio.run(_pilot_figures(path))
        rows.append((size, "cursor move p50 (ms)", f["stock_p50"] * 1e3, f["move_p50"] * 1e3, "OptionList, 1k rows"))
        rows.append((size, "cursor move p95 (ms)", f["stock_p95"] * 1e3, f["move_p95"] * 1e3, "OptionList, 1k rows"))
        rows.append((size, "query p50 (ms)", f["bare_p50"] * 1e3, f["query_p50"] * 1e3, "encode_query + search"))
        rows.append((size, "query p95 (ms)", f["bare_p95"] * 1e3, f["query_p95"] * 1e3, "encode_query + search"))
        rows.append((size, "cluster move, columns tab p95 (ms)", f["cluster_p95"] * 1e3, f["columns_p95"] * 1e3,
                     "cluster move, other tab"))
        rows.append((size, "filter apply p95 (ms)", f["mask_p95"] * 1e3, f["filter_p95"] * 1e3, "RowFilter.mask"))
        rows.append((size, "filter clear p95 (ms)", f["mask_p95"] * 1e3, f["unfilter_p95"] * 1e3, "RowFilter.mask"))
    print(f"\n{'rows':>8}  {'figure':<32} {'baseline':>10} {'qtui':>10} {'ratio':>7}  baseline is")
    for size, name, base, ours, what in rows:
        print(f"{size:>8,}  {name:<32} {base:>10.3f} {ours:>10.3f} {ours / base if base else float('nan'):>7.2f}  {what}")


def pilot_in_fresh_process(path: Path, backend: str, algo: str) -> dict[str, float]:
    """:func:`_pilot_figures` in a new Python process, as the app runs: a process that has just embedded,
    searched 1M rows and holds their garbage makes every collection, and so every key, slower."""
    import json

    data = tempfile.mkdtemp(prefix="qtui-bench-data-")  # no saved review: no "Resume?" question to wait on
    done = subprocess.run([sys.executable, "-m", "benchmarks.ui", "--pilot", str(path), backend, algo], cwd=ROOT,
                          capture_output=True, text=True, check=False, env={**os.environ, "QTUI_DATA_DIR": data})
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"the Pilot run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def _pilot_main(path: str, backend: str, algo: str) -> None:
    import json

    from engine.clustering import ClusterSettings
    from engine.options import ModelOptions, SessionOptions

    figures: dict = {}
    try:
        asyncio.run(_pilot_figures(Path(path), SessionOptions(model=ModelOptions(backend=backend)),
                                   ClusterSettings(algo), figures))
    except Exception as exc:  # an app error on the way out: the figures measured before it still count
        if "query_p95" not in figures:
            raise
        print(f"note: the app raised {type(exc).__name__} while closing: {str(exc)[:120]}", file=sys.stderr)
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--pilot":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        _pilot_main(*sys.argv[2:])
    else:
        main()
