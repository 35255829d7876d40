"""One-line text for the terminal: ``fit`` cuts by cells (CJK, escapes, invisible characters) and
looks at no more of a long text than it needs; ``safe_text`` leaves printable text as it is."""

from __future__ import annotations

import random

from rich.cells import cell_len, set_cell_size

from engine.display_text import safe_text
from tui.formatting import ELLIPSIS, fit

PIECES = ["a", "b", " ", "退", "款", "太", "慢", "é", "e\u0301", "\t", "\n", "\r\n", "\x1b[31m", "\u200b",
          "\u00ad", "\u2028", "👍", "👨\u200d👩", "ｗ", "\x00", "  ", "\u3000", "\xa0", "\u202e", "\x9b",
          "\ue000"]


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


def test_spaces_of_every_kind_are_shown_as_they_are():
    line = "退款\u3000太慢了\xa0refund\u2009slow"  # ideographic space (2 cells), no-break space, thin space
    assert safe_text(line) == line
    assert cell_len(safe_text("\u3000")) == 2 and cell_len(safe_text("\xa0")) == 1
    assert fit(line, 40) == line and cell_len(line) == 24
    assert fit(line, 8) == "退款\u3000…"  # the wide space counts two cells, like the characters around it
    assert fit(line, 14) == "退款\u3000太慢了\xa0…"
    assert fit("\u3000" * 5, 4) == "\u3000…"  # half of a wide space is never shown


def test_nothing_shown_can_start_a_terminal_sequence():
    """Every character ``fit`` keeps is printable, a space, or an emoji joiner: no ESC, CSI (\\x9b), NUL or bidi
    override reaches the terminal, and the cells are counted right."""
    import unicodedata

    rng = random.Random(1)
    for _ in range(2000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 60)))
        for shown in (safe_text(text), fit(text, rng.randint(1, 40))):
            assert all(ch.isprintable() or unicodedata.category(ch) == "Zs" or ch in "\u200d\ufe0f\ufe0e"
                       for ch in shown), repr(shown)
    assert safe_text("\x1b[31mRED\x9b2J\u202eevil") == "\\x1b[31mRED\\x9b2J\\u202eevil"


def test_sparkline_scales_to_the_largest_groups_to_the_width_and_leaves_gaps_blank():
    from tui.formatting import sparkline

    assert sparkline([0, 1, 2, 4]) == "▁▃▅█"
    assert sparkline([1, 1, 2, 2], width=2) == "▅█"  # summed in pairs: 2, 4
    assert sparkline([0, float("nan"), 3]) == "▁ █"
    assert sparkline([0, 0]) == "▁▁" and sparkline([]) == ""
