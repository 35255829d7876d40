"""A file's bytes, read safely: missing files, directories, files changing while read, gzip and its bombs.

Format detection lives here too: from the name (``.jsonl.gz`` is JSON Lines) or,
for an unknown name, from the first bytes.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import time
import zlib
from pathlib import Path

from engine.errors import InputError

FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv",
    ".tsv": "tsv", ".tab": "tsv", ".txt": "txt", ".text": "txt", ".parquet": "parquet", ".pq": "parquet",
}
#: A gzipped file may not grow beyond this once decompressed (a "zip bomb" is refused, not read).
MAX_DECOMPRESSED = 2 << 30
#: Reads of a file that keeps changing before giving up.
READ_TRIES = 4


def read_bytes(path: Path) -> bytes:
    """The file's bytes, read so that a file changing meanwhile is noticed and read again."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise InputError(path, "is a link to a file that does not exist") from None
        raise InputError(path, "no such file", hint="check the path and the name") from None
    except PermissionError:
        raise InputError(path, "permission denied", hint="check the permissions of the file and its folders") from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(path, "is a directory", hint="give a file: .jsonl, .csv, .tsv, .txt or .parquet")
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
        raise InputError(path, "is not a regular file (a device or a socket)",
                         hint="give a file: .jsonl, .csv, .tsv, .txt or .parquet")
    for attempt in range(READ_TRIES):
        try:
            with open(path, "rb") as f:
                before = os.fstat(f.fileno())
                data = f.read()
                after = os.fstat(f.fileno())
        except FileNotFoundError:
            raise InputError(path, "no such file (it was removed)") from None
        except PermissionError:
            raise InputError(path, "permission denied", hint="check the file's read permission") from None
        except IsADirectoryError:
            raise InputError(path, "is a directory", hint="give a file: .jsonl, .csv, .tsv, .txt or .parquet") from None
        except MemoryError:
            raise InputError(path, f"too large to read into memory ({info.st_size:,} bytes)",
                             hint="split the file") from None
        except OSError as exc:
            raise InputError(path, f"cannot be read ({exc.strerror or exc})") from None
        if not stat.S_ISREG(after.st_mode):
            return data  # a pipe: read once, as it came
        if _same_file_state(before, after) and len(data) == after.st_size:
            return data
        time.sleep(0.2 * (attempt + 1))
    raise InputError(path, f"changed while it was being read ({READ_TRIES} tries)",
                     hint="wait until the program writing it has finished, or open a copy")


def _same_file_state(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_size, a.st_mtime_ns, a.st_ctime_ns, a.st_ino) == (b.st_size, b.st_mtime_ns, b.st_ctime_ns, b.st_ino)


def gunzip(path: Path, raw: bytes) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
            data = f.read(MAX_DECOMPRESSED + 1)
    except (OSError, EOFError, zlib.error) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, f"damaged or incomplete gzip data ({reason})",
                         hint="copy the file again; 'gzip -t' checks it") from None
    if len(data) > MAX_DECOMPRESSED:
        raise InputError(path, f"more than {_mib(MAX_DECOMPRESSED)} once decompressed; not read",
                         hint="split the file into smaller ones")
    return data


def detect_format(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".gzip"):
        suffixes = suffixes[:-1]
    return FORMATS.get(suffixes[-1]) if suffixes else None


def sniff_format(raw: bytes) -> str:
    if raw[:4] == b"PAR1":
        return "parquet"
    head = raw[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"{":
        return "jsonl"
    if head[:1] == b"[":
        return "json"
    return "txt"


def _mib(size: int) -> str:
    return f"{size / (1 << 30):g} GiB" if size >= 1 << 30 else f"{size / (1 << 20):g} MiB"
