"""One-line text for the terminal: ``fit`` cuts by cells (CJK, escapes, invisible characters) and
looks at no more of a long text than it needs; ``safe_text`` leaves printable text as it is."""

from __future__ import annotations

import random

from rich.cells import cell_len, set_cell_size

from engine.display_text import safe_text
from tui.formatting import ELLIPSIS, fit

PIECES = ["a", "b", " ", "退", "款", "太", "慢", "é", "e\u0301", "\t", "\n", "\r\n", "\x1b[31m", "\u200b",
          "\u00ad", "\u2028", "👍", "👨\u200d👩", "ｗ", "\x00", "  "]


def whole_text_fit(text: str, width: int) -> str:
    """``fit`` as it was: the first ``width * 4 + 8`` characters made safe, then cut."""
    shown = safe_text(text[: width * 4 + 8])
    if cell_len(shown) <= width:
        return shown
    cut = set_cell_size(shown, width - 1)
    if cut.endswith(" ") and cell_len(cut.rstrip(" ")) < width - 1 and not shown[len(cut.rstrip(' ')):].startswith(" "):
        cut = cut.rstrip(" ")
    return cut + ELLIPSIS


def test_fit_reads_a_prefix_and_cuts_as_the_whole_text_would():
    rng = random.Random(0)
    for _ in range(3000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 120)))
        width = rng.randint(1, 60)
        got = fit(text, width)
        assert got == whole_text_fit(text, width), (text, width)
        assert cell_len(got) <= width


def test_fit_real_cjk_line():
    text = "无线充电太慢了，充一晚上才勉强充满，而且手机发烫得厉害，希望下个版本能改进"
    assert fit(text, 20) == "无线充电太慢了，充…"  # 19 cells: half of a wide character is never shown
    assert cell_len(fit(text, 21)) == 21 and fit(text, 21).endswith(ELLIPSIS)
    assert fit(text, 200) == text


def test_safe_text_keeps_printable_text_and_escapes_the_rest():
    assert safe_text("退款 refund ok") == "退款 refund ok"
    assert safe_text("a\tb\nc\x1b[0m\u200bd") == "a b ⏎ c\\x1b[0md"
    assert safe_text("a\nb", one_line=False) == "a\nb"
