"""Telling a file's format from its bytes: JSON Lines, a JSON array, YAML or Parquet, gzipped or
not; and refusing text fluentlog cannot read (UTF-16, lines ended by a carriage return alone)
with how to convert it."""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path
from typing import BinaryIO

from fluentlog.ingest.files import BOM, FileFault, gzip_message

_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"


def sniff(path: Path) -> tuple[str, bool]:
    """(format, gzipped) from the bytes, where format is jsonl, json-array, yaml or parquet."""
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith(_GZIP_MAGIC):
            inner = _head(gzip.open(path, "rb"))
            _refuse_text_fluentlog_cannot_read(inner)
            return ("json-array" if inner[:1] == b"[" and not _named_jsonl(path) else "jsonl"), True
    if head == _PARQUET_MAGIC:
        return "parquet", False
    if path.name.lower().endswith(".parquet"):
        raise FileFault(f"named .parquet but is not Parquet (no PAR1 magic){_looks_like(head)}")
    with path.open("rb") as fh:
        head = fh.read(4096).removeprefix(BOM).lstrip()
    _refuse_text_fluentlog_cannot_read(head)
    if head[:1] == b"[" and not _named_jsonl(path):
        return "json-array", False
    return ("yaml" if _YAML_START.match(head) else "jsonl"), False


# UTF-16 (Windows tools save text so): its byte-order mark, or JSON's first characters each
# followed (little-endian) or preceded (big-endian) by a NUL byte.
_UTF16 = re.compile(rb"\xff\xfe|\xfe\xff|[{\[\s]\x00[\s\"{\[]\x00|\x00[{\[\s]\x00[\s\"{\[]")

# A YAML document (Okta's System Log as some tools save it): "---", "%YAML", or a first
# line "Key: value"; JSON starts with { or [ and never matches.
_YAML_START = re.compile(rb"(---|%YAML|[A-Za-z_][A-Za-z0-9_ -]*:(\s|$))")


def _named_jsonl(path: Path) -> bool:
    """A file named JSON Lines is read line by line even if its first line starts with "[":
    that line is then one rejected record, not the whole file failing as a broken array."""
    return path.name.lower().removesuffix(".gz").endswith((".jsonl", ".ndjson"))


def _looks_like(head: bytes) -> str:
    text = head.lstrip(BOM).lstrip()
    if text[:1] in (b"{", b"["):
        return "; it looks like JSON: rename it to .jsonl or .json"
    return "" if head else "; the file is empty"


def _head(fh: BinaryIO) -> bytes:
    """The first 4 KiB after an optional BOM and whitespace."""
    try:
        with fh:
            head = fh.read(4096)
    except (OSError, EOFError, zlib.error) as exc:
        raise FileFault(gzip_message(exc)) from None
    return head.removeprefix(BOM).lstrip()


def _refuse_text_fluentlog_cannot_read(head: bytes) -> None:
    """UTF-16, or lines ended by a carriage return alone: the file fails, saying how to convert it."""
    if _UTF16.match(head):
        raise FileFault("the file is UTF-16 text; fluentlog reads UTF-8: convert it first "
                        "(e.g. iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8.jsonl)")
    if b"\n" not in head and re.search(rb"\}\r+[ \t]*\{", head):
        raise FileFault("its lines end with a carriage return alone (classic Mac OS), not a line feed: "
                        "convert it first (e.g. tr '\\r' '\\n' < FILE > FILE.unix.jsonl)")
