"""The corpus of bad and odd inputs, generated on the spot (nothing downloaded).

Each :class:`BadInput` writes one file (or makes a directory, or names a path
that does not exist) and says what qtui must make of it: either the rows it
loads (``rows``, with the first texts exactly) or an error, one line naming the
file and containing each of ``error``.  ``embed`` is False for the inputs too
big to embed in a test (the million lines): those go through the loader only.
"""

from __future__ import annotations

import bz2
import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from engine.options import LoadOptions

#: Short texts in a few topics, so two clusters can be found in any of them.
TEXTS = ["the battery drains fast", "battery dies by noon", "screen is bright and sharp",
         "the screen cracked", "delivery was late", "courier lost the parcel"]
CHINESE = ["电池续航太差了", "物流很快，包装完好", "屏幕很清晰，颜色也好看", "客服态度很差", "价格便宜质量好"]


def _csv(rows: list[str], header: str = "id,text", end: str = "\n") -> str:
    return end.join([header, *(f"{i + 1},{t}" for i, t in enumerate(rows))]) + end


def _jsonl(records: list) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def _write(name: str, data: bytes | str) -> Callable[[Path], Path]:
    def make(directory: Path) -> Path:
        path = directory / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return path
    return make


def _directory(directory: Path) -> Path:
    path = directory / "a-folder.jsonl"
    path.mkdir()
    (path / "inside.jsonl").write_text(_jsonl([{"text": t} for t in TEXTS]), encoding="utf-8")
    return path


def _missing(directory: Path) -> Path:
    return directory / "not-there.csv"


def _parquet(name: str, frame: pl.DataFrame) -> Callable[[Path], Path]:
    def make(directory: Path) -> Path:
        path = directory / name
        frame.write_parquet(path)
        return path
    return make


@dataclass(frozen=True)
class BadInput:
    """One input and what qtui must make of it (see the module docstring)."""

    name: str
    make: Callable[[Path], Path]
    args: tuple[str, ...] = ()
    rows: int | None = None
    texts: tuple[str, ...] = ()
    skipped: tuple[int, ...] = ()
    notice: str | None = None
    error: tuple[str, ...] = ()
    embed: bool = True
    ids: tuple[str, ...] = field(default=())

    @property
    def loads(self) -> bool:
        return self.rows is not None

    def options(self) -> LoadOptions:
        """The loader options ``args`` ask for (the same ones the CLI builds)."""
        pairs = dict(zip(self.args[::2], self.args[1::2]))
        return LoadOptions(text_col=pairs.get("--text-col"), encoding=pairs.get("--encoding"))


MIXED_JSON = _jsonl([{"id": "n", "text": 42}, {"id": "z", "text": None}, {"id": "l", "text": ["a", "list"]},
                     {"id": "o", "text": {"an": "object"}}, {"id": "b", "text": True}, {"id": "f", "text": 1.5},
                     *({"id": f"t{i}", "text": t} for i, t in enumerate(TEXTS))])
MALFORMED_JSONL = (_jsonl([{"text": t} for t in TEXTS[:3]]) + '{"text": "unclosed\n' + "not json at all\n"
                   + '[1, 2, 3]\n' + '"just a string"\n' + _jsonl([{"text": t} for t in TEXTS[3:]]))
QUOTED_CSV = ('id,text,note\r\n1,"line one\nline two",a\r\n2,"comma, inside",b\r\n3,"say ""hi"" twice",c\r\n'
              '4,"semi; colon | pipe",d\r\n' + "".join(f"{i},{t},e\r\n" for i, t in enumerate(TEXTS, start=5)))

