"""What is loaded: events per stream, time range, files, rejects, conflicts, and gaps.

A gap is a run of whole days inside a stream's covered range with no events at
all: most often an export that was never loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from fluentlog import ledger, schema
from fluentlog.store import Store
from fluentlog.view import Section, View


@dataclass(frozen=True)
class Params:
    timezone: str = "UTC"  # days for gaps are counted in this zone


def _summary_sql(table: str) -> str:
    return f"SELECT count(*), min(occurred_at), max(occurred_at) FROM {table}"


def _gaps_sql(table: str) -> str:
    return f"""
WITH days AS (SELECT DISTINCT timezone($tz, occurred_at)::DATE AS d FROM {table}),
span AS (SELECT min(d) AS lo, max(d) AS hi FROM days),
missing AS (
  SELECT gs::DATE AS d FROM span, generate_series(span.lo::TIMESTAMP, span.hi::TIMESTAMP, INTERVAL 1 DAY) t(gs)
  WHERE gs::DATE NOT IN (SELECT d FROM days)
)
SELECT min(d), max(d) FROM (SELECT d, d - (row_number() OVER (ORDER BY d))::INTEGER AS run FROM missing)
GROUP BY run ORDER BY 1
"""


SUMMARY = {stream: _summary_sql(t) for stream, t in schema.STREAM_TABLES.items()}
GAPS = {stream: _gaps_sql(t) for stream, t in schema.STREAM_TABLES.items()}
FILES = "SELECT count(*), coalesce(sum(rejected), 0) FROM files"
CONFLICTS = "SELECT count(*) FROM conflicts"


@dataclass
class Status:
    database: Path
    exists: bool
    streams: dict[str, dict[str, Any]]
    files: int = 0
    rejected: int = 0
    conflicts: int = 0
    gaps: list[dict[str, Any]] | None = None
    ledger_head: str | None = None

    @property
    def empty(self) -> bool:
        return not any(s["events"] for s in self.streams.values())


def empty_status(database: Path) -> Status:
    streams = {s: {"events": 0, "first_at": None, "last_at": None} for s in schema.STREAMS}
    return Status(database, False, streams, gaps=[])


def run(store: Store, params: Params) -> Status:
    streams, gaps = {}, []
    for stream in schema.STREAMS:
        events, first, last = store.rows(SUMMARY[stream])[0]
        streams[stream] = {"events": events, "first_at": first, "last_at": last}
        if events:
            for lo, hi in store.rows(GAPS[stream], {"tz": params.timezone}):
                gaps.append({"stream": stream, "from": lo, "to": hi})
    files, rejected = store.rows(FILES)[0]
    return Status(store.path, True, streams, files, int(rejected), store.scalar(CONFLICTS), gaps,
                  ledger.head(store))


def view(status: Status) -> View:
    doc = {"database": str(status.database), "exists": status.exists, **status.streams, "files": status.files,
           "rejected": status.rejected, "conflicts": status.conflicts, "gaps": status.gaps or [],
           "ledger_head": status.ledger_head}
    streams = pa.table({
        "stream": list(status.streams),
        "events": pa.array([s["events"] for s in status.streams.values()], pa.int64()),
        "first_at": pa.array([s["first_at"] for s in status.streams.values()], pa.timestamp("us", "UTC")),
        "last_at": pa.array([s["last_at"] for s in status.streams.values()], pa.timestamp("us", "UTC")),
    })
    title = f"Loaded into {status.database}" if status.exists else f"No database at {status.database}"
    sections = [Section(streams, title=title,
                        caption=f"{status.files} file(s) ingested · {status.rejected} record(s) rejected"
                                f" · {status.conflicts} conflict(s)")]
    notes, warnings = [], []
    if status.gaps:
        sections.append(Section(_gap_table(status.gaps), title="Days with no events (a missing export?)"))
    if not status.exists:  # in every format: a misspelt --db must not read as an empty store
        warnings.append(f"no database exists at {status.database}; check the path, or load exports into it with: "
                        f"fluentlog ingest PATH... --db {status.database}")
    elif status.empty:
        notes.append(f"The database {status.database} holds no events. Load exports with: fluentlog ingest PATH...")
    if status.rejected:
        notes.append("Rejected records are kept in the database (table `rejects`) with file, line and reason.")
    if status.ledger_head:
        notes.append(f"Ledger head {status.ledger_head}: fluentlog verify checks the store against it.")
    return View(doc, sections, notes, warnings)


def _gap_table(gaps: list[dict[str, Any]]) -> pa.Table:
    def days(g: dict[str, Any]) -> int:
        lo, hi = g["from"], g["to"]
        return (hi - lo).days + 1 if isinstance(lo, date) and isinstance(hi, date) else 0
    return pa.table({
        "stream": [g["stream"] for g in gaps],
        "from": [g["from"].isoformat() for g in gaps],
        "to": [g["to"].isoformat() for g in gaps],
        "days": pa.array([days(g) for g in gaps], pa.int64()),
    })


__all__ = ["Params", "Status", "empty_status", "run", "view"]
