"""`fluentlog export`: events to a file — atomically, privately, redacted, spreadsheet-safe.

The file is written under a temporary name in the target's folder and renamed into place
only when complete, so a crash or a full disk never leaves a partial export under the
final name. Values that a spreadsheet would run as a formula are neutralised in CSV.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from fluentlog import schema
from fluentlog.errors import FluentlogError, UsageError
from fluentlog.redact import Redactor
from fluentlog.store import Store
from fluentlog.timeparse import TimeRange
from fluentlog.view import jsonable, neutralise_formula

FORMATS = ("csv", "jsonl", "json", "parquet")
# A file name's extension names its format: `-o out.parquet` writes Parquet without --format.
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet"}
DEFAULT_FORMAT = "csv"  # for a name whose extension names no format
COMPRESSED = (".gz", ".gzip", ".bz2", ".xz", ".zst", ".zip")  # names that promise what is not written
# Optional filters per stream, included in the SQL text only when given.
_FILTERS = {
    "audit": {
        "email": "(lower(actor_email) = lower($email) OR lower(entity_email) = lower($email))",
        "actor": "lower(actor_email) = lower($actor)",
        "type": "entity_type = $type", "id": "entity_id = $id", "action": "action GLOB $action",
        "since": "occurred_at >= $since", "until": "occurred_at < $until",
    },
    "access": {
        "email": "lower(user_email) = lower($email)", "ip": "ip = $ip",
        "since": "occurred_at >= $since", "until": "occurred_at < $until",
    },
}


@dataclass(frozen=True)
class Params:
    stream: str
    output: Path
    format: str = "csv"
    force: bool = False
    filters: dict[str, Any] = field(default_factory=dict)  # email, actor, type, id, action, ip
    range: TimeRange = field(default_factory=TimeRange)


@dataclass
class Written:
    path: Path
    rows: int
    sha256: str
    format: str


def columns(stream: str) -> list[str]:
    return [c for c in schema.content_columns(stream) if c != "raw"]


def query(params: Params) -> tuple[str, dict[str, Any]]:
    if params.stream not in schema.STREAMS:
        raise UsageError(f"export what? {params.stream!r}", hint="fluentlog export audit|access --output FILE")
    values = {k: v for k, v in params.filters.items() if v is not None}
    values.update({k: v for k, v in (("since", params.range.since), ("until", params.range.until)) if v})
    allowed = _FILTERS[params.stream]
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise UsageError(f"--{unknown[0]} does not apply to {params.stream} events",
                         hint=f"{params.stream} filters: " + ", ".join(f"--{k}" for k in allowed))
    where = " AND ".join(allowed[k] for k in sorted(values)) or "true"
    sql = (f"SELECT {', '.join(columns(params.stream))} FROM {schema.STREAM_TABLES[params.stream]} "
           f"WHERE {where} ORDER BY occurred_at, event_id")
    return sql, values


def choose_format(output: Path, given: str | None) -> str:
    """The format the file name's extension names, else --format, else CSV; a --format that
    contradicts the extension is refused rather than, say, CSV written into a .parquet file."""
    if output.suffix.lower() in COMPRESSED:
        inner = output.with_suffix("")
        raise UsageError(f"fluentlog does not compress exports, and {output.name} would hold plain text",
                         hint=f"write {inner.name} and compress it afterwards (e.g. gzip {inner.name})")
    named = EXTENSIONS.get(output.suffix.lower())
    if given is not None and named is not None and given != named:
        raise UsageError(f"--format {given} does not match the file name {output.name} ({output.suffix} is {named})",
                         hint=f"leave --format out to write {named}, or name the file "
                              f"{output.with_suffix(_suffix(given)).name}")
    return given or named or DEFAULT_FORMAT


def _suffix(fmt: str) -> str:
    return next(suffix for suffix, named in EXTENSIONS.items() if named == fmt)


def check_target(params: Params) -> None:
    if params.format not in FORMATS:
        raise UsageError(f"--format {params.format!r} cannot be exported", hint="use " + ", ".join(FORMATS))
    if params.output.is_dir():
        example = params.output / f"{params.stream}{_suffix(params.format)}"
        raise FluentlogError(f"{params.output} is a folder; --output names the file to write",
                             hint=f"name a file in it, e.g. --output {example}")
    if params.output.exists() and not params.force:
        raise FluentlogError(f"{params.output} exists; not overwritten", hint="pass --force to replace it")
    if not params.output.parent.is_dir():
        raise FluentlogError(f"folder {params.output.parent} does not exist")


def run(store: Store, params: Params, redactor: Redactor,
        progress: Callable[[int], None] | None = None) -> Written:
    check_target(params)
    sql, values = query(params)
    batches = (_redacted(b, redactor) for b in store.batches(sql, values))
    fd, temp = tempfile.mkstemp(prefix=f".{params.output.name}.", suffix=".part", dir=params.output.parent)
    os.close(fd)
    try:
        rows = _WRITERS[params.format](Path(temp), batches, columns(params.stream), progress)
        _fsync(Path(temp))
        digest = _sha256(Path(temp))
        os.replace(temp, params.output)
    except BaseException as exc:
        Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            advice = ("free some space or pick another folder" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
                      else "name a file in a folder you may write to")
            raise FluentlogError(f"cannot write {params.output}: {exc.strerror or exc}",
                                 hint=f"nothing was left under that name; {advice}") from None
        raise
    return Written(params.output, rows, digest, params.format)


def _redacted(batch: pa.RecordBatch, redactor: Redactor) -> pa.RecordBatch:
    if redactor.inactive:
        return batch
    rows = redactor.rows(batch.to_pylist())
    return pa.RecordBatch.from_pylist(rows, schema=batch.schema)


def _write_csv(path: Path, batches: Iterator[pa.RecordBatch], names: list[str],
               progress: Callable[[int], None] | None) -> int:
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for batch in batches:
            for row in batch.to_pylist():
                writer.writerow([_csv_cell(row[n]) for n in names])
            rows += batch.num_rows
            if progress:
                progress(rows)
    return rows


def _csv_cell(value: Any) -> Any:
    value = jsonable(value)
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    return neutralise_formula(value)


def _write_jsonl(path: Path, batches: Iterator[pa.RecordBatch], names: list[str],
                 progress: Callable[[int], None] | None) -> int:
    rows = 0
    with path.open("w", encoding="utf-8") as fh:
        for batch in batches:
            buffer = io.StringIO()
            for row in batch.to_pylist():
                buffer.write(json.dumps(jsonable(row), ensure_ascii=False) + "\n")
            fh.write(buffer.getvalue())
            rows += batch.num_rows
            if progress:
                progress(rows)
    return rows


def _write_json(path: Path, batches: Iterator[pa.RecordBatch], names: list[str],
                progress: Callable[[int], None] | None) -> int:
    """One JSON array of the events, written as it is read (the same objects as JSON Lines)."""
    rows = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write("[")
        for batch in batches:
            buffer = io.StringIO()
            for row in batch.to_pylist():
                buffer.write(("," if rows else "") + "\n" + json.dumps(jsonable(row), ensure_ascii=False))
                rows += 1
            fh.write(buffer.getvalue())
            if progress:
                progress(rows)
        fh.write("\n]\n" if rows else "]\n")
    return rows


def _write_parquet(path: Path, batches: Iterator[pa.RecordBatch], names: list[str],
                   progress: Callable[[int], None] | None) -> int:
    rows, writer = 0, None
    try:
        for batch in batches:
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema, compression="zstd")
            writer.write_batch(batch)
            rows += batch.num_rows
            if progress:
                progress(rows)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:  # no rows: still a valid, empty file with the columns
        pq.write_table(pa.table({n: pa.array([], pa.string()) for n in names}), path)
    return rows


_WRITERS = {"csv": _write_csv, "jsonl": _write_jsonl, "json": _write_json, "parquet": _write_parquet}


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def summary(written: Written):  # -> View
    from fluentlog.view import Section, View
    doc = {"path": str(written.path), "format": written.format, "rows": written.rows, "sha256": written.sha256}
    table = pa.table({"file": [doc["path"]], "format": [doc["format"]],
                      "rows": pa.array([doc["rows"]], pa.int64()), "sha256": [doc["sha256"]]})
    return View(doc, [Section(table, title="Exported")], [f"{written.rows:,} rows written to {written.path} "
                                                          f"(mode 0600); SHA-256 {written.sha256}"])
