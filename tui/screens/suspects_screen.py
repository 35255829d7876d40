"""The suspects queue: members whose neighbours or an out-of-fold classifier put them in another label.

Worked out in a worker (:meth:`engine.review_session.ReviewSession.suspects`, with its progress on the
dialog's top line); then one key per suspect: ``y`` moves it to its likely label, ``n`` keeps it where it is,
a digit sends it to one of the nine alternatives shown, ``L`` moves every suspect of the highlighted likely
label there.  Each is a review step (saved, undoable with ctrl+z here too); the list keeps the suspects no
decision has covered since (:meth:`SuspectQueue.still_open`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from engine.errors import QtuiError
from engine.progress import Cancelled, CancelToken
from tui.actions import bindings
from tui.formatting import fit, pad
from tui.screens.review_dialog import ReviewDialog
from tui.widgets.member_list import MemberList
from tui.widgets.progress_panel import describe

if TYPE_CHECKING:
    from engine.review_labels import SuspectQueue
    from engine.review_session import Outcome, ReviewSession


#: Cells of each of the "now" and "likely" columns at most.
LABEL_CELLS = 24


def shown_label(name: str | None, cluster: int) -> str:
    """A label's name, or "#id" for an unnamed cluster (the target a step takes)."""
    return name if name is not None else f"#{cluster}"


