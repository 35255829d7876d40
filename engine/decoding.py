"""Bytes to text: BOMs, UTF-16 without a BOM, GB18030 and cp932 detected, ``--encoding NAME[:replace]``.

UTF-8 (with or without BOM), UTF-16/32 with a BOM (Excel's "Unicode text") or
UTF-16 without one, GB18030/GBK and Shift-JIS (cp932) detected when the bytes
are not UTF-8 and read as that language; anything else through ``encoding``
(``NAME``, or ``NAME:replace`` to read undecodable bytes as U+FFFD).  Binary
files (spreadsheets, archives, images) are refused with a message saying what
they are.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from engine.errors import InputError

_BINARY_MAGIC = (
    (b"PK\x03\x04", "a zip archive (an .xlsx, .docx or .zip?)", "save the sheet as CSV UTF-8 and open that"),
    (b"\xd0\xcf\x11\xe0", "an old Office file (.xls or .doc?)", "save the sheet as CSV UTF-8 and open that"),
    (b"%PDF", "a PDF document", "export its text to a .txt file first"),
    (b"SQLite format 3\x00", "an SQLite database", "export a table as CSV first"),
    (b"BZh?1AY&SY", "bzip2-compressed", "decompress it first (bunzip2), or recompress it with gzip"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it first (unxz), or recompress it with gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "decompress it first (unzstd), or recompress it with gzip"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract the file from it first"),
    (b"\x89PNG", "a PNG image", "give a text file: .jsonl, .csv, .tsv, .txt or .parquet"),
    (b"\xff\xd8\xff", "a JPEG image", "give a text file: .jsonl, .csv, .tsv, .txt or .parquet"),
    (b"GIF8", "a GIF image", "give a text file: .jsonl, .csv, .tsv, .txt or .parquet"),
)


def _matches(raw: bytes, magic: bytes) -> bool:
    """Whether ``raw`` starts with ``magic``, where ``?`` stands for any byte (bzip2's block size digit)."""
    return len(raw) >= len(magic) and all(m == ord("?") or r == m for r, m in zip(raw, magic))


def refuse_binary(path: Path, raw: bytes, encoding: str | None) -> None:
    """Refuse spreadsheets, archives, images and other binary data with a message saying what they are."""
    for magic, what, hint in _BINARY_MAGIC:
        if raw.startswith(magic) or (b"?" in magic and _matches(raw, magic)):
            raise InputError(path, f"is {what}, not text", hint=hint)
    if raw[:4] == b"PAR1":
        raise InputError(path, "is a Parquet file, not text", hint="name it .parquet")
    if encoding or _bom_encoding(raw) or _utf16_without_bom(raw):
        return
    head = raw[:65536]
    if head.count(0) > len(head) * 0.1:
        raise InputError(path, "looks like binary data, not text (many NUL bytes)",
                         hint="give a text file: .jsonl, .csv, .tsv, .txt or .parquet")


def _bom_encoding(raw: bytes) -> str | None:
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _utf16_without_bom(raw: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when the start of ``raw`` looks like mostly-ASCII UTF-16 without a BOM."""
    head = raw[:4096]
    head = head[: len(head) // 2 * 2]
    if len(head) < 8 or 0 not in head:
        return None
    even, odd = head[0::2], head[1::2]
    zero_even, zero_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zero_odd > 0.4 and zero_even < 0.05:
        return "utf-16-le"
    if zero_even > 0.4 and zero_odd < 0.05:
        return "utf-16-be"
    return None


def decode(path: Path, raw: bytes, encoding: str | None, notices: list[str]) -> tuple[str, str]:
    if encoding:
        return _decode_as(path, raw, encoding, notices)
    bom = _bom_encoding(raw) or _utf16_without_bom(raw)
    if bom:
        try:
            text = raw.decode(bom)
        except UnicodeDecodeError as exc:
            raise _decode_error(path, raw, exc, f"not valid {_pretty(bom)}", "the file is damaged; save it again, "
                                "or pass --encoding NAME:replace to read bad bytes as \ufffd") from None
        if bom not in ("utf-8-sig",):
            notices.append(f"read as {_pretty(bom)}")
        return text.removeprefix("\ufeff"), "utf-8" if bom == "utf-8-sig" else bom
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        first_error = exc
    guess = _guess_legacy_encoding(raw)
    if guess is not None:
        text, name, language = guess
        notices.append(f"decoded as {name} ({language}; not valid UTF-8); pass --encoding to override")
        return text, name
    hint = ("pass --encoding with the file's encoding, e.g. latin-1, cp1252, gb18030, big5 or cp932; "
            "--encoding utf-8:replace reads the bad bytes as \ufffd")
    raise _decode_error(path, raw, first_error, "not valid UTF-8", hint)


def _decode_as(path: Path, raw: bytes, encoding: str, notices: list[str]) -> tuple[str, str]:
    name, _, errors = encoding.partition(":")
    name, errors = name.strip(), (errors.strip() or "strict")
    if errors not in ("strict", "replace", "ignore"):
        raise InputError(path, f"--encoding {encoding!r}: unknown error handling {errors!r}",
                         hint="give NAME, NAME:replace or NAME:ignore")
    try:
        codecs.lookup(name)
    except LookupError:
        raise InputError(path, f"unknown encoding {name!r}", hint="e.g. utf-8, gb18030, big5, cp932, latin-1") from None
    try:
        text = raw.decode(name, errors)
    except UnicodeDecodeError as exc:
        raise _decode_error(path, raw, exc, f"not valid {name}",
                            f"try another --encoding, or --encoding {name}:replace to read bad bytes as \ufffd") from None
    if errors == "replace":
        bad = text.count("\ufffd") - raw.decode(name, "ignore").count("\ufffd")
        if bad:
            notices.append(f"{bad:,} undecodable byte sequence{'s' * (bad != 1)} read as \ufffd")
    return text.removeprefix("\ufeff"), encoding


def _decode_error(path: Path, raw: bytes, exc: UnicodeDecodeError, what: str, hint: str) -> InputError:
    start = max(0, min(exc.start, len(raw) - 1))
    line = raw.count(b"\n", 0, start) + 1
    column = start - (raw.rfind(b"\n", 0, start) + 1) + 1
    return InputError(path, f"{what} (byte 0x{raw[start]:02x} at byte {column} of the line)", line=line, hint=hint)


def _pretty(codec: str) -> str:
    return {"utf-8-sig": "UTF-8", "utf-16": "UTF-16", "utf-32": "UTF-32", "utf-16-le": "UTF-16 (little-endian)",
            "utf-16-be": "UTF-16 (big-endian)"}.get(codec, codec)


def _guess_legacy_encoding(raw: bytes) -> tuple[str, str, str] | None:
    """(text, codec, language) when ``raw`` reads as exactly one of GB18030 (Chinese) or cp932 (Japanese).

    Each guess must look like the language it claims: GB18030 text mostly
    common simplified/traditional hanzi (Japanese or Big5 bytes read as GB18030
    give rare characters), cp932 text with kana.  Anything else is an error that
    names --encoding: a wrong guess would silently garble every text.
    """
    found = []
    for codec, language, plausible in (("gb18030", "Chinese", _plausible_chinese),
                                       ("cp932", "Japanese Shift-JIS", _plausible_japanese)):
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if plausible(text):
            found.append((text, codec, language))
    return found[0] if len(found) == 1 else None


def _non_ascii(text: str, limit: int = 200_000) -> list[str]:
    return [ch for ch in text[:limit] if ord(ch) > 127]


def _plausible_chinese(text: str) -> bool:
    chars = _non_ascii(text)
    if not chars:
        return False
    cjk = [ch for ch in chars if "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"]
    if len(cjk) / len(chars) <= 0.6 or any("\u3040" <= ch <= "\u30ff" for ch in cjk):
        return False
    common = 0
    for ch in cjk:
        try:
            ch.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            try:
                ch.encode("big5")
                common += 1
            except UnicodeEncodeError:
                pass
    return common / len(cjk) >= 0.9


def _plausible_japanese(text: str) -> bool:
    chars = _non_ascii(text)
    if not chars:
        return False
    kana = sum(1 for ch in chars if "\u3040" <= ch <= "\u30ff")
    halfwidth = sum(1 for ch in chars if "\uff61" <= ch <= "\uff9f")
    return kana / len(chars) >= 0.15 and halfwidth / len(chars) < 0.2


def split_lines(text: str) -> list[str]:
    """Split on \\n, \\r\\n and lone \\r only (not on the other characters str.splitlines knows)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")

