"""The event store's tables and column allowlists, as plain constants.

Column names that ever reach SQL text come from here, never from user input.
"""

from __future__ import annotations

SCHEMA_VERSION = 3  # 2: events remember their source; access events a login name
# 3: audit events carry seq, and audit_refs indexes them by entity (fluentlog/entity_index.py)

STREAMS = ("audit", "access")

# (name, DuckDB type) in table order. `raw` holds the original record text only
# when the typed columns cannot hold it exactly (unknown fields, odd values).
AUDIT_COLUMNS = (
    ("event_id", "VARCHAR"), ("occurred_at", "TIMESTAMPTZ"), ("action", "VARCHAR"),
    ("actor_id", "VARCHAR"), ("actor_email", "VARCHAR"), ("actor_name", "VARCHAR"),
    ("actor_role", "VARCHAR"), ("entity_type", "VARCHAR"), ("entity_id", "VARCHAR"),
    ("entity_email", "VARCHAR"), ("related", "JSON"), ("changes", "JSON"),
    ("ip", "VARCHAR"), ("user_agent", "VARCHAR"), ("request_id", "VARCHAR"),
    ("source", "VARCHAR"), ("raw", "VARCHAR"), ("file_id", "INTEGER"), ("line_no", "BIGINT"),
    ("seq", "BIGINT"),
)
ACCESS_COLUMNS = (
    ("event_id", "VARCHAR"), ("occurred_at", "TIMESTAMPTZ"), ("event", "VARCHAR"),
    ("outcome", "VARCHAR"), ("user_id", "VARCHAR"), ("user_email", "VARCHAR"),
    ("user_name", "VARCHAR"), ("method", "VARCHAR"), ("reason", "VARCHAR"), ("ip", "VARCHAR"),
    ("country", "VARCHAR"), ("region", "VARCHAR"), ("city", "VARCHAR"),
    ("lat", "DOUBLE"), ("lon", "DOUBLE"), ("device_id", "VARCHAR"),
    ("user_agent", "VARCHAR"), ("source", "VARCHAR"), ("raw", "VARCHAR"), ("file_id", "INTEGER"),
    ("line_no", "BIGINT"),
)
PROVENANCE = ("file_id", "line_no")
# Where an event sits, not what it says: rising in storage order, read by the entity index.
PLACEMENT = ("seq",)
STREAM_TABLES = {"audit": "audit_events", "access": "access_events"}
# fluentlog's own files beside the database D: the folder where an ingest spills the events it
# sorts (D.sort.tmp), the access log of who looked (D.access.jsonl), and the note saying who
# holds the database while writing it (D.lock.json). Never exports: ingest skips them.
SPILL_FOLDER_SUFFIX = ".sort.tmp"
ACCESS_LOG_SUFFIX = ".access.jsonl"
LOCK_NOTE_SUFFIX = ".lock.json"
STREAM_COLUMNS = {"audit": AUDIT_COLUMNS, "access": ACCESS_COLUMNS}


def content_columns(stream: str) -> tuple[str, ...]:
    """Columns that make up an event's content: equal content means a duplicate."""
    return tuple(name for name, _ in STREAM_COLUMNS[stream] if name not in PROVENANCE + PLACEMENT)


def _table(name: str, columns: tuple[tuple[str, str], ...]) -> str:
    body = ",\n  ".join(f"{col} {typ}" for col, typ in columns)
    return f"CREATE TABLE IF NOT EXISTS {name} (\n  {body}\n)"


DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS files (
  file_id INTEGER PRIMARY KEY, path VARCHAR NOT NULL, size BIGINT NOT NULL,
  sha256 VARCHAR NOT NULL, format VARCHAR NOT NULL, kind VARCHAR,
  records BIGINT NOT NULL, blank BIGINT NOT NULL, inserted BIGINT NOT NULL,
  duplicates BIGINT NOT NULL, conflicts BIGINT NOT NULL, rejected BIGINT NOT NULL,
  rejected_by_reason JSON, new_fields JSON,
  ingested_at TIMESTAMPTZ NOT NULL, operator VARCHAR NOT NULL, source VARCHAR NOT NULL)""",
    _table("audit_events", AUDIT_COLUMNS),
    _table("access_events", ACCESS_COLUMNS),
    "CREATE TABLE IF NOT EXISTS audit_refs (h UINTEGER NOT NULL, v INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS rejects (
  file_id INTEGER NOT NULL, line_no BIGINT NOT NULL, byte_offset BIGINT,
  reason VARCHAR NOT NULL, raw BLOB, raw_length BIGINT)""",
    """CREATE TABLE IF NOT EXISTS ledger (
  seq INTEGER PRIMARY KEY, kind VARCHAR NOT NULL, recorded_at TIMESTAMPTZ NOT NULL, body VARCHAR NOT NULL,
  prev_hash VARCHAR NOT NULL, entry_hash VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS conflicts (
  stream VARCHAR NOT NULL, event_id VARCHAR NOT NULL, file_id INTEGER NOT NULL,
  line_no BIGINT NOT NULL, incoming JSON, stored JSON, detected_at TIMESTAMPTZ NOT NULL)""",
)
# Older formats this one upgrades in place on the next write: the statements that bring each
# up to date (then the DDL creates what is new). 2 -> 3: existing events get seq in storage
# order; the entity index is then built whole.
UPGRADES = {
    "2": ("ALTER TABLE audit_events ADD COLUMN seq BIGINT", "UPDATE audit_events SET seq = rowid"),
}