class SuspectsScreen(ReviewDialog):
    """Works the suspects queue of ``review``; each decision runs through ``run_step`` (the board's)."""

    BINDINGS = bindings("suspects")

    DEFAULT_CSS = """
    SuspectsScreen { align: center middle; }
    SuspectsScreen > Vertical { width: 140; max-width: 98%; height: 92%; border: round $primary;
                                background: $panel; padding: 0 1; }
    SuspectsScreen #suspects-status { height: auto; max-height: 2; color: $text-muted; }
    SuspectsScreen #suspects-head { height: 1; color: $text-muted; text-style: bold; }
    SuspectsScreen MemberList { height: 1fr; min-height: 3; }
    SuspectsScreen #suspects-current { height: auto; max-height: 8; border-top: solid $panel-lighten-2; }
    SuspectsScreen #suspects-hint { height: auto; color: $text-muted; }
    """

    class Progressed(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Found(Message):
        def __init__(self, queue: "SuspectQueue | None", error: str = "") -> None:
            super().__init__()
            self.queue, self.error = queue, error

    def __init__(self, review: "ReviewSession", text_of: Callable[[int], str], name_of: Callable[[int], str],
                 run_step: Callable[..., "Outcome | None"]) -> None:
        """``name_of(cluster id)``: the name the board shows for a cluster (its keyword suggestion when unnamed)."""
        super().__init__(review, run_step)
        self.text_of, self.name_of = text_of, name_of
        self.queue: SuspectQueue | None = None  # every suspect found
        self.open: SuspectQueue | None = None  # those no decision has covered since, in queue order
        self._token = CancelToken()

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Suspects"
            yield Static("finding suspects…", id="suspects-status", markup=False)
            yield Static("", id="suspects-head", markup=False)
            yield MemberList(id="suspects-list")
            yield Static("", id="suspects-current", markup=False)
            yield Static("y move · n keep · 1–9 alternative · L all of this label · ^z undo · Esc",
                         id="suspects-hint", markup=False)

    @property
    def list(self) -> MemberList:
        return self.query_one("#suspects-list", MemberList)

    def on_mount(self) -> None:
        lst = self.list
        lst.empty_message = "Looking for suspects…"
        lst.set_rows(np.empty(0, np.int64), self.text_of)
        self.watch(lst, "cursor", self._show_current, init=False)
        lst.focus()
        self.find()

    def on_unmount(self) -> None:
        self._token.cancel()

    # ------------------------------------------------------------------ finding them

    @work(thread=True, exclusive=True, group="suspects", exit_on_error=False)
    def find(self) -> None:
        worker = get_current_worker()

        def report(p) -> None:
            if not worker.is_cancelled:
                self.post_message(self.Progressed(f"{p.message} {p.done + 1}/{p.total}" if p.message and p.total > 1
                                                  else describe(p)))

        try:
            queue = self.review.suspects(progress=report, cancel=self._token)
        except Cancelled:
            return
        except QtuiError as exc:
            self.post_message(self.Found(None, str(exc)))
            return
        if not worker.is_cancelled:
            self.post_message(self.Found(queue))

    @on(Progressed)
    def _progressed(self, event: Progressed) -> None:
        if self.queue is None:
            self.query_one("#suspects-status", Static).update(f"finding suspects: {event.text}")

    @on(Found)
    def _found(self, event: Found) -> None:
        if event.queue is None:
            self.query_one("#suspects-status", Static).update(f"No suspects: {event.error}")
            self.list.empty_message = "No suspects."
            self.list.refresh()
            return
        self.queue = event.queue
        self.list.empty_message = "No suspects left: every member sits with its neighbours."
        self._refresh(0)

    def _refresh(self, cursor: int | None = None) -> None:
        """Show the suspects still open, the cursor at index ``cursor`` (default: where it is)."""
        queue, lst = self.queue, self.list
        if queue is None:
            return
        self.open = queue.take(np.flatnonzero(queue.still_open(self.review.state)))
        keep = lst.cursor if cursor is None else cursor
        now = [self.shown(shown_label(self.review.state.name(int(c)), int(c))) for c in self.open.cluster_ids.tolist()]
        likely = [self.shown(shown_label(lab, int(c))) for lab, c in zip(self.open.likely_label,
                                                                          self.open.likely_cluster.tolist())]
        width = lst.size.width or 80
        cells = max(6, min(LABEL_CELLS, (width - 12) // 4, max((cell_len(t) for t in now + likely), default=0)))
        tags = [f"{pad(a, cells)} → {b}" for a, b in zip(now, likely)]
        lst.set_rows(self.open.rows, self.text_of, scores=self.open.confidence, tags=tags, tag_cells=2 * cells + 4)
        lst.cursor = min(keep, max(0, len(self.open) - 1))
        self.query_one("#suspects-head", Static).update(
            fit(f"  conf. {pad('now', cells)}   {pad('likely', cells)} text", width))
        done = len(queue) - len(self.open)
        self.query_one("#suspects-status", Static).update(
            f"{self.last_message + ' · ' if self.last_message else ''}{len(self.open):,} of {len(queue):,} suspects open ({done:,} decided) · "
            f"{queue.checked:,} texts checked by their neighbours and a classifier")
        self._show_current()

    def _show_current(self) -> None:
        """The highlighted suspect in full, with its numbered alternatives."""
        current = self.query_one("#suspects-current", Static)
        i = self._index()
        if i is None:
            current.update("")
            return
        o, state = self.open, self.review.state
        cid = int(o.cluster_ids[i])
        width = current.size.width or 80
        text = Text(f"{fit(self.text_of(int(o.rows[i])), 2 * width - 2)}\n", style="bold")
        text.append(f"now in {fit(self.shown(shown_label(state.name(cid), cid)), (width - 30) // 2)} · likely ")
        text.append(fit(self.shown(shown_label(o.likely_label[i], int(o.likely_cluster[i]))), (width - 30) // 2),
                    style="bold")
        text.append(f" ({o.confidence[i]:.0%})\n")
        here = shown_label(state.name(cid), cid)
        names = [fit(self.shown(name), 26 if width >= 100 else 18) if name != here else "(where it is)"
                 for name in o.alternatives[i]]
        cells = max((cell_len(n) for n in names), default=0) + 6  # " 1 " + a space + the name + two spaces
        per_line = max(1, width // cells)
        for n, name in enumerate(names, 1):
            if n > 1 and (n - 1) % per_line == 0:
                text.append("\n")
            text.append(f" {n} ", style="reverse bold")
            text.append(f" {pad(name, cells - 5)}")
        current.update(text)

    def shown(self, target: str) -> str:
        """A label, or "#id" of an unnamed cluster with the name the board shows for it."""
        if target.startswith("#") and target[1:].isdigit():
            return f"{target} {self.name_of(int(target[1:]))}"
        return target

    def _index(self) -> int | None:
        o = self.open
        return self.list.cursor if o is not None and 0 <= self.list.cursor < len(o) else None

    def _selected(self) -> np.ndarray:
        """Indices (into the open suspects) of the marked ones, else of the highlighted one."""
        lst, o = self.list, self.open
        if o is None or not len(o):
            return np.empty(0, np.int64)
        if lst.marked:
            return np.flatnonzero(np.isin(o.rows, np.fromiter(lst.marked, np.int64)))
        i = self._index()
        return np.array([i] if i is not None else [], np.int64)

    # ------------------------------------------------------------------ decisions

    def before_step(self) -> None:
        self.list.clear_marks()

    def after_step(self) -> None:
        self._refresh()


    def _send(self, rows: np.ndarray, target: str) -> Callable[[], "Outcome"]:
        """The step that sends ``rows`` to ``target``: a label's name, or "#id" of an unnamed cluster."""
        review = self.review
        if target.startswith("#") and target[1:].isdigit():
            return lambda: review.move(rows, int(target[1:]))
        return lambda: review.send_to_label(rows, target)

    def _targets(self, picked: np.ndarray) -> dict[str, np.ndarray]:
        """The picked suspects' rows by their likely label (or "#id" of the likely unnamed cluster)."""
        o, out = self.open, {}
        for i in picked.tolist():
            out.setdefault(shown_label(o.likely_label[i], int(o.likely_cluster[i])), []).append(int(o.rows[i]))
        return {k: np.asarray(v, np.int64) for k, v in out.items()}

    def action_move_likely(self) -> None:
        """Move the highlighted (or marked) suspects to their likely label."""
        picked = self._selected()
        for target, rows in self._targets(picked).items():
            self.step(self._send(rows, target))

    def action_keep(self) -> None:
        """Keep the highlighted (or marked) suspects where they are: they leave the queue."""
        picked = self._selected()
        if len(picked):
            rows, review = self.open.rows[picked], self.review
            self.step(lambda: review.keep(rows))

    def action_alternative(self, number: int) -> None:
        """Send the highlighted (or marked) suspects to alternative ``number`` of the highlighted one."""
        i, picked = self._index(), self._selected()
        if i is None or not len(picked):
            return
        alternatives = self.open.alternatives[i]
        if number > len(alternatives):
            self.notify(f"This suspect has {len(alternatives)} alternatives.", severity="warning", timeout=3)
            return
        self.step(self._send(self.open.rows[picked], alternatives[number - 1]))

    def action_move_label(self) -> None:
        """Move every open suspect whose likely label is the highlighted one's there."""
        i = self._index()
        if i is None:
            return
        o = self.open
        target = shown_label(o.likely_label[i], int(o.likely_cluster[i]))
        same = np.flatnonzero([shown_label(lab, int(c)) == target
                               for lab, c in zip(o.likely_label, o.likely_cluster.tolist())])
        self.step(self._send(o.rows[same], target))


    def action_toggle_mark(self) -> None:
        self.list.action_toggle_mark()
