"""The statements of an ingest, built once from allowlists: the chunk's lines, the fast
insert, the slow path for what it leaves, duplicates and conflicts, the manifest.

The input relation `chunk(line_no, byte_offset, raw)` (an Arrow table) holds one line per
row; judge.py holds the SQL that parses and checks each record.
"""

from __future__ import annotations

from fluentlog import schema
from fluentlog.ingest.judge import BOTH, EACH

# The view `lines(line_no, byte_offset, text, blob)` over the current chunk. Text may end
# with the line's "\n" (JSON whitespace); it is NULL where the bytes are not UTF-8.
# Blob is the line's exact bytes without the "\n".
LINES_FROM_TEXT = """
CREATE OR REPLACE TEMP VIEW lines AS
SELECT line_no, byte_offset, raw AS text, encode(regexp_replace(raw, '\\n$', '')) AS blob FROM chunk
"""
LINES_FROM_BLOB = """
CREATE OR REPLACE TEMP VIEW lines AS
SELECT line_no, byte_offset, TRY(decode(raw)) AS text, raw AS blob FROM chunk
"""
# JSON arrays and Parquet files are read whole into the temp table `materialised`, then
# judged slice by slice as chunks (line_no counts records there, from 1). A slice holds
# $rows records, fewer where they would pass about $bytes bytes: (first, last, bytes) of
# each, in order.
MATERIALISED_SLICES = """
SELECT min(line_no), max(line_no), sum(size) FROM (
  SELECT line_no, size, piece,
         sum(size) OVER (PARTITION BY piece ORDER BY line_no ROWS UNBOUNDED PRECEDING) AS upto
  FROM (SELECT line_no, size, (line_no - 1) // $rows AS piece FROM materialised))
GROUP BY piece, (upto - 1) // $bytes
ORDER BY 1
"""
MATERIALISED_LINES = """
SELECT line_no, byte_offset, raw FROM materialised WHERE line_no BETWEEN $first AND $last ORDER BY line_no
"""


def lines_of_slice(first: int, last: int) -> str:
    """The `lines` view over records first..last of `materialised`, read in place. A view
    cannot take parameters: the bounds are numbers fluentlog counted, written as integers."""
    where = f"WHERE line_no BETWEEN {int(first)} AND {int(last)}"
    return LINES_FROM_TEXT.replace("FROM chunk", f"FROM materialised {where}")


# What the fast path left, `rest(line_no)`, and the view `rest_lines(line_no, text)` over it.
# Only the numbers go in a table: DuckDB keeps every table replaced in a transaction until it
# commits, and the text of a mixed file's other kind grew DATABASE.tmp by ~170 MB per 1M lines.
REST_AFTER = """
CREATE OR REPLACE TEMP TABLE rest AS
SELECT line_no FROM lines WHERE line_no NOT IN (SELECT line_no FROM read_parquet($spilled))
"""
REST_LINES = """
CREATE OR REPLACE TEMP VIEW rest_lines AS
SELECT line_no, text FROM lines WHERE line_no IN (SELECT line_no FROM rest)
"""
TAKEN = "DELETE FROM rest WHERE line_no IN (SELECT line_no FROM read_parquet($spilled))"
# The slow path, for what both fast paths left: blank, rejected or suspect lines. (A record is
# judged by its own kind's rules whichever fast path takes it, as in a file of its kind alone.)
STAGE = ("CREATE OR REPLACE TEMP TABLE stage AS" + BOTH.pipeline("rest_lines", keep_text=False)
         + "\nSELECT line_no, kind, reason, suspect, unknown, s, ts, keep_raw FROM judged")