CASES: list[BadInput] = [
    BadInput("empty", _write("empty.jsonl", b""), error=("the file is empty",)),
    BadInput("blank", _write("blank.txt", "\n \r\n\t\n"), error=("no records",)),
    BadInput("header only", _write("header.csv", "id,text\n"), error=(":1:", "header line but no rows")),
    BadInput("utf-8 BOM", _write("bom.csv", b"\xef\xbb\xbf" + _csv(TEXTS).encode()), rows=6, texts=tuple(TEXTS)),
    BadInput("CRLF", _write("crlf.csv", _csv(TEXTS, end="\r\n")), rows=6, texts=tuple(TEXTS)),
    BadInput("lone CR", _write("cr.txt", "\r".join(TEXTS) + "\r"), rows=6, texts=tuple(TEXTS)),
    BadInput("GB18030", _write("gbk.csv", _csv(CHINESE).encode("gb18030")), rows=5, texts=tuple(CHINESE),
             notice="gb18030"),
    BadInput("GB18030 --encoding", _write("gbk2.csv", _csv(CHINESE).encode("gb18030")), args=("--encoding", "gbk"),
             rows=5, texts=tuple(CHINESE)),
    BadInput("UTF-16 with BOM", _write("excel.txt", ("text\n" + "\n".join(TEXTS)).encode("utf-16")), rows=7,
             texts=("text", *TEXTS)),
    BadInput("Latin-1", _write("latin.csv", _csv([*TEXTS, "café crème brûlée"]).encode("latin-1")),
             error=(":8:", "not valid UTF-8", "--encoding")),
    BadInput("Latin-1 --encoding", _write("latin2.csv", _csv([*TEXTS, "café crème"]).encode("latin-1")),
             args=("--encoding", "latin-1"), rows=7, texts=(*TEXTS, "café crème")),
    BadInput("invalid UTF-8", _write("bad-utf8.jsonl", _jsonl([{"text": t} for t in TEXTS]).encode()
                                     + b'{"text": "broken \xff\xfe bytes"}\n'),
             error=(":7:", "byte 0xff", "--encoding")),
    BadInput("invalid UTF-8 :replace", _write("bad-utf8b.jsonl", _jsonl([{"text": t} for t in TEXTS]).encode()
                                              + b'{"text": "broken \xff bytes"}\n'),
             args=("--encoding", "utf-8:replace"), rows=7, texts=(*TEXTS, "broken \ufffd bytes"),
             notice="undecodable"),
    BadInput("NUL bytes in texts", _write("nul.txt", "\n".join(TEXTS[:3] + ["nul\x00inside", *TEXTS[3:]]) + "\n"),
             rows=7, texts=(*TEXTS[:3], "nul\x00inside")),
    BadInput("binary (mostly NUL)", _write("zeros.csv", b"id,text\n" + bytes(5000)), error=("binary data",)),
    BadInput("an .xlsx named .csv", _write("sheet.csv", b"PK\x03\x04" + bytes(200)),
             error=("zip archive", "CSV UTF-8")),
    BadInput("bzip2 named .jsonl", _write("packed.jsonl", bz2.compress(_jsonl([{"text": t} for t in TEXTS]).encode())),
             error=("bzip2-compressed", "bunzip2")),
    BadInput("text that starts like bzip2", _write("bzh.txt", "BZh is how it starts\n" + "\n".join(TEXTS)), rows=7,
             texts=("BZh is how it starts", *TEXTS)),
    BadInput("10 MB single line", _write("long.txt", ("word " * 2_000_000).strip() + "\n" + "\n".join(TEXTS)),
             rows=7, texts=(("word " * 2_000_000).strip(),)),
    BadInput("1,000,000 one-word lines", _write("million.txt", "".join(f"w{i}\n" for i in range(1_000_000))),
             rows=1_000_000, texts=("w0", "w1"), embed=False),
    BadInput("malformed JSON lines", _write("malformed.jsonl", MALFORMED_JSONL), rows=6, texts=tuple(TEXTS),
             skipped=(4, 5, 6, 7)),
    BadInput("numbers, null, lists, objects", _write("types.jsonl", MIXED_JSON), rows=10,
             texts=("42", "", "true", "1.5", *TEXTS), skipped=(3, 4)),
    BadInput("duplicate ids", _write("dupes.jsonl", _jsonl([{"id": "same", "text": t} for t in TEXTS])), rows=6,
             texts=tuple(TEXTS), notice="repeat an id", ids=("same",) * 6),
    BadInput("quoted newlines, delimiters", _write("quoted.csv", QUOTED_CSV), rows=10,
             texts=("line one\nline two", "comma, inside", 'say "hi" twice', "semi; colon | pipe", *TEXTS)),
    BadInput("stray quote", _write("stray.csv", _csv([TEXTS[0], '"unclosed quote', *TEXTS[1:]])), rows=7,
             texts=(TEXTS[0], '"unclosed quote', *TEXTS[1:]), notice="unbalanced quotes"),
    BadInput("ragged CSV rows", _write("ragged.csv", _csv([*TEXTS, "one,too many"])), rows=6, skipped=(8,)),
    BadInput("missing --text-col", _write("cols.jsonl", _jsonl([{"comment": t, "id": i} for i, t in enumerate(TEXTS)])),
             args=("--text-col", "body"), error=("no column 'body'", "'comment'")),
    BadInput("misspelled --text-col", _write("cols2.jsonl", _jsonl([{"text": t} for t in TEXTS])),
             args=("--text-col", "txet"), error=("no column 'txet'", "did you mean 'text'")),
    BadInput("a directory", _directory, error=("is a directory",)),
    BadInput("a missing file", _missing, error=("no such file",)),
    BadInput(".jsonl.gz", _write("gz.jsonl.gz", gzip.compress(_jsonl([{"text": t} for t in TEXTS]).encode())),
             rows=6, texts=tuple(TEXTS)),
    BadInput("truncated .gz", _write("cut.jsonl.gz", gzip.compress(_jsonl([{"text": t} for t in TEXTS]).encode())[:40]),
             error=("gzip",)),
    BadInput("Parquet nested text column", _parquet("nested.parquet", pl.DataFrame(
        {"id": ["a", "b"], "text": [["x", "y"], ["z"]], "meta": [{"k": 1}, {"k": 2}]})),
             args=("--text-col", "text"), error=("column 'text'", "lists, not text")),
    BadInput("Parquet nested beside text", _parquet("nested2.parquet", pl.DataFrame(
        {"tags": [["a"]] * 6, "comment": TEXTS, "meta": [{"k": i} for i in range(6)]})),
             rows=6, texts=tuple(TEXTS)),
    BadInput("control characters and ANSI", _write("ansi.txt", "\n".join(
        [*TEXTS, "red \x1b[31malert\x1b[0m", "bell\x07 title \x1b]0;pwned\x07", "back\bspace\x1b[2J"]) + "\n"),
             rows=9, texts=tuple(TEXTS)),
    BadInput("file name with escapes", _write("evil\x1b[31m.jsonl", ""), error=("\\x1b[31m",)),
]
