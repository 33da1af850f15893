"""Parquet files whose columns are Fluent's fields, judged from the columns themselves.

A Parquet file made from a Fluent export holds each field as a typed column: text, a struct
of texts, JSON. whole.py turns every row into JSON text and parses it again (12 s of 41 s for
5M audit events). Here the file is read in chunks through pyarrow, every page's CRC and every
text's UTF-8 checked as it is read, and a record whose fields are all clean is judged by the
same checks straight from its columns. Every other row (a missing or blank field, a bad time,
a non-finite number, anything in its text that would send the record's JSON text to the
strict parser) is made into the same JSON text as whole.py's and judged as a line. A record's
verdict, reason and stored values are therefore those it gets there; only where the file is
cut into sort units may differ (the units are cut by bytes, and Arrow's bytes are not the
JSON text's). A file with any other column or type, or whose records average over
LARGE_RECORD bytes, goes whole.py's way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from fluentlog.ingest import sql
from fluentlog.ingest.files import (
    BATCH_BYTES,
    BATCH_ROWS,
    CHUNK_BYTES,
    ROW_GROUP_LINES,
    FileFault,
    parquet_message,
)
from fluentlog.ingest.judge import FREE_FORM, MAX_DEPTH, NESTED, TOP, repeated_key, suspect
from fluentlog.ingest.whole import object_json, record_json
from fluentlog.store import quote_ident, quote_literal

CHUNK_ROWS = 2 * ROW_GROUP_LINES  # records judged per statement, as in a chunk of lines
LARGE_RECORD = 2048  # bytes per row on average (uncompressed) above which whole.py reads the file
_NUMBERS = {"location": ("lat", "lon")}  # nested fields that may be numbers rather than text
# The record's JSON text holds a few brackets of its own (the object, its nested objects):
# rows whose fields hold more than this many are left to the strict parser's depth check.
_BRACKETS = MAX_DEPTH - 8


@dataclass(frozen=True)
class Plan:
    stream: str
    spill: str  # sql.columns_spill for this file's columns
    left: str  # sql.COLUMNS_LEFT for them
    json_columns: tuple[str, ...]  # of the JSON type

    @property
    def bad_json(self) -> str | None:
        """The first row of a chunk whose JSON column holds text that is not JSON (DuckDB's
        Parquet reader refuses the file; over Arrow, reading it broke the database)."""
        tests = " OR ".join(f"NOT json_valid({quote_ident(c)}::VARCHAR)" for c in self.json_columns)
        return sql.COLUMNS_BAD_JSON.replace("@INVALID@", tests) if tests else None


def plan(path: Path, kind: str | None) -> Plan | None:
    """How to judge the file from its columns; None when whole.py must read it."""
    import pyarrow.parquet as pq
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException):
        return None  # whole.py says what is wrong with it
    try:
        meta, schema, leaves = parquet.metadata, parquet.schema_arrow, parquet.schema
    finally:
        parquet.close()
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if meta.num_rows == 0 or size > meta.num_rows * LARGE_RECORD:
        return None
    names = schema.names
    stream = "audit" if "action" in names else "access" if "event" in names else None
    if (stream is None or (kind is not None and kind != stream) or len(set(names)) != len(names)
            or not {"id", "occurred_at"} <= set(names) or not set(names) <= set(TOP[stream])):
        return None
    # A JSON column this pyarrow reads as plain text (before its JSON type; DuckDB reads it as JSON).
    for i in range(len(leaves)):
        column = leaves.column(i)
        if str(column.logical_type) in ("JSON", "BSON") and not _is_json(schema.field(column.path.split(".")[0]).type):
            return None
    fields, texts, suspects = {}, [], []
    for f in schema:
        shaped = _field(f)
        if shaped is None:
            return None
        fields[f.name], flag = shaped
        suspects += [flag] if flag else []
        texts += _texts(f)
    struct = "{" + ", ".join(f"'{name}': {fields.get(name) or _absent(name)}" for name in TOP[stream]) + "}"
    kind_column = quote_ident("action" if stream == "audit" else "event")
    # What would send the record's JSON text to the strict parser, looked for in its texts
    # joined by '"' (as in JSON, no match can span two of them): NaN, Infinity, a trailing comma,
    # many brackets. Escaping in JSON only removes matches, so this flags at least those rows.
    suspects.append(suspect("texts", _BRACKETS))
    spill = sql.columns_spill(stream, struct, "concat_ws('\"', " + ", ".join(texts) + ")",
                              f"{kind_column} IS NOT NULL", " OR ".join(f"coalesce({s}, false)" for s in suspects))
    left = sql.COLUMNS_LEFT.replace("@RECORD@", record_json([(f.name, _is_text(f.type)) for f in schema]))
    return Plan(stream, spill, left, tuple(f.name for f in schema if _is_json(f.type)))


def _texts(f: pa.Field) -> list[str]:
    """The row's texts as this column holds them, over `s`: its strings, or its JSON."""
    if f.name in NESTED:
        return [f"s.{f.name}.{c}" for c in NESTED[f.name]]
    if f.name in FREE_FORM:
        return [f"s.{f.name}::VARCHAR"]
    return [f"s.{f.name}"]


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
            if number and (pa.types.is_float64(c.type) or pa.types.is_float32(c.type)):
                present[c.name] = f"CAST(CAST({value} AS DOUBLE) AS VARCHAR)"  # as to_json writes a float32
            elif not _is_text(c.type):
                return None
            else:
                present[c.name] = value
            if number:  # NaN and Infinity need the strict parser; text that is no number keeps raw
                field = f"s.{f.name}.{c.name}"
                flags.append(f"({field} IS NOT NULL AND NOT coalesce(isfinite(TRY_CAST({field} AS DOUBLE)), false))")
        return _struct(f.name, present), " OR ".join(flags) or None
    if f.name in FREE_FORM:
        if not (_is_text(f.type) or _is_json(f.type)
                or ((pa.types.is_struct(f.type) or pa.types.is_list(f.type)) and _plain(f.type))):
            return None
        # JSON's null is no value, as when the text is parsed. JSON given as text may repeat a
        # key (the text's judging rejects it); a struct's names are unique (_plain).
        flag = repeated_key(f"s.{f.name}") if _is_text(f.type) or _is_json(f.type) else None
        return f"NULLIF(json({object_json(f.name, _is_text(f.type))}), 'null'::JSON)", flag
    return (col, None) if _is_text(f.type) else None


