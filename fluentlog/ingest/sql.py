"""SQL that turns raw record text into classified, typed rows, built once from allowlists.

The input relation `chunk(line_no, byte_offset, raw)` holds one record per row.
DuckDB's JSON parser is lenient (NaN, trailing commas, duplicate keys), so the
SQL flags such lines as *suspect* and Python re-checks only those with a strict
parser; a clean file never goes through a Python loop.
"""

from __future__ import annotations

from fluentlog import schema

# Known fields per nested object; anything else is an unknown field and the record
# keeps its original text in `raw`.
AUDIT_TOP = ("id", "occurred_at", "action", "actor", "entity", "related", "changes", "context")
ACCESS_TOP = ("id", "occurred_at", "event", "outcome", "user", "method", "reason", "ip",
              "location", "device")
NESTED = {
    "actor": ("id", "email", "name", "role"),
    "entity": ("type", "id", "email"),
    "context": ("ip", "user_agent", "request_id"),
    "user": ("id", "email"),
    "location": ("country", "region", "city", "lat", "lon"),
    "device": ("id", "user_agent"),
}
AUDIT_NESTED = ("actor", "entity", "context")
ACCESS_NESTED = ("user", "location", "device")


MAX_DEPTH = 256  # deeper nesting is rejected as nesting_too_deep


def _struct(fields: tuple[str, ...]) -> str:
    return "{" + ",".join(f'"{f}":"VARCHAR"' for f in fields) + "}"


_SPEC = (
    "{" + ",".join(f'"{f}":"VARCHAR"' for f in ("id", "occurred_at", "action", "event", "outcome",
                                                "method", "reason", "ip"))
    + "," + ",".join(f'"{name}":{_struct(fields)}' for name, fields in NESTED.items())
    + ',"related":"JSON","changes":"JSON"}'
)
_KEY_PATHS = ["$"] + [f"$.{name}" for name in NESTED]
_KEY_INDEX = {name: i + 2 for i, name in enumerate(NESTED)}  # DuckDB lists are 1-based