LOOKS_LIKE_ACCESS = """
SELECT count(*) FILTER (WHERE contains(text, '"event"')) > count(*) FILTER (WHERE contains(text, '"action"'))
FROM (SELECT text FROM lines LIMIT 1000)
"""
CHUNK_LINES = "SELECT count(*) FROM lines"
STAGE_COUNT = "SELECT count(*) FROM stage"
REST_COUNT = "SELECT count(*) FROM rest"
SUSPECTS = "SELECT st.line_no, l.text FROM stage st JOIN rest_lines l ON l.line_no = st.line_no WHERE st.suspect"
APPLY_VERDICTS = "UPDATE stage SET reason = v.reason FROM verdicts v WHERE stage.line_no = v.line_no"
MARK_TRUNCATED = "UPDATE stage SET reason = 'truncated_record' WHERE line_no = $line_no AND reason = 'malformed_json'"
INSERT_REJECTS = """
INSERT INTO rejects
SELECT $file_id, st.line_no, l.byte_offset, st.reason, l.blob, octet_length(l.blob)
FROM stage st JOIN lines l ON l.line_no = st.line_no
WHERE st.reason IS NOT NULL
"""
REJECT_COUNTS = "SELECT reason, count(*) FROM stage WHERE reason IS NOT NULL GROUP BY reason"
NEW_FIELDS = """
SELECT field, count(*) FROM (SELECT unnest(unknown) AS field FROM stage WHERE reason IS NULL)
GROUP BY field
"""
KIND_COUNTS = "SELECT kind, count(*) FROM stage WHERE reason IS NULL GROUP BY kind"

# Typed columns per stream, as expressions over a stage row `st` and its line `l`.
_EXPRESSIONS = {
    "audit": {
        "event_id": "st.s.id", "occurred_at": "st.ts", "action": "st.s.action",
        "actor_id": "st.s.actor.id", "actor_email": "st.s.actor.email", "actor_name": "st.s.actor.name",
        "actor_role": "st.s.actor.role", "entity_type": "st.s.entity.type", "entity_id": "st.s.entity.id",
        "entity_email": "st.s.entity.email", "related": "st.s.related", "changes": "st.s.changes",
        "ip": "st.s.context.ip", "user_agent": "st.s.context.user_agent",
        "request_id": "st.s.context.request_id", "source": "$source",
    },
    "access": {
        "event_id": "st.s.id", "occurred_at": "st.ts", "event": "st.s.event", "outcome": "st.s.outcome",
        "user_id": "st.s.user.id", "user_email": "st.s.user.email", "user_name": "st.s.user.name",
        "method": "st.s.method",
        "reason": "st.s.reason", "ip": "st.s.ip", "country": "st.s.location.country",
        "region": "st.s.location.region", "city": "st.s.location.city",
        "lat": "TRY_CAST(st.s.location.lat AS DOUBLE)", "lon": "TRY_CAST(st.s.location.lon AS DOUBLE)",
        "device_id": "st.s.device.id", "user_agent": "st.s.device.user_agent", "source": "$source",
    },
}
_RAW_FROM = "CASE WHEN st.keep_raw THEN regexp_replace({text}, '\\r?\\n$', '') END"
_FROM_STAGE = "stage st LEFT JOIN rest_lines l ON l.line_no = st.line_no"


def _content(alias: str, stream: str) -> str:
    """A stored event's content as one struct: equal structs mean a duplicate."""
    cols = (f"json({alias}.{c})" if c == "raw" else f"{alias}.{c}" for c in schema.content_columns(stream))
    return "{" + ", ".join(f"'{c}': {v}" for c, v in zip(schema.content_columns(stream), cols, strict=True)) + "}"


def _maybe_reordered(a: str, b: str, stream: str) -> str:
    """Two contents (structs of _content) that differ, but may differ only in the order of an
    object's keys (load.same_values decides): every other column equal, and each JSON one as
    long once minified. A cheap filter, so that a file of real conflicts (2M of them took
    +30 s and 1.2 GB when all went to Python) sends none."""
    json_columns = {c for c, kind in schema.STREAM_COLUMNS[stream] if kind == "JSON"} | {"raw"}
    columns = schema.content_columns(stream)
    plain = " AND ".join(f"{a}.{c} IS NOT DISTINCT FROM {b}.{c}" for c in columns if c not in json_columns)
    lengths = " AND ".join(f"strlen(json({a}.{c})) IS NOT DISTINCT FROM strlen(json({b}.{c}))"
                           for c in columns if c in json_columns)
    return f"CASE WHEN {plain} THEN {lengths} ELSE false END"


def _columns(stream: str, text: str) -> str:
    exprs = {**_EXPRESSIONS[stream], "raw": _RAW_FROM.format(text=text)}
    return ", ".join(f"{exprs[c]} AS {c}" for c in schema.content_columns(stream))


