"""Files DuckDB reads whole (JSON arrays, Parquet): the checks DuckDB does not make (SHA-256,
gzip and Parquet page CRCs), the SQL that turns a Parquet file into records, and what to
tell the user when such a file cannot be read.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import pyarrow as pa

from fluentlog.errors import FluentlogError
from fluentlog.ingest import sql
from fluentlog.ingest.files import MAX_LINE_BYTES, FileFault, HashingReader, gzip_message
from fluentlog.ingest.judge import FREE_FORM, NESTED
from fluentlog.store import Store, quote_ident, quote_literal

# Fields that hold objects or any JSON; in Parquet they may be structs or JSON text.
OBJECT_FIELDS = frozenset((*NESTED, *FREE_FORM))


_AS_LINES = (f"as JSON Lines each record is read on its own, in bounded memory, and one over "
             f"{MAX_LINE_BYTES >> 20} MiB is rejected alone: convert it with `jq -c '.[]' FILE > FILE.jsonl`")


def unreadable(fmt: str, detail: str) -> str:
    """Why a JSON array or Parquet file could not be read, with a way out where there is one."""
    if fmt.startswith("json-array") and "maximum_object_size" in detail:
        return f"a record in this JSON array is too large to read from an array (over ~64 MiB); {_AS_LINES}"
    if fmt.startswith("json-array") and "Out of Memory" in detail:
        return f"this JSON array's records do not fit in the ingest's memory together; {_AS_LINES}"
    return f"cannot read as {fmt}: {detail}"


def verified_sha256(path: Path, gzipped: bool) -> tuple[str, str]:
    """SHA-256 of the file and of its content; for gzip, decompressing once so a bad CRC fails here."""
    with path.open("rb") as fh:
        hashing = HashingReader(fh)
        if not gzipped:
            hashing.drain()
            return hashing.sha256.hexdigest(), hashing.sha256.hexdigest()
        content = hashlib.sha256()
        try:
            with gzip.GzipFile(fileobj=hashing, mode="rb") as stream:
                while data := stream.read(1 << 22):
                    content.update(data)
            hashing.drain()
        except (OSError, EOFError, zlib.error) as exc:
            raise FileFault(gzip_message(exc)) from None
        return hashing.sha256.hexdigest(), content.hexdigest()


def verify_parquet_pages(path: Path) -> None:
    """Read every page once with its CRC checked where the writer wrote one: DuckDB does not."""
    import pyarrow.parquet as pq
    try:
        for _ in pq.ParquetFile(path, page_checksum_verification=True).iter_batches(batch_size=65536):
            pass
    except (OSError, pa.ArrowException) as exc:
        raise FileFault(f"damaged Parquet file: {str(exc).splitlines()[0]}") from None


def parquet_chunk_sql(store: Store, path: Path) -> str:
    """One JSON object per Parquet row, objects given as structs or JSON text alike."""
    try:
        columns = store.rows(sql.PARQUET_COLUMNS, {"path": str(path)})
    except FluentlogError as exc:
        raise FileFault(f"not a readable Parquet file: {exc.message.removeprefix('database error: ')}") from None
    names = [name for name, _ in columns]
    missing = [f for f in ("id", "occurred_at") if f not in names]
    if missing:
        raise FileFault(f"Parquet schema lacks column(s) {', '.join(missing)} "
                        f"(it has: {', '.join(names[:12])}{' ...' if len(names) > 12 else ''})")
    return sql.PARQUET_CHUNK.replace("@RECORD@", record_json([(name, type_ == "VARCHAR") for name, type_ in columns]))


def record_json(columns: list[tuple[str, bool]]) -> str:
    """SQL for a row of these columns (name, whether it holds text) as a JSON object."""
    entries = ("{'k': " + quote_literal(name) + ", 'v': " + object_json(name, text) + "}" for name, text in columns)
    return sql.PARQUET_RECORD.replace("@ENTRIES@", ", ".join(entries))


def object_json(name: str, text: bool) -> str:
    """A column's value as JSON. An object field given as text is that JSON when it is JSON."""
    col = quote_ident(name)
    return f"coalesce(TRY_CAST({col} AS JSON), to_json({col}))" if name in OBJECT_FIELDS and text else f"to_json({col})"