def _sql_list(items: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(f"'{i}'" for i in items) + "]"


def _unknown_keys(top: tuple[str, ...], nested: tuple[str, ...]) -> str:
    parts = [f"list_filter(keys[1], lambda k: NOT list_contains({_sql_list(top)}, k))"]
    for name in nested:
        parts.append(
            f"list_transform(list_filter(coalesce(keys[{_KEY_INDEX[name]}], []), "
            f"lambda k: NOT list_contains({_sql_list(NESTED[name])}, k)), lambda k: '{name}.' || k)")
    return "list_concat(" + ", ".join(parts) + ")"


def _present(expr: str) -> str:
    # regexp_full_match is ~30x faster than trim() in DuckDB (measured).
    return f"NOT regexp_full_match(coalesce({expr}, ''), '\\s*')"


# Epoch seconds or milliseconds (as numbers or digit strings), times with a zone or
# offset (exact instant), and zone-less times (read in $source_tz).
_TIME = r"""
CASE
  WHEN regexp_full_match(s.occurred_at, '[0-9]{9,14}(\.[0-9]+)?')
    THEN CASE WHEN s.occurred_at::DOUBLE < 1e11 THEN to_timestamp(s.occurred_at::DOUBLE)
              ELSE to_timestamp(s.occurred_at::DOUBLE / 1000) END
  WHEN regexp_matches(s.occurred_at, '([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$')
    THEN TRY_CAST(regexp_replace(s.occurred_at, 'z$', 'Z') AS TIMESTAMPTZ)
  ELSE timezone($source_tz, TRY_CAST(s.occurred_at AS TIMESTAMP))
END"""

_TOP_FIELDS = ("id", "occurred_at", "action", "event", "outcome", "method", "reason", "ip",
               *NESTED, "related", "changes")


def _duplicates_in(index: int, struct: str, fields: tuple[str, ...]) -> str:
    """True when key list `index` names a key twice.

    list_unique() costs ~0.7 us a call, a third of the whole stage if run on every
    object. A list can only hold a repeat if it is longer than the number of fields the
    struct parse found, so the exact check runs only there (repeats, explicit nulls and
    unknown keys: all rare)."""
    keys = f"keys[{index}]"
    found = " + ".join(f"({struct}.{f} IS NOT NULL)::INTEGER" for f in fields)
    return (f"CASE WHEN len(coalesce({keys}, [])) > {found} "
            f"THEN list_unique({keys}) <> len({keys}) ELSE false END")


_DUPLICATES = " OR ".join(
    [_duplicates_in(1, "s", _TOP_FIELDS)]
    + [_duplicates_in(_KEY_INDEX[name], f"s.{name}", fields) for name, fields in NESTED.items()])

# The reason a record is rejected, or NULL. The first failing check wins.
_REASON = f"""
CASE
  WHEN not_utf8 THEN 'invalid_utf8'
  WHEN NOT valid THEN 'malformed_json'
  WHEN jtype <> 'OBJECT' THEN 'not_an_object'
  WHEN {_DUPLICATES} THEN 'duplicate_key'
  WHEN kind IS NULL THEN 'unknown_record_type'
  WHEN NOT {_present('s.id')} THEN 'missing_field:id'
  WHEN left(s.id, 1) IN ('{{', '[') THEN 'invalid_field:id'
  WHEN NOT {_present('s.occurred_at')} THEN 'missing_field:occurred_at'
  WHEN ts IS NULL OR ts < TIMESTAMPTZ '1990-01-01 00:00:00+00' OR ts >= TIMESTAMPTZ '2100-01-01 00:00:00+00'
    THEN 'bad_timestamp'
  WHEN kind = 'audit' AND NOT {_present('s.action')} THEN 'missing_field:action'
  WHEN kind = 'audit' AND NOT ({_present('s.actor.email')} OR {_present('s.actor.id')}) THEN 'missing_field:actor'
  WHEN kind = 'audit' AND NOT ({_present('s.entity.type')} OR {_present('s.entity.id')}) THEN 'missing_field:entity'
  WHEN kind = 'audit' AND NOT {_present('s.entity.type')} THEN 'missing_field:entity.type'
  WHEN kind = 'audit' AND NOT {_present('s.entity.id')} THEN 'missing_field:entity.id'
  WHEN kind = 'access' AND NOT {_present('s.event')} THEN 'missing_field:event'
  WHEN kind = 'access' AND NOT ({_present('s.user.email')} OR {_present('s.user.id')}) THEN 'missing_field:user'
END"""

_KIND = """
CASE
  WHEN jtype IS DISTINCT FROM 'OBJECT' THEN NULL
  WHEN $kind IS NOT NULL THEN $kind
  WHEN list_contains(keys[1], 'action') AND list_contains(keys[1], 'entity') THEN 'audit'
  WHEN list_contains(keys[1], 'event') AND list_contains(keys[1], 'user') THEN 'access'
  WHEN list_contains(keys[1], 'action') THEN 'audit'
  WHEN list_contains(keys[1], 'event') THEN 'access'
END"""

_UNKNOWN = f"""
CASE kind
  WHEN 'audit' THEN {_unknown_keys(AUDIT_TOP, AUDIT_NESTED)}
  WHEN 'access' THEN {_unknown_keys(ACCESS_TOP, ACCESS_NESTED)}
END"""

# Lines the strict parser must see: literals and trailing commas DuckDB tolerates, and
# enough brackets to nest deeper than MAX_DEPTH. (replace() is ~17x faster than translate().)
_SUSPECT = f"""
contains(text, 'NaN') OR contains(text, 'Infinity') OR regexp_matches(text, ',\\s*[\\]}}]')
  OR strlen(text) - strlen(replace(replace(text, '[', ''), '{{', '')) > {MAX_DEPTH}"""

_LAT = "TRY_CAST(s.location.lat AS DOUBLE)"
_LON = "TRY_CAST(s.location.lon AS DOUBLE)"
# The original text is kept when the typed columns cannot hold the record exactly.
_KEEP_RAW = f"""
len(unknown) > 0 OR (kind = 'access' AND (
  (s.location.lat IS NOT NULL AND {_LAT} IS NULL) OR (s.location.lon IS NOT NULL AND {_LON} IS NULL)))"""

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

def _pipeline(source: str, keep_text: bool) -> str:
    """The CTEs that judge every record of `source`: the relation `judged` has line_no,
    kind, reason, suspect, unknown, s (the typed struct), ts, keep_raw (and text).

    Two parses per record: the key lists (NULL when the text is not valid JSON) and the
    typed struct. DuckDB may hoist a repeated expression out of a CASE and run it on
    every row, so a JSON function that can throw appears only inside TRY()."""
    text = "text, " if keep_text else ""
    return f"""
WITH parsed AS MATERIALIZED (
  SELECT line_no, {text}
         text IS NULL AS not_utf8,
         regexp_matches(text, '^[ \\t\\r\\n]*[{{]') AS object_text,
         TRY(json_keys(text, {_sql_list(_KEY_PATHS)})) AS keys,
         TRY(from_json(text, '{_SPEC}')) AS s,
         {_SUSPECT} AS suspect_text
  FROM {source}
  WHERE text IS NULL OR NOT regexp_full_match(text, '[ \\t\\r\\n]*')  -- blank: JSON whitespace only
), shaped AS (
  SELECT *, keys IS NOT NULL AS valid,
         CASE WHEN keys IS NULL THEN NULL WHEN object_text THEN 'OBJECT' ELSE 'OTHER' END AS jtype
  FROM parsed
), kinded AS (
  SELECT *, {_KIND} AS kind, {_TIME} AS ts FROM shaped
), judged AS (
  SELECT *, {_KEEP_RAW} AS keep_raw
  FROM (SELECT *, {_REASON} AS reason, jtype = 'OBJECT' AND suspect_text AS suspect, {_UNKNOWN} AS unknown
        FROM kinded)
)"""


# The slow path, for what the fast insert left: blank, rejected, suspect or other-kind lines.
STAGE = ("CREATE OR REPLACE TEMP TABLE stage AS" + _pipeline("rest", keep_text=False)
         + "\nSELECT line_no, kind, reason, suspect, unknown, s, ts, keep_raw FROM judged")
REST = """
CREATE OR REPLACE TEMP TABLE rest AS
SELECT l.line_no, l.text FROM lines l
WHERE l.line_no NOT IN (SELECT line_no FROM @TABLE@
                        WHERE file_id = $file_id AND line_no BETWEEN $first AND $last)
"""

CHUNK_SPAN = "SELECT count(*), min(line_no), max(line_no) FROM chunk"
STAGE_COUNT = "SELECT count(*) FROM stage"
REST_COUNT = "SELECT count(*) FROM rest"
SUSPECTS = "SELECT st.line_no, l.text FROM stage st JOIN rest l ON l.line_no = st.line_no WHERE st.suspect"
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
        "request_id": "st.s.context.request_id",
    },
    "access": {
        "event_id": "st.s.id", "occurred_at": "st.ts", "event": "st.s.event", "outcome": "st.s.outcome",
        "user_id": "st.s.user.id", "user_email": "st.s.user.email", "method": "st.s.method",
        "reason": "st.s.reason", "ip": "st.s.ip", "country": "st.s.location.country",
        "region": "st.s.location.region", "city": "st.s.location.city",
        "lat": "TRY_CAST(st.s.location.lat AS DOUBLE)", "lon": "TRY_CAST(st.s.location.lon AS DOUBLE)",
        "device_id": "st.s.device.id", "user_agent": "st.s.device.user_agent",
    },
}
_RAW_FROM = "CASE WHEN st.keep_raw THEN regexp_replace({text}, '\\r?\\n$', '') END"
_FROM_STAGE = "stage st LEFT JOIN rest l ON l.line_no = st.line_no"