# A file's events wait in Parquet files (the store's scratch folder) until a sort unit is full
# (load.SORT_UNIT_ROWS: eight row groups, four chunks of lines); the unit is then stored in
# (person, time) order. A person's events then sit in one place per unit instead of one in
# every vector of the table, so signins and timeline fetch that person's rows from few vectors:
# with units of one chunk, a 5M-event store's signins query took 47 ms cold, with these 24 ms
# (docs/performance.md). The table as a whole stays in arrival (roughly time) order, unit after
# unit. Files, not a temp table: DuckDB keeps every row deleted from a temp table until the
# file's transaction commits, so that spill grew with the file (a 20M-event file had put 6.6 GB
# in DATABASE.tmp when stopped); a unit's files (lz4, ~60 MB for 983,040 audit events) are
# deleted once it is stored.
_CLUSTER = {"audit": "actor_email, occurred_at, line_no", "access": "user_email, occurred_at, line_no"}


def _spill(query: str, in_order: bool = True) -> str:
    """Write the query's rows (the table's columns but for PLACEMENT) to the Parquet file $path;
    the statement answers with their count. Any order would do (a unit is stored sorted by
    person, time and line, a total order within a file); `in_order=False` lets DuckDB write
    them so: for Parquet columns 5M audit events 26.6 -> 24.5 s, for JSON Lines ~3% slower."""
    order = "" if in_order else ", PRESERVE_ORDER false"
    return f"COPY (\n{query}\n) TO $path (FORMAT parquet, COMPRESSION lz4_raw{order})"


def _store_spilled(stream: str) -> str:
    table = schema.STREAM_TABLES[stream]
    placement = "".join(", NULL" for c, _ in schema.STREAM_COLUMNS[stream] if c in schema.PLACEMENT)
    return f"INSERT INTO {table}\nSELECT *{placement} FROM read_parquet($files) ORDER BY {_CLUSTER[stream]}"


STORE_SPILLED = {s: _store_spilled(s) for s in schema.STREAMS}

# The events just stored, numbered $seq, $seq + 1, ... in storage order (their rowids rise
# in insertion order), for the streams whose events carry seq (audit: the entity index).
# Numbering inside the INSERT (row_number or nextval) keeps DuckDB from writing the rows on
# both cores: +0.8 s per 1M events; this UPDATE costs ~0.35 s.
NUMBER = {stream: f"""
UPDATE {table} SET seq = $seq + rowid - (SELECT min(rowid) FROM {table} WHERE seq IS NULL)
WHERE seq IS NULL""" for stream, table in schema.STREAM_TABLES.items()
          if "seq" in dict(schema.STREAM_COLUMNS[stream])}


def _fast_spill(stream: str, source: str) -> str:
    """The hot path: one pass over the chunk (`lines`, or `rest_lines` for the other kind's
    records in it) spills every clean record of `stream` to $path. Anything else stays behind for the
    slow path (REST, then STAGE). Every accepted record goes straight in; the reconcile step
    takes duplicates out again."""
    return _spill(EACH[stream].pipeline(source, keep_text=True) + f"""
SELECT {_columns(stream, 'st.text')}, $file_id AS file_id, st.line_no FROM judged st
WHERE st.kind = '{stream}' AND st.reason IS NULL AND NOT st.suspect""")


def columns_spill(stream: str, struct: str, texts: str, where: str, suspect: str) -> str:
    """The hot path for Parquet columns (columnar.py): spill the clean records of the chunk
    `columns` to $path. `struct` builds each row's `s` from its columns and `texts` joins its
    texts, `where` picks the rows of the stream's kind, `suspect` flags rows only the JSON
    text's judging can settle. Rows left out are judged again as text (COLUMNS_LEFT)."""
    return _spill(EACH[stream].typed_pipeline(struct, texts, "columns", where, suspect) + f"""
SELECT {_columns(stream, 'NULL')}, $file_id AS file_id, st.line_no FROM judged st
WHERE st.reason IS NULL AND NOT st.suspect""", in_order=False)


def _staged_spill(stream: str) -> str:
    return _spill(f"""SELECT {_columns(stream, 'l.text')}, $file_id AS file_id, st.line_no FROM {_FROM_STAGE}
WHERE st.reason IS NULL AND st.kind = '{stream}'""")


