"""Where a bug's traceback goes: a log file in the cache directory, named in the one-line error."""

from __future__ import annotations

from pathlib import Path


def write_crash_log() -> Path:
    """Write the current exception's traceback to a log file in the cache directory and return its path."""
    import tempfile
    import time
    import traceback

    from engine.cache import default_cache_root

    text = traceback.format_exc()
    for directory in (default_cache_root() / "logs", Path(tempfile.gettempdir())):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"crash-{time.strftime('%Y%m%d-%H%M%S')}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return Path("(nowhere: no writable directory)")
