"""An OptionList whose page keys never raise."""

from __future__ import annotations

from textual.widgets import OptionList


class PageSafeOptionList(OptionList):
    """OptionList with Page Up/Down that do nothing while it has no lines laid out.

    Textual 8's OptionList raises KeyError on a page key when it has had no room
    to lay out its lines yet (a dialog in a 40×12 terminal leaves it zero rows).
    """

    def action_page_up(self) -> None:
        try:
            super().action_page_up()
        except KeyError:  # no lines laid out: nothing to page through
            pass

    def action_page_down(self) -> None:
        try:
            super().action_page_down()
        except KeyError:  # no lines laid out: nothing to page through
            pass