def _new_fields_inserted(stream: str) -> str:
    """Unknown fields of the records the fast path spilled to $spilled: they kept their text in raw."""
    judge = EACH[stream]
    return f"""
SELECT field, count(*) FROM (
  SELECT unnest({judge.unknown()}) AS field
  FROM (SELECT json_keys(raw, {judge.key_paths}) AS keys, '{stream}' AS kind
        FROM read_parquet($spilled) WHERE raw IS NOT NULL))
GROUP BY field
"""


def _hits(stream: str) -> str:
    """This file's events whose id was stored before: a duplicate or a conflict. Stored ids
    are unique, so each new event meets at most one old one: one join per file."""
    table = schema.STREAM_TABLES[stream]
    # The id join reads the id column only; whole rows are fetched for the (rare) clashes.
    return f"""
CREATE OR REPLACE TEMP TABLE hits AS
WITH clash AS MATERIALIZED (
  SELECT n.rowid AS new_row, o.rowid AS old_row
  FROM (SELECT rowid, event_id FROM {table} WHERE file_id = $file_id) n
  JOIN (SELECT rowid, event_id FROM {table} WHERE file_id <> $file_id) o ON o.event_id = n.event_id
)
SELECT line_no, event_id, verdict,
       -- both versions as JSON for conflicts only (re-ingesting 1M duplicates: 2.8 -> 1.3 s)
       CASE WHEN verdict = 'conflict' THEN to_json(incoming) END AS incoming,
       CASE WHEN verdict = 'conflict' THEN to_json(stored) END AS stored,
       verdict = 'conflict' AND {_maybe_reordered('incoming', 'stored', stream)} AS maybe_same
FROM (
  SELECT line_no, event_id, incoming, stored,
         CASE WHEN incoming IS NOT DISTINCT FROM stored THEN 'duplicate' ELSE 'conflict' END AS verdict
  FROM (
    SELECT n.line_no, n.event_id, {_content('n', stream)} AS incoming, {_content('o', stream)} AS stored
    FROM clash c
    JOIN (SELECT rowid AS new_row, * FROM {table} WHERE rowid IN (SELECT new_row FROM clash)) n USING (new_row)
    JOIN (SELECT rowid AS old_row, * FROM {table} WHERE rowid IN (SELECT old_row FROM clash)) o USING (old_row)))
"""


def _repeats(stream: str) -> str:
    """Later copies of an id met earlier in the same file, compared with the first copy."""
    table = schema.STREAM_TABLES[stream]
    return f"""
INSERT INTO hits
SELECT line_no, event_id, CASE WHEN content IS NOT DISTINCT FROM first THEN 'duplicate' ELSE 'conflict' END,
       to_json(content), to_json(first),
       content IS DISTINCT FROM first AND {_maybe_reordered('content', 'first', stream)}
FROM (
  SELECT n.line_no, n.event_id, {_content('n', stream)} AS content,
         first_value({_content('n', stream)}) OVER (PARTITION BY n.event_id ORDER BY n.line_no) AS first,
         row_number() OVER (PARTITION BY n.event_id ORDER BY n.line_no) AS copy
  FROM {table} n
  WHERE n.file_id = $file_id
    AND n.event_id IN (SELECT event_id FROM {table} WHERE file_id = $file_id
                       GROUP BY event_id HAVING count(*) > 1)
)
WHERE copy > 1 AND line_no NOT IN (SELECT line_no FROM hits)
"""


def _remove_hits(stream: str) -> str:
    return f"""
DELETE FROM {schema.STREAM_TABLES[stream]}
WHERE file_id = $file_id AND line_no IN (SELECT line_no FROM hits)
"""


INSERT_CONFLICTS = """
INSERT INTO conflicts
SELECT $stream, event_id, $file_id, line_no, incoming, stored, now() FROM hits WHERE verdict = 'conflict'
"""
FAST_SPILL = {s: _fast_spill(s, "lines") for s in schema.STREAMS}
FAST_SPILL_REST = {s: _fast_spill(s, "rest_lines") for s in schema.STREAMS}
STAGED_SPILL = {s: _staged_spill(s) for s in schema.STREAMS}
NEW_FIELDS_INSERTED = {s: _new_fields_inserted(s) for s in schema.STREAMS}
HITS = {s: _hits(s) for s in schema.STREAMS}
REPEATS = {s: _repeats(s) for s in schema.STREAMS}
REMOVE_HITS = {s: _remove_hits(s) for s in schema.STREAMS}
HIT_COUNTS = "SELECT verdict, count(*) FROM hits GROUP BY verdict"
# Conflicts as JSON, to be compared as values (load.same_values); those equal as values are duplicates.
CONFLICT_PAIRS = "SELECT line_no, incoming, stored FROM hits WHERE verdict = 'conflict' AND maybe_same"
SAME_AFTER_ALL = """
UPDATE hits SET verdict = 'duplicate', incoming = NULL, stored = NULL, maybe_same = false
WHERE line_no IN (SELECT line_no FROM same_values)"""

