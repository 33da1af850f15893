"""Read the records of a foreign export, whatever its container.

JSON Lines (plain or gzip; a line may also be a wrapper object such as CloudTrail's
{"Records": [...]}), one JSON document (an array, a wrapper object, pretty-printed or
not), YAML with the records under a key (Okta's `Logs`), and Parquet. Each record keeps
its exact text (the line's bytes, or the record re-serialised from a document), its
line number (JSON Lines) or record number (documents), and its byte offset where known.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluentlog.ingest.files import FileFault, gzip_message, parquet_message
from fluentlog.ingest.strict import parse_strict

MAX_DOCUMENT_BYTES = 1 << 30  # a whole-file document is parsed in memory: beyond this, ask for JSON Lines
MAX_LINE_BYTES = 64 << 20


@dataclass
class Record:
    line_no: int
    byte_offset: int | None
    text: bytes
    value: Any = None
    error: str | None = None  # a reject reason when the record cannot be read
    length: int | None = None  # the record's full length, when text holds only its head

    def __post_init__(self) -> None:
        if self.length is None:
            self.length = len(self.text)


def loads(text: bytes) -> tuple[Any, str | None]:
    """(value, None) or (None, reason), as strict as the native path: no NaN, no repeated keys."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        return None, "invalid_utf8"
    return parse_strict(decoded)


def records(path: Path, fmt: str, wrappers: tuple[str, ...]) -> Iterator[Record]:
    """Every record of the file, in order. `fmt` is what sniff.sniff said (jsonl, json-array,
    yaml or parquet, with +gzip); `wrappers` are the keys under which the source's own
    wrapper objects hold their records (its `records`), never an ordinary field's name."""
    if fmt.startswith("parquet"):
        yield from _parquet(path)
    elif fmt.startswith("yaml"):
        yield from _document(_yaml(path), wrappers)
    elif fmt.startswith("json-array") or _is_document(path, fmt):
        yield from _document(_json_document(path, fmt), wrappers)
    else:
        yield from _lines(path, fmt, wrappers)


def _open(path: Path, fmt: str):
    return gzip.open(path, "rb") if fmt.endswith("+gzip") else path.open("rb")


def _read_all(path: Path, fmt: str) -> bytes:
    if path.stat().st_size > MAX_DOCUMENT_BYTES and not fmt.endswith("+gzip"):
        raise FileFault(f"a single JSON document over {MAX_DOCUMENT_BYTES >> 20} MiB; "
                        "export it as JSON Lines (one record per line) instead")
    try:
        with _open(path, fmt) as fh:
            data = fh.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise FileFault(gzip_message(exc)) from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise FileFault("a single JSON document over 1 GiB; export it as JSON Lines instead")
    return data


def _is_document(path: Path, fmt: str) -> bool:
    """A pretty-printed object: its first line is not JSON by itself, but the file is."""
    try:
        with _open(path, fmt) as fh:
            first = b""
            for line in fh:
                if line.strip():
                    first = line
                    break
    except (OSError, EOFError, zlib.error) as exc:
        raise FileFault(gzip_message(exc)) from None
    if not first.lstrip(b"\xef\xbb\xbf \t").startswith(b"{") or loads(first)[1] is None:
        return False
    if path.stat().st_size > MAX_DOCUMENT_BYTES:  # JSON Lines whose first record is broken
        return False
    return loads(_read_all(path, fmt).removeprefix(b"\xef\xbb\xbf"))[1] is None


def _json_document(path: Path, fmt: str) -> Any:
    value, error = loads(_read_all(path, fmt).removeprefix(b"\xef\xbb\xbf"))
    if error:
        raise FileFault(f"not a readable JSON document ({error.replace('_', ' ')})")
    return value


def _yaml(path: Path) -> Any:
    try:
        import yaml
    except ImportError:  # pragma: no cover - a dependency, but say what to do if it is gone
        raise FileFault("this file is YAML and PyYAML is not installed: pip install pyyaml") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with path.open("rb") as fh:
            return _json_safe(yaml.load(fh, Loader=loader))  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise FileFault(f"not readable YAML: {str(exc).splitlines()[0]}") from None


