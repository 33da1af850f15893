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
    return f"coalesce(trim({expr}), '') <> ''"


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

# The reason a record is rejected, or NULL. The first failing check wins.
_REASON = f"""
CASE
  WHEN text IS NULL THEN 'invalid_utf8'
  WHEN NOT valid THEN 'malformed_json'
  WHEN jtype <> 'OBJECT' THEN 'not_an_object'
  WHEN list_bool_or(list_transform(keys, lambda l: len(l) <> len(list_distinct(l)))) THEN 'duplicate_key'
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
  WHEN NOT valid OR jtype <> 'OBJECT' THEN NULL
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
# enough brackets to nest deeper than MAX_DEPTH (Python's parser then refuses them).
_SUSPECT = ("valid AND jtype = 'OBJECT' AND (contains(text, 'NaN') OR contains(text, 'Infinity') "
            "OR regexp_matches(text, ',\\s*[\\]}]') "
            f"OR strlen(text) - strlen(translate(text, '[{{', '')) > {MAX_DEPTH})")

# DuckDB may hoist a repeated expression out of a CASE and run it on every row, so
# a JSON function that throws on bad input must not appear outside TRY().
# `@TEXT@` is chosen by stage_sql from two constants, never from input.
_STAGE = f"""
CREATE OR REPLACE TEMP TABLE stage AS
WITH parsed AS MATERIALIZED (
  SELECT line_no, text, TRY(json_type(text)) AS jtype
  FROM (SELECT line_no, @TEXT@ AS text FROM chunk)
  WHERE text IS NULL OR trim(text, E' \\t\\r\\n') <> ''  -- JSON's whitespace
), typed AS MATERIALIZED (
  SELECT *, jtype IS NOT NULL AS valid,
    CASE WHEN jtype = 'OBJECT' THEN json_keys(text, {_sql_list(_KEY_PATHS)}) END AS keys,
    CASE WHEN jtype = 'OBJECT' THEN from_json(text, '{_SPEC}') END AS s
  FROM parsed
), kinded AS (
  SELECT *, {_KIND} AS kind, {_TIME} AS ts FROM typed
)
SELECT line_no, text, kind, {_REASON} AS reason, {_SUSPECT} AS suspect, {_UNKNOWN} AS unknown, s, ts
FROM kinded
"""


def stage_sql(raw_is_text: bool) -> str:
    return _STAGE.replace("@TEXT@", "raw" if raw_is_text else "TRY(decode(raw))")


def rejects_sql(raw_is_text: bool) -> str:
    return _INSERT_REJECTS.replace("@BLOB@", "encode(c.raw)" if raw_is_text else "c.raw")


COUNT_LINES = "SELECT count(*) FROM chunk"
STAGE_COUNT = "SELECT count(*) FROM stage"
SUSPECTS = "SELECT line_no, text FROM stage WHERE suspect"
APPLY_VERDICTS = "UPDATE stage SET reason = v.reason FROM verdicts v WHERE stage.line_no = v.line_no"
MARK_TRUNCATED = "UPDATE stage SET reason = 'truncated_record' WHERE line_no = $line_no AND reason = 'malformed_json'"
_INSERT_REJECTS = """
INSERT INTO rejects
SELECT $file_id, st.line_no, c.byte_offset, st.reason, @BLOB@, octet_length(@BLOB@)
FROM stage st JOIN chunk c ON c.line_no = st.line_no
WHERE st.reason IS NOT NULL
"""
REJECT_COUNTS = "SELECT reason, count(*) FROM stage WHERE reason IS NOT NULL GROUP BY reason"
NEW_FIELDS = """
SELECT field, count(*) FROM (SELECT unnest(unknown) AS field FROM stage WHERE reason IS NULL)
GROUP BY field
"""
KIND_COUNTS = "SELECT kind, count(*) FROM stage WHERE reason IS NULL GROUP BY kind"

# Typed columns per stream, as expressions over a stage row.
_LAT = "TRY_CAST(s.location.lat AS DOUBLE)"
_LON = "TRY_CAST(s.location.lon AS DOUBLE)"
_KEEP_RAW = {
    "audit": "len(unknown) > 0",
    "access": (f"len(unknown) > 0 OR (s.location.lat IS NOT NULL AND {_LAT} IS NULL)"
               f" OR (s.location.lon IS NOT NULL AND {_LON} IS NULL)"),
}
_EXPRESSIONS = {
    "audit": {
        "event_id": "s.id", "occurred_at": "ts", "action": "s.action",
        "actor_id": "s.actor.id", "actor_email": "s.actor.email", "actor_name": "s.actor.name",
        "actor_role": "s.actor.role", "entity_type": "s.entity.type", "entity_id": "s.entity.id",
        "entity_email": "s.entity.email", "related": "s.related", "changes": "s.changes",
        "ip": "s.context.ip", "user_agent": "s.context.user_agent",
        "request_id": "s.context.request_id",
    },
    "access": {
        "event_id": "s.id", "occurred_at": "ts", "event": "s.event", "outcome": "s.outcome",
        "user_id": "s.user.id", "user_email": "s.user.email", "method": "s.method",
        "reason": "s.reason", "ip": "s.ip", "country": "s.location.country",
        "region": "s.location.region", "city": "s.location.city", "lat": _LAT, "lon": _LON,
        "device_id": "s.device.id", "user_agent": "s.device.user_agent",
    },
}
for _stream, _exprs in _EXPRESSIONS.items():
    _exprs["raw"] = f"CASE WHEN {_KEEP_RAW[_stream]} THEN text END"


def _content(stream: str, alias: str | None) -> str:
    """The event's content as one struct: equal structs mean a duplicate."""
    def value(col: str) -> str:
        expr = _EXPRESSIONS[stream][col] if alias is None else f"{alias}.{col}"
        return f"json({expr})" if col == "raw" else expr
    return "{" + ", ".join(f"'{c}': {value(c)}" for c in schema.content_columns(stream)) + "}"


