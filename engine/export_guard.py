"""Where an export may be written: never over an input file, and over another file only when asked to."""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import UsageError, show_path


class ExportRefused(UsageError):
    """The target is an input file (or a saved review's file, or inside the review store): never written."""


class ExportExists(UsageError):
    """The target exists; writing over it needs the person's yes (``--force`` in the CLI)."""


def check_export_target(target: str | Path, inputs: list[str | Path], overwrite: bool = False) -> Path:
    """Refuse ``target`` if it is one of ``inputs`` (same path, or the same file through a link: same inode
    and device) or lies in the review store; refuse an existing file unless ``overwrite``.  Returns it."""
    from engine.review_files import review_files
    from engine.review_info import reviews_root

    target = Path(target).expanduser()
    protected = [Path(p) for p in inputs] + review_files()
    for source in protected:
        if _same_file(target, source):
            what = "the input file" if Path(source).resolve() == target.resolve() else \
                f"the input file {show_path(source)} (through a link)"
            raise ExportRefused(f"{show_path(target)}: is {what}; an export never writes over its input: "
                                f"choose another name")
    store = reviews_root().resolve()
    if store == target.resolve() or store in target.resolve().parents:
        raise ExportRefused(f"{show_path(target)}: is inside the saved reviews ({show_path(store)}); "
                            f"export somewhere else")
    if target.exists() and not overwrite:
        raise ExportExists(f"{show_path(target)}: exists; give another name, or --force to write over it")
    return target


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        sa, sb = os.stat(a), os.stat(b)
    except OSError:  # one of them does not exist: not the same file
        return False
    return (sa.st_ino, sa.st_dev) == (sb.st_ino, sb.st_dev)
