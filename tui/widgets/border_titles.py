"""Border titles set as plain text, and only when they change.

Textual reads a ``str`` border title as markup: a cluster named ``[/x]`` or a search for ``[bold]``
raised MarkupError or lost its brackets.  And every assignment repaints the whole container, so an
unchanged title is not set again.
"""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget


def set_border_titles(widget: Widget, title: str | None = None, subtitle: str | None = None) -> None:
    """Show ``title`` and/or ``subtitle`` (plain text; None leaves that one as it is) on ``widget``'s border."""
    shown = widget.__dict__.setdefault("_plain_border_titles", {})
    for name, text in (("border_title", title), ("border_subtitle", subtitle)):
        if text is not None and shown.get(name) != text:
            shown[name] = text
            setattr(widget, name, Content(text))