def _hits(stream: str) -> str:
    """Incoming events whose id is already stored: a duplicate or a conflict."""
    return f"""
CREATE OR REPLACE TEMP TABLE hits AS
SELECT st.line_no,
       CASE WHEN {_content(stream, None)} IS NOT DISTINCT FROM {_content(stream, 'e')}
            THEN 'duplicate' ELSE 'conflict' END AS verdict,
       to_json({_content(stream, 'e')}) AS stored
FROM stage st JOIN {schema.STREAM_TABLES[stream]} e ON e.event_id = st.s.id
WHERE st.reason IS NULL AND st.kind = '{stream}'
"""


def _repeats(stream: str) -> str:
    """Later copies of an id seen earlier in the same chunk, compared with the first copy."""
    return f"""
INSERT INTO hits
SELECT line_no, CASE WHEN content IS NOT DISTINCT FROM first THEN 'duplicate' ELSE 'conflict' END,
       to_json(first)
FROM (
  SELECT line_no, content,
         first_value(content) OVER (PARTITION BY id ORDER BY line_no) AS first,
         row_number() OVER (PARTITION BY id ORDER BY line_no) AS copy
  FROM (SELECT st.line_no, st.s.id AS id, {_content(stream, None)} AS content
        FROM stage st
        WHERE st.reason IS NULL AND st.kind = '{stream}'
          AND st.s.id IN (SELECT s.id FROM stage WHERE reason IS NULL AND kind = '{stream}'
                          GROUP BY s.id HAVING count(*) > 1)
          AND st.line_no NOT IN (SELECT line_no FROM hits))
)
WHERE copy > 1
"""


def _insert(stream: str) -> str:
    exprs = _EXPRESSIONS[stream]
    cols = ", ".join(exprs[c] for c in schema.content_columns(stream))
    return f"""
INSERT INTO {schema.STREAM_TABLES[stream]}
SELECT {cols}, $file_id, line_no FROM stage
WHERE reason IS NULL AND kind = '{stream}' AND line_no NOT IN (SELECT line_no FROM hits)
"""


def _conflicts(stream: str) -> str:
    return f"""
INSERT INTO conflicts
SELECT '{stream}', st.s.id, $file_id, st.line_no, st.text, h.stored, now()
FROM hits h JOIN stage st ON st.line_no = h.line_no
WHERE h.verdict = 'conflict'
"""


REPEATED_IDS = """
SELECT count(*) - count(DISTINCT s.id) FROM stage WHERE reason IS NULL AND kind = $kind
"""
HITS = {s: _hits(s) for s in schema.STREAMS}
REPEATS = {s: _repeats(s) for s in schema.STREAMS}
INSERT_EVENTS = {s: _insert(s) for s in schema.STREAMS}
INSERT_CONFLICTS = {s: _conflicts(s) for s in schema.STREAMS}
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
