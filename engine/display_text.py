"""Make untrusted text safe and compact for one line of a terminal.

Control and format characters (ESC of ANSI sequences, bidi overrides) are shown
as visible escapes such as ``\\x1b`` and never reach the terminal; line breaks and
tabs become a visible mark or a space so a row stays one line.  Spaces of every
kind (no-break, ideographic, thin…) are shown as they are.
"""

from __future__ import annotations

import unicodedata

_LINE_BREAKS = {"\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c"}
#: Invisible characters that carry no meaning on screen: dropped (bidi controls are escaped instead).
_INVISIBLE = {"\u200b", "\u200c", "\u2060", "\ufeff", "\u00ad"}


def safe_text(text: str, *, one_line: bool = True) -> str:
    """``text`` with control and format characters escaped; with ``one_line`` breaks shown as ' ⏎ '."""
    if text.isprintable():  # no control, format or non-ASCII space character: nothing to change (checked in C)
        return text
    out: list[str] = []
    for ch in text.replace("\r\n", "\n"):
        if ch == "\t":
            out.append(" " if one_line else "    ")
        elif ch in _LINE_BREAKS:
            out.append(" ⏎ " if one_line else "\n")
        elif ch in _INVISIBLE:
            continue
        elif ch.isprintable() or unicodedata.category(ch) == "Zs":
            out.append(ch)  # a space of any width: the ideographic one is two cells, as the terminal draws it
        elif unicodedata.category(ch) in ("Cf",) and ch in "\u200d\ufe0f\ufe0e":
            out.append(ch)  # zero-width joiner / variation selectors of emoji
        else:  # control, format, surrogate, and private-use or unassigned (their width is unknown)
            out.append(_escape(ch))
    return "".join(out)


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