def _plain(t: pa.DataType) -> bool:
    """A free-form struct or list that DuckDB reads alike from Parquet and from Arrow: no maps
    (Arrow refuses repeated keys), no repeated field names (read_parquet renames them)."""
    if pa.types.is_struct(t):
        names = [t.field(i).name for i in range(t.num_fields)]
        return len(set(names)) == len(names) and all(_plain(t.field(i).type) for i in range(t.num_fields))
    if pa.types.is_list(t):
        return _plain(t.value_type)
    return (_is_text(t) or pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_float32(t)
            or pa.types.is_float64(t))


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _is_json(t: pa.DataType) -> bool:
    return getattr(t, "extension_name", None) == "arrow.json"  # pyarrow's JsonType (DuckDB's JSON)


def chunks(path: Path) -> Iterator[pa.Table]:
    """The file's rows in chunks of CHUNK_ROWS (whole row groups of the store) or about
    CHUNK_BYTES, each with its `line_no` (the row's number, from 1), in record batches of at
    most BATCH_ROWS rows and about BATCH_BYTES (as files.batched: DuckDB makes each batch into
    vectors, and a vector of large records needs their bytes many times over). Every page's CRC
    is checked where the writer wrote one, and every text's UTF-8 (DuckDB checks neither on an
    Arrow table, and text that is not UTF-8 breaks its functions)."""
    import pyarrow.parquet as pq
    batches: list[pa.RecordBatch] = []
    first, rows, size = 1, 0, 0
    try:
        # Pages through a small buffer: by default a row group's column chunks are held whole.
        parquet = pq.ParquetFile(path, page_checksum_verification=True, buffer_size=1 << 20, pre_buffer=False)
        try:
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
                batch.validate(full=True)
                while batch.num_rows:
                    take = min(batch.num_rows, CHUNK_ROWS - rows)
                    for piece in _bounded(batch.slice(0, take)):
                        batches.append(piece)
                        size += piece.nbytes
                    rows, batch = rows + take, batch.slice(take)
                    if rows == CHUNK_ROWS or size >= CHUNK_BYTES:
                        yield _numbered(batches, first)
                        batches, first, rows, size = [], first + rows, 0, 0
        finally:
            parquet.close()
    except (OSError, pa.ArrowException) as exc:
        raise FileFault(parquet_message(exc)) from None
    if batches:
        yield _numbered(batches, first)


def _bounded(batch: pa.RecordBatch) -> list[pa.RecordBatch]:
    """The batch in slices of at most BATCH_BYTES (or one row), halved until they fit: a run of
    large records among small ones is not bounded by an average."""
    if batch.nbytes <= BATCH_BYTES or batch.num_rows == 1:
        return [batch]
    half = batch.num_rows // 2
    return _bounded(batch.slice(0, half)) + _bounded(batch.slice(half))


def _numbered(batches: list[pa.RecordBatch], first: int) -> pa.Table:
    table = pa.Table.from_batches(batches)
    return table.add_column(0, "line_no", pa.array(range(first, first + table.num_rows), pa.int64()))
