"""Errors the engine raises for things a user can fix, each with a one-line message."""

from __future__ import annotations

from pathlib import Path


def printable(text: str) -> str:
    """``text`` with every character that is not printable escaped (``\\x1b``, ``\\n``, ``\\u202e``…).

    What it returns never moves the cursor, changes colours, sets a title or
    rings a bell in a terminal, and stays on one line.
    """
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def shorten(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[:limit] + "…"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters), or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def show_path(path: str | Path) -> str:
    """A file name that is safe to print: control characters escaped, nothing interpreted."""
    return printable(str(path))


class QtuiError(Exception):
    """An error a user can act on; ``str()`` is a single line. ``exit_code`` for the CLI."""

    exit_code = 1


class InputError(QtuiError):
    """The input file (or an option about it) is unusable: names the file, the line and what to do."""

    exit_code = 2

    def __init__(self, path: str | Path | None, problem: str, *, line: int | None = None,
                 column: str | None = None, hint: str | None = None) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.problem = problem
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = show_path(self.path) if self.path is not None else ""
        if self.line is not None:
            where += f":{self.line}"
        parts = [where] if where else []
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        parts.append(self.problem)
        msg = ": ".join(parts)
        if self.hint:
            msg += f" ({self.hint})"
        return printable(msg.replace("\r\n", " ").replace("\n", " "))


class UsageError(QtuiError):
    """An option or a combination of options that cannot work."""

    exit_code = 2


class ModelError(QtuiError):
    """The embedding model could not be loaded or used."""

    exit_code = 2
