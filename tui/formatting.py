"""Small text helpers for the app: safe, cell-width-aware truncation and number formats."""

from __future__ import annotations

import math

from rich.cells import cell_len, set_cell_size

from engine.display_text import safe_text

ELLIPSIS = "…"


def fit(text: str, width: int) -> str:
    """``text`` made safe for one terminal line and cut to at most ``width`` cells (never inside a character)."""
    if width <= 0:
        return ""
    # a few characters past the width usually overflow it (at least a cell each, unless invisible or
    # combining): then the rest of a long text is never looked at (each character costs in Python)
    for limit in (width + 2, width * 4 + 8):
        shown = safe_text(text[:limit])
        cells = cell_len(shown)
        if len(text) <= limit or cells > width:
            break
    if cells <= width:
        return shown
    cut = set_cell_size(shown, width - 1)
    if cut.endswith(" ") and cell_len(cut.rstrip(" ")) < width - 1 and not shown[len(cut.rstrip(' ')):].startswith(" "):
        cut = cut.rstrip(" ")  # a wide character did not fit: do not show half of it
    return cut + ELLIPSIS


def pad(text: str, width: int) -> str:
    """``fit`` then pad with spaces to exactly ``width`` cells."""
    return set_cell_size(fit(text, width), width)


def num(value: float | int | None, digits: int = 3) -> str:
    """A figure for display: '–' when missing, thousands separators for counts."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def share(value: float | None) -> str:
    """A share as a percentage with one decimal."""
    return "–" if value is None else f"{value:.1%}"


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values, width: int | None = None) -> str:
    """``values`` as a line of bars (each scaled to the largest; zero as the lowest bar, NaN as a blank),
    summed into at most ``width`` cells when there are more values than that."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    if width is not None and len(values) > width > 0:
        values = np.array([np.nansum(g) for g in np.array_split(values, width)])
    top = np.nanmax(values) if len(values) and not np.isnan(values).all() else 0.0
    if top <= 0:
        return "".join(" " if np.isnan(v) else SPARKS[0] for v in values)
    return "".join(" " if np.isnan(v) else SPARKS[min(len(SPARKS) - 1, int(v / top * (len(SPARKS) - 1) + 0.5))]
                   for v in values)