def _content(alias: str, stream: str) -> str:
    """A stored event's content as one struct: equal structs mean a duplicate."""
    cols = (f"json({alias}.{c})" if c == "raw" else f"{alias}.{c}" for c in schema.content_columns(stream))
    return "{" + ", ".join(f"'{c}': {v}" for c, v in zip(schema.content_columns(stream), cols, strict=True)) + "}"


def _columns(stream: str, text: str) -> str:
    exprs = {**_EXPRESSIONS[stream], "raw": _RAW_FROM.format(text=text)}
    return ", ".join(exprs[c] for c in schema.content_columns(stream))


def _fast_insert(stream: str) -> str:
    """The hot path: one pass over the chunk inserts every clean record of `stream`.
    Anything else stays behind for the slow path (REST, then STAGE). Every accepted
    record goes straight in; the reconcile step takes duplicates out again."""
    return (_pipeline("lines", keep_text=True) + f"""
INSERT INTO {schema.STREAM_TABLES[stream]}
SELECT {_columns(stream, 'st.text')}, $file_id, st.line_no FROM judged st
WHERE st.kind = '{stream}' AND st.reason IS NULL AND NOT st.suspect""")


def _insert_staged(stream: str) -> str:
    return f"""
INSERT INTO {schema.STREAM_TABLES[stream]}
SELECT {_columns(stream, 'l.text')}, $file_id, st.line_no FROM {_FROM_STAGE}
WHERE st.reason IS NULL AND st.kind = '{stream}'
"""