NEXT_FILE_ID = "SELECT coalesce(max(file_id), 0) + 1 FROM files"
NEXT_SEQ = "SELECT coalesce(max(seq) + 1, 0) FROM audit_events"
FILES_OF_SIZE = "SELECT count(*) FROM files WHERE size = $size"
FIND_SHA = "SELECT path, ingested_at, operator FROM files WHERE sha256 = $sha ORDER BY file_id LIMIT 1"
INSERT_FILE = """
INSERT INTO files VALUES ($file_id, $path, $size, $sha, $format, $kind, $records, $blank, $inserted,
  $duplicates, $conflicts, $rejected, $by_reason, $new_fields, now(), $operator, $source)
"""
# Records rejected before the SQL sees them (too large, or not mappable from their source).
INSERT_READ_REJECTS = """
INSERT INTO rejects SELECT $file_id, line_no, byte_offset, reason, raw, length FROM read_rejects
"""
# A foreign record's event (stored with its batch) or reject keeps the record as the export had it.
KEEP_ORIGINALS = tuple(f"""
UPDATE {table} SET raw = decode(o.original) FROM originals o
WHERE {table}.file_id = $file_id AND {table}.line_no = o.line_no
""" for table in schema.STREAM_TABLES.values()) + ("""
UPDATE rejects SET raw = o.original, raw_length = octet_length(o.original) FROM originals o
WHERE rejects.file_id = $file_id AND rejects.line_no = o.line_no
""",)
# DuckDB sizes its read buffers by maximum_object_size: at 256 MiB an array of 300 records
# of 1 MB each ran out of the 768MB ingest memory; at 64 MiB it loads in 0.6 s (and a record
# of up to ~128 MiB is still read).
# `materialised(line_no, byte_offset, raw, size)`: the size is taken while the text is at
# hand; reading it back from a spilled table of several GB to cut the slices cost 10 s at 5M.
ARRAY_CHUNK = """
CREATE OR REPLACE TEMP TABLE materialised AS
SELECT line_no, byte_offset, raw, strlen(raw) AS size FROM (
  SELECT row_number() OVER () AS line_no, NULL::BIGINT AS byte_offset, json::VARCHAR AS raw
  FROM read_json_objects($path, format = 'array', compression = $compression,
                         maximum_object_size = 67108864))
"""
PARQUET_COLUMNS = "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet($path))"
# A Parquet row as a JSON object. `@ENTRIES@` is built from the file's own column names, each
# quoted by store.quote_ident (whole.record_json). Null columns are left out, as a JSON Lines
# record would leave out the field.
PARQUET_RECORD = "to_json(map_from_entries(list_filter([@ENTRIES@], lambda e: e.v IS NOT NULL)))::VARCHAR"
PARQUET_CHUNK = """
CREATE OR REPLACE TEMP TABLE materialised AS
SELECT line_no, byte_offset, raw, strlen(raw) AS size FROM (
  SELECT file_row_number + 1 AS line_no, NULL::BIGINT AS byte_offset, @RECORD@ AS raw
  FROM read_parquet($path, file_row_number = true))
"""
# The first row of a Parquet chunk (columnar.py) whose JSON column is not JSON: `@INVALID@`
# tests each JSON column, named by store.quote_ident.
COLUMNS_BAD_JSON = "SELECT min(line_no) FROM columns WHERE @INVALID@"
# The rows of a Parquet chunk judged from its columns (columnar.py) that did not reach the
# spill file $spilled, as JSON text: judged again as lines, with the reasons text gets.
COLUMNS_LEFT = """
SELECT line_no, NULL::BIGINT AS byte_offset, @RECORD@ AS raw FROM columns
WHERE line_no NOT IN (SELECT line_no FROM read_parquet($spilled))
ORDER BY line_no
"""
