"""The app's main screen, with one change to Textual's: moving the focus repaints only what it changes."""

from __future__ import annotations

from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget


class BoardScreen(Screen):
    """The clusters, members and tabs.

    Textual's Screen repaints every cell of the terminal when the focus moves (its ``focused``
    reactive asks for a full repaint), although the widgets whose focus styles change repaint
    themselves.  With four panes of text that full repaint is the slowest part of a Tab.
    """

    focused: Reactive[Widget | None] = Reactive(None, repaint=False)
