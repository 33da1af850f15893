"""The tool's own access log: one JSON line per command run against a database.

It lives beside the database (`<database>.access.jsonl`, mode 0600) rather than in it:
investigations open the database read-only so that many can run at once, and a look at
the logs must be recorded all the same. fluentlog only ever appends to it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fluentlog import schema
from fluentlog.errors import FluentlogError
from fluentlog.view import jsonable

FIELDS = ("occurred_at", "operator", "role", "command", "filters", "rows", "outcome", "reason", "export_path",
          "export_sha256")


def path_for(database: Path) -> Path:
    return database.with_name(database.name + schema.ACCESS_LOG_SUFFIX)


# The first entry of a log begun beside a database that was there before the run: the log it
# had was moved or deleted, and the gap stays on record (access-log warns of it).
LOG_MISSING = "log_missing"


def append(database: Path, entry: dict[str, Any], database_existed: bool = False) -> None:
    """Append one entry and flush it to disk before the caller shows any data. `database_existed`:
    the database was there before this run, so it should have had a log already."""
    path = path_for(database)
    record = {"occurred_at": datetime.now(UTC), **{k: None for k in FIELDS[1:]}, **entry}
    line = json.dumps(jsonable(record), ensure_ascii=False, default=str) + "\n"
    if database_existed and not path.exists():
        gap = {**record, "outcome": LOG_MISSING, "rows": None,
               "reason": "no access log was found beside the database: earlier entries were moved or deleted"}
        line = json.dumps(jsonable(gap), ensure_ascii=False, default=str) + "\n" + line
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise FluentlogError(f"cannot record this run in the access log {path}: {exc.strerror}",
                             hint="fluentlog shows nothing it cannot record; check the folder's permissions") from None


def read(database: Path) -> Iterator[dict[str, Any]]:
    """Every entry; a missing database or access log is an error, never an empty list (which
    would read as "nobody looked")."""
    path = path_for(database)
    if not database.exists():
        raise FluentlogError(f"no database at {database}",
                             hint="name the database with --db; its access log lives beside it")
    if not path.exists():
        raise FluentlogError(f"no access log at {path}, beside the database",
                             hint="every command run against the database appends to it: if it was moved or "
                                  "deleted, restore it from a backup")
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                raise FluentlogError(f"{path}, line {number}: not a valid entry; the access log was altered",
                                     hint="restore it from a backup; fluentlog never rewrites it") from None
            entry["occurred_at"] = datetime.fromisoformat(entry["occurred_at"].replace("Z", "+00:00"))
            yield entry


def select(database: Path, since: datetime | None = None, operator: str | None = None,
           command: str | None = None) -> list[dict[str, Any]]:
    return [e for e in read(database)
            if (since is None or e["occurred_at"] >= since)
            and (operator is None or e.get("operator") == operator)
            and (command is None or e.get("command") == command)]


def view(entries: list[dict[str, Any]]):  # -> View (pyarrow is imported only when it is needed)
    import pyarrow as pa

    from fluentlog.view import Section, View
    shown = pa.table({
        "time": pa.array([e["occurred_at"] for e in entries], pa.timestamp("us", "UTC")),
        "operator": pa.array([e.get("operator") for e in entries], pa.string()),
        "role": pa.array([e.get("role") for e in entries], pa.string()),
        "command": pa.array([e.get("command") for e in entries], pa.string()),
        "outcome": pa.array([e.get("outcome") for e in entries], pa.string()),
        "rows": pa.array([e.get("rows") for e in entries], pa.int64()),
        "filters": pa.array([json.dumps(e.get("filters") or {}, ensure_ascii=False) for e in entries], pa.string()),
        "reason": pa.array([e.get("reason") for e in entries], pa.string()),
    })
    styles = ["red" if e.get("outcome") in ("denied", LOG_MISSING) else None for e in entries]
    notes = [] if entries else ["No access-log entries match."]
    gaps = [f"the access log was missing at {e['occurred_at']:%Y-%m-%d %H:%M:%S}Z and begun anew: entries "
            "before then were moved or deleted (restore them from a backup)" for e in entries
            if e.get("outcome") == LOG_MISSING]
    return View(entries, [Section(shown, title="Who looked at the logs", row_styles=styles)], notes,
                warnings=gaps)