def _new_fields_inserted(stream: str) -> str:
    """Unknown fields of the records the fast path inserted: they kept their text in raw."""
    return f"""
SELECT field, count(*) FROM (
  SELECT unnest({_UNKNOWN}) AS field
  FROM (SELECT json_keys(raw, {_sql_list(_KEY_PATHS)}) AS keys, '{stream}' AS kind
        FROM {schema.STREAM_TABLES[stream]}
        WHERE file_id = $file_id AND line_no BETWEEN $first AND $last AND raw IS NOT NULL))
GROUP BY field
"""


def _hits(stream: str) -> str:
    """This file's events whose id was stored before: a duplicate or a conflict. Stored ids
    are unique, so each new event meets at most one old one: one join per file."""
    table = schema.STREAM_TABLES[stream]
    return f"""
CREATE OR REPLACE TEMP TABLE hits AS
SELECT n.line_no, n.event_id,
       CASE WHEN {_content('n', stream)} IS NOT DISTINCT FROM {_content('o', stream)}
            THEN 'duplicate' ELSE 'conflict' END AS verdict,
       to_json({_content('n', stream)}) AS incoming, to_json({_content('o', stream)}) AS stored
FROM (SELECT * FROM {table} WHERE file_id = $file_id) n
JOIN (SELECT * FROM {table} WHERE file_id <> $file_id) o ON o.event_id = n.event_id
"""


def _repeats(stream: str) -> str:
    """Later copies of an id met earlier in the same file, compared with the first copy."""
    table = schema.STREAM_TABLES[stream]
    return f"""
INSERT INTO hits
SELECT line_no, event_id, CASE WHEN content IS NOT DISTINCT FROM first THEN 'duplicate' ELSE 'conflict' END,
       to_json(content), to_json(first)
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
FAST_INSERT = {s: _fast_insert(s) for s in schema.STREAMS}
REST_AFTER = {s: REST.replace("@TABLE@", t) for s, t in schema.STREAM_TABLES.items()}
INSERT_STAGED = {s: _insert_staged(s) for s in schema.STREAMS}
NEW_FIELDS_INSERTED = {s: _new_fields_inserted(s) for s in schema.STREAMS}
HITS = {s: _hits(s) for s in schema.STREAMS}
REPEATS = {s: _repeats(s) for s in schema.STREAMS}
REMOVE_HITS = {s: _remove_hits(s) for s in schema.STREAMS}
HIT_COUNTS = "SELECT verdict, count(*) FROM hits GROUP BY verdict"

NEXT_FILE_ID = "SELECT coalesce(max(file_id), 0) + 1 FROM files"
FILES_OF_SIZE = "SELECT count(*) FROM files WHERE size = $size"
FIND_SHA = "SELECT path, ingested_at, operator FROM files WHERE sha256 = $sha ORDER BY file_id LIMIT 1"
INSERT_FILE = """
INSERT INTO files VALUES ($file_id, $path, $size, $sha, $format, $kind, $records, $blank, $inserted,
  $duplicates, $conflicts, $rejected, $by_reason, $new_fields, now(), $operator)
"""
INSERT_HUGE = """
INSERT INTO rejects SELECT $file_id, line_no, byte_offset, 'line_too_large', raw, length FROM huge
"""
ARRAY_CHUNK = """
CREATE OR REPLACE TEMP TABLE chunk AS
SELECT row_number() OVER () AS line_no, NULL::BIGINT AS byte_offset, json::VARCHAR AS raw
FROM read_json_objects($path, format = 'array', compression = $compression,
                       maximum_object_size = 268435456)
"""
PARQUET_COLUMNS = "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet($path))"
# `@ENTRIES@` is built from the file's own column names, each quoted by store.quote_ident.
# Null columns are left out, as a JSON Lines record would leave out the field.
PARQUET_CHUNK = """
CREATE OR REPLACE TEMP TABLE chunk AS
SELECT file_row_number + 1 AS line_no, NULL::BIGINT AS byte_offset,
       to_json(map_from_entries(list_filter([@ENTRIES@], lambda e: e.v IS NOT NULL)))::VARCHAR AS raw
FROM read_parquet($path, file_row_number = true)
"""
