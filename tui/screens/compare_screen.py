"""The filtered rows against the rest: clusters ranked by how much more the filter's rows fall in them
(engine/compare.py), with counts, lift and significance; Enter goes to the cluster."""

from __future__ import annotations

import math
from typing import Callable

from rich.cells import cell_len

from tui.formatting import fit, pad
from tui.screens.pick_screen import PickScreen

NAME_CELLS = 22


def _right(text: str, width: int) -> str:
    return " " * max(0, width - cell_len(text)) + text


def compare_lines(table, name: Callable[[int], str]) -> tuple[str, list[tuple[str, str]]]:
    """The heading and one line per cluster holding filtered rows, most over-represented first."""
    heading = f"{_right('#', 4)} {pad('cluster', NAME_CELLS)} {_right('here', 7)} {_right('rest', 7)} " \
              f"{_right('here%', 6)} {_right('rest%', 6)} {_right('lift', 6)} {_right('q', 7)}"
    lines = []
    for i in range(len(table)):
        if not table.inside[i]:
            continue  # the filter's rows avoid it: not on the filtered board
        cid = int(table.ids[i])
        lift = float(table.lift[i])
        lift_text = "new" if math.isinf(lift) else f"{lift:.1f}×"
        q = float(table.q_over[i])
        q_text = "<0.001" if q < 0.001 else f"{q:.3f}"
        lines.append((str(cid), f"{_right('#' + str(cid) if cid >= 0 else '–', 4)} {pad(fit(name(cid), NAME_CELLS), NAME_CELLS)} "
                                f"{_right(f'{int(table.inside[i]):,}', 7)} {_right(f'{int(table.outside[i]):,}', 7)} "
                                f"{_right(f'{table.share_inside[i]:.0%}', 6)} {_right(f'{table.share_outside[i]:.0%}', 6)} "
                                f"{_right(lift_text, 6)} {_right(q_text, 7)}"))
    return heading, lines


class CompareScreen(PickScreen):
    """The comparison of the filter ``where``'s rows with the others, one cluster a line."""

    def __init__(self, table, name: Callable[[int], str], where: str) -> None:
        heading, lines = compare_lines(table, name)
        super().__init__(f"Where {fit(where, 50)} ({table.selected:,} rows) against the other {table.others:,}",
                         lines, hint="here/rest: rows of the cluster in the filter and outside it · here%/rest%: "
                                     "the share of each side · lift: share here / share in the rest · q: chance of so many by luck, "
                                     "over all clusters (Benjamini–Hochberg) · Enter goes to the cluster · Esc closes",
                         heading=heading)
