"""Parquet files whose columns are Fluent's fields, judged from the columns themselves.

A Parquet file made from a Fluent export holds each field as a typed column: text, a struct
of texts, JSON. whole.py turns every row into JSON text and parses it again (12 s of 41 s for
5M audit events). Here the file is read in chunks through pyarrow, every page's CRC checked
as it is read, and a record whose fields are all clean is judged by the same checks straight
from its columns. Every other row (a missing or blank field, a bad time, a non-finite number,
JSON text only the strict parser can judge) is made into the same JSON text as whole.py's and
judged as a line, so its verdict and reason are those it gets there. A file with any other
column, a column of another type, or large records goes whole.py's way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from fluentlog.ingest import sql
from fluentlog.ingest.files import BATCH_ROWS, CHUNK_BYTES, ROW_GROUP_LINES, FileFault
from fluentlog.ingest.judge import FREE_FORM, MAX_DEPTH, NESTED, TOP, suspect
from fluentlog.ingest.whole import object_json, record_json
from fluentlog.store import quote_ident, quote_literal

CHUNK_ROWS = 2 * ROW_GROUP_LINES  # records judged per statement, as in a chunk of lines
LARGE_RECORD = 2048  # bytes per row on average (uncompressed) above which whole.py reads the file
_NUMBERS = {"location": ("lat", "lon")}  # nested fields that may be numbers rather than text


@dataclass(frozen=True)
class Plan:
    stream: str
    spill: str  # sql.columns_spill for this file's columns
    left: str  # sql.COLUMNS_LEFT for them


def plan(path: Path, kind: str | None) -> Plan | None:
    """How to judge the file from its columns; None when whole.py must read it."""
    import pyarrow.parquet as pq
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException):
        return None  # whole.py says what is wrong with it
    meta, schema = parquet.metadata, parquet.schema_arrow
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if meta.num_rows == 0 or size > meta.num_rows * LARGE_RECORD:
        return None
    names = schema.names
    stream = "audit" if "action" in names else "access" if "event" in names else None
    if (stream is None or (kind is not None and kind != stream) or len(set(names)) != len(names)
            or not {"id", "occurred_at"} <= set(names) or not set(names) <= set(TOP[stream])):
        return None
    fields, suspects = {}, []
    for f in schema:
        shaped = _field(f)
        if shaped is None:
            return None
        fields[f.name], flag = shaped
        suspects += [flag] if flag else []
    struct = "{" + ", ".join(f"'{name}': {fields.get(name) or _absent(name)}" for name in TOP[stream]) + "}"
    kind_column = quote_ident("action" if stream == "audit" else "event")
    spill = sql.columns_spill(stream, struct, f"{kind_column} IS NOT NULL",
                              " OR ".join(f"coalesce({s}, false)" for s in suspects) or "false")
    left = sql.COLUMNS_LEFT.replace("@RECORD@", record_json([(f.name, _is_text(f.type)) for f in schema]))
    return Plan(stream, spill, left)


def _absent(name: str) -> str:
    """`s`'s field for a column the file does not have (the checks still read it)."""
    return _struct(name, {}) if name in NESTED else "NULL::JSON" if name in FREE_FORM else "NULL::VARCHAR"


def _struct(name: str, present: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{f}': {present.get(f, 'NULL::VARCHAR')}" for f in NESTED[name]) + "}"


def _field(f: pa.Field) -> tuple[str, str | None] | None:
    """(the value of `s`'s field, a condition that makes the row suspect), or None when the
    column's type is not one this path judges."""
    col = quote_ident(f.name)
    if f.name in NESTED:
        if not pa.types.is_struct(f.type):
            return None
        inner = [f.type.field(i) for i in range(f.type.num_fields)]
        if len({c.name for c in inner}) != len(inner) or not {c.name for c in inner} <= set(NESTED[f.name]):
            return None
        present, flags = {}, []
        for c in inner:
            value = f"struct_extract({col}, {quote_literal(c.name)})"
            number = c.name in _NUMBERS.get(f.name, ())
            if number and pa.types.is_floating(c.type):
                present[c.name] = f"CAST({value} AS VARCHAR)"
            elif not _is_text(c.type):
                return None
            else:
                present[c.name] = value
            if number:  # NaN and Infinity need the strict parser; text that is no number keeps raw
                field = f"s.{f.name}.{c.name}"
                flags.append(f"({field} IS NOT NULL AND NOT coalesce(isfinite(TRY_CAST({field} AS DOUBLE)), false))")
        return _struct(f.name, present), " OR ".join(flags) or None
    if f.name in FREE_FORM:
        if not (_is_text(f.type) or _is_json(f.type) or pa.types.is_struct(f.type) or pa.types.is_list(f.type)):
            return None
        # Brackets are counted in the field alone: the record around it adds a few more.
        return f"json({object_json(f.name, _is_text(f.type))})", suspect(f"s.{f.name}::VARCHAR", MAX_DEPTH // 4)
    return (col, None) if _is_text(f.type) else None


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _is_json(t: pa.DataType) -> bool:
    return getattr(t, "extension_name", None) == "arrow.json"  # pyarrow's JsonType (DuckDB's JSON)


def chunks(path: Path) -> Iterator[pa.Table]:
    """The file's rows in chunks, each with its `line_no` (the row's number, from 1); every
    page's CRC is checked where the writer wrote one (DuckDB does not)."""
    import pyarrow.parquet as pq
    batches: list[pa.RecordBatch] = []
    first, rows, size = 1, 0, 0
    try:
        parquet = pq.ParquetFile(path, page_checksum_verification=True, buffer_size=1 << 20, pre_buffer=False)
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            batches.append(batch)
            rows, size = rows + batch.num_rows, size + batch.nbytes
            if rows >= CHUNK_ROWS or size >= CHUNK_BYTES:
                yield _numbered(batches, first)
                batches, first, rows, size = [], first + rows, 0, 0
    except (OSError, pa.ArrowException) as exc:
        raise FileFault(f"damaged Parquet file: {str(exc).splitlines()[0]}") from None
    if batches:
        yield _numbered(batches, first)


def _numbered(batches: list[pa.RecordBatch], first: int) -> pa.Table:
    table = pa.Table.from_batches(batches)
    return table.add_column(0, "line_no", pa.array(range(first, first + table.num_rows), pa.int64()))