def _json_safe(value: Any) -> Any:
    """YAML's own types as JSON would have them: times and dates as ISO text, keys as text."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def unwrap(value: Any, wrappers: tuple[str, ...]) -> list[Any] | None:
    """The records inside a wrapper object ({"Records": [...]}), or None if it is not one."""
    if isinstance(value, dict):
        for key in wrappers:
            if isinstance(value.get(key), list):
                return value[key]
    return None


def _document(value: Any, wrappers: tuple[str, ...]) -> Iterator[Record]:
    items = value if isinstance(value, list) else unwrap(value, wrappers)
    if items is None:
        items = [value]
    for number, item in enumerate(items, start=1):
        text = json.dumps(item, ensure_ascii=False, default=str).encode()
        yield Record(number, None, text, item)


def _lines(path: Path, fmt: str, wrappers: tuple[str, ...]) -> Iterator[Record]:
    """JSON Lines, numbered by line. A file whose first record is a wrapper (CloudTrail's
    {"Records": [...]} files, one per line) is read as wrappers throughout and its records
    are numbered in order instead; a later line of the other kind is then one record that
    its mapping rejects, so numbers never collide and nothing is dropped."""
    offset, counted, by_wrapper = 0, 0, None
    try:
        with _open(path, fmt) as fh:
            for line_no, line in enumerate(fh, start=1):
                start, offset = offset, offset + len(line)
                body = line.rstrip(b"\r\n")
                if start == 0:
                    body = body.removeprefix(b"\xef\xbb\xbf")
                if not body.strip():
                    continue
                if len(body) > MAX_LINE_BYTES:
                    counted += 1
                    yield Record(counted if by_wrapper else line_no, start, body[:4096],
                                 error="line_too_large", length=len(body))
                    continue
                value, error = loads(body)
                inner = unwrap(value, wrappers) if error is None else None
                if by_wrapper is None:
                    by_wrapper = inner is not None
                if by_wrapper and inner is not None:
                    for item in inner:
                        counted += 1
                        yield Record(counted, start, json.dumps(item, ensure_ascii=False).encode(), item)
                    continue
                counted += 1
                yield Record(counted if by_wrapper else line_no, start, body, value, error)
    except (OSError, EOFError, zlib.error) as exc:
        raise FileFault(gzip_message(exc)) from None


def _parquet(path: Path) -> Iterator[Record]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    number = upto = 0
    try:
        for batch in pq.ParquetFile(path, page_checksum_verification=True).iter_batches(batch_size=8192):
            upto += batch.num_rows
            for row in batch.to_pylist():
                number += 1
                text = json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False, default=str)
                yield Record(number, None, text.encode(), json.loads(text))
    except (OSError, pa.ArrowException) as exc:
        raise FileFault(parquet_message(exc)) from None
    except UnicodeDecodeError:
        raise FileFault(f"damaged or unreadable Parquet file: a text in rows {number + 1}-{upto} "
                        "is not valid UTF-8") from None


def sample(path: Path, fmt: str, wrappers: tuple[str, ...], limit: int = 200) -> list[Any]:
    """The first readable records (objects), for detecting the source."""
    if fmt.startswith("json-array"):
        return _array_head(path, fmt, limit)
    found = []
    for record in records(path, fmt, wrappers):
        if record.error is None and isinstance(record.value, dict):
            found.append(record.value)
        if len(found) >= limit or record.line_no > limit * 5:
            break
    return found


def _array_head(path: Path, fmt: str, limit: int) -> list[Any]:
    """The first objects of a JSON array, from its first MiB only (the file may be large)."""
    try:
        with _open(path, fmt) as fh:
            text = fh.read(1 << 20).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    except (OSError, EOFError, zlib.error) as exc:
        raise FileFault(gzip_message(exc)) from None
    decoder, pos, found = json.JSONDecoder(), 1, []
    while len(found) < limit:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except ValueError:
            break
        if isinstance(value, dict):
            found.append(value)
    return found
