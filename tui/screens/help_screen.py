"""The help screen: every key binding of the app, grouped by where it applies."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.actions import bindings
from tui.screens.modal import Modal

ABOUT = ("qtui groups texts by meaning. Pick a cluster on the left, read its members in the middle, "
         "and see the selected text, keywords, metrics and the map on the right. Type / to find texts "
         "like any phrase. Ctrl+P opens the command palette with every action.")


def key_label(key: str) -> str:
    """'ctrl+p,question_mark' → 'Ctrl+P / ?'."""
    names = {"question_mark": "?", "exclamation_mark": "!", "slash": "/", "bracketleft": "[", "bracketright": "]", "plus": "+",
             "equals_sign": "=", "minus": "-", "f1": "F1", "escape": "Esc", "enter": "Enter", "tab": "Tab",
             "shift+tab": "Shift+Tab", "space": "Space", "pageup": "PgUp", "pagedown": "PgDn",
             "home": "Home", "end": "End", "up": "↑", "down": "↓", "left": "←", "right": "→",
             "delete": "Del", "backspace": "Backspace"}
    out = []
    for part in key.split(","):
        part = part.strip()
        if part in names:
            out.append(names[part])
        elif part.startswith("ctrl+"):
            out.append("Ctrl+" + part[5:].upper())
        else:
            out.append(part)
    return " / ".join(out)


def bindings_table(groups: list[tuple[str, list[Binding]]]) -> Table:
    """A table of (key, what it does) rows under a heading per group."""
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    for title, keys in groups:
        table.add_row(Text(title, style="bold underline"), "")
        seen = set()
        for b in keys:
            if b.description and (b.key, b.description) not in seen:
                seen.add((b.key, b.description))
                table.add_row(key_label(b.key), b.description)
        table.add_row("", "")
    return table


class HelpScreen(Modal):
    """Lists every binding; Esc, q or ? closes it."""

    BINDINGS = bindings("help")

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 95%; height: 90%; border: round $primary;
                                  background: $panel; padding: 0 1; }
    """

    def __init__(self, groups: list[tuple[str, list[Binding]]]) -> None:
        super().__init__()
        self.groups = groups

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "qtui help — Esc closes"
            yield Static(Text(ABOUT, style="italic"))
            yield Static("")
            yield Static(bindings_table(self.groups))
