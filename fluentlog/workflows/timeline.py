"""timeline: one person's story in one list — their sign-ins, what they did in the
audit log, and what was done to them (their user entity), oldest first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from fluentlog import entity_index
from fluentlog.store import Store
from fluentlog.timeparse import TimeRange
from fluentlog.view import Section, View
from fluentlog.workflows.common import change_text, changes_of, email_bounds, mixed_sources, related_of

if TYPE_CHECKING:  # Arrow is needed for table and CSV output only
    import pyarrow as pa

# @ACCESS_RANGE@ and @ACTOR_RANGE@ take `col BETWEEN $lo AND $hi AND` for an email with bounds
# (common.email_bounds); @NEAR@ the entity index's term for the blocks of their user entity.
_TIMELINE = """
SELECT * FROM (
  SELECT 'access' AS stream, 'signin' AS role, event_id, occurred_at, event AS action, outcome,
         user_email AS actor_email, NULL AS entity_type, NULL AS entity_id, NULL AS changes, NULL AS related,
         ip, country, city, device_id, source
  FROM access_events
  WHERE rowid IN (SELECT rowid FROM access_events WHERE @ACCESS_RANGE@ lower(user_email) = lower($email))
  UNION ALL
  SELECT 'audit', CASE WHEN lower(actor_email) = lower($email) THEN 'actor' ELSE 'subject' END, event_id,
         occurred_at, action, NULL, actor_email, entity_type, entity_id, changes, related, ip, NULL, NULL, NULL,
         source
  FROM audit_events
  WHERE rowid IN (SELECT rowid FROM audit_events WHERE @ACTOR_RANGE@ lower(actor_email) = lower($email)
                  UNION ALL
                  SELECT rowid FROM audit_events e
                  WHERE @NEAR@ e.entity_type = 'user' AND lower(e.entity_email) = lower($email))
)
WHERE ($since IS NULL OR occurred_at >= $since) AND ($until IS NULL OR occurred_at < $until)
ORDER BY occurred_at, stream, event_id
"""


def timeline_sql(bounded: bool, near: str | None) -> str:
    """The timeline statement: with email bounds or without, and with the entity index's
    term (built from fluentlog's own numbers, its values bound) or without."""
    return (_TIMELINE.replace("@ACCESS_RANGE@", "user_email BETWEEN $lo AND $hi AND" if bounded else "")
            .replace("@ACTOR_RANGE@", "actor_email BETWEEN $lo AND $hi AND" if bounded else "")
            .replace("@NEAR@", f"{near} AND" if near else ""))


KEYS = ("stream", "role", "event_id", "occurred_at", "action", "outcome", "actor_email", "entity_type",
        "entity_id", "ip", "country", "city", "device_id", "source")


@dataclass(frozen=True)
class Params:
    email: str
    range: TimeRange = field(default_factory=TimeRange)


def run(store: Store, params: Params) -> list[dict[str, Any]]:
    values = {"email": params.email, "since": params.range.since, "until": params.range.until}
    bounds = email_bounds(params.email)
    if bounds:
        values.update(lo=bounds[0], hi=bounds[1])
    near, where = entity_index.near(store, entity_index.usable(store), [], [params.email])
    return store.records(timeline_sql(bounds is not None, near), {**values, **where})


def view(items: list[dict[str, Any]], params: Params, zone: str = "UTC") -> View:
    center = params.range.center
    docs = []
    for i in items:
        doc = {**{k: i[k] for k in KEYS}, "changes": changes_of(i["changes"])}
        if center is not None:
            doc["offset_seconds"] = round((i["occurred_at"] - center).total_seconds())
        docs.append(doc)
    notes = [] if items else [f"Nothing found for {params.email} in the selected time range."]
    return View(docs, notes=notes, tables=lambda: _tables(items, docs, params, ZoneInfo(zone)))


def _tables(items: list[dict[str, Any]], docs: list[dict[str, Any]], params: Params,
            tz: ZoneInfo) -> tuple[list[Section], pa.Table]:
    import pyarrow as pa
    shown = pa.table({
        "time": pa.array([i["occurred_at"] for i in items], pa.timestamp("us", "UTC")),
        "stream": [i["stream"] for i in items],
        "what": [i["action"] for i in items],
        "outcome / by": [i["outcome"] if i["stream"] == "access" else
                         ("by them" if i["role"] == "actor" else f"by {i['actor_email']}") for i in items],
        "on": pa.array([f"{i['entity_type']}:{i['entity_id']}" if i["entity_type"] else None for i in items],
                       pa.string()),
        "detail": [change_text(d["changes"], related_of(i["related"]), tz) for d, i in zip(docs, items, strict=True)],
        "ip": pa.array([i["ip"] for i in items], pa.string()),
    })
    if mixed_sources(items):
        shown = shown.append_column("source", pa.array([i["source"] for i in items], pa.string()))
    styles = ["red" if (i["outcome"] or "").lower() == "failure" else None for i in items]
    csv = pa.table({k: pa.array([str(d[k]) if d[k] is not None and k != "occurred_at" else d[k] for d in docs],
                                pa.timestamp("us", "UTC") if k == "occurred_at" else pa.string()) for k in KEYS})
    return [Section(shown, title=f"Timeline of {params.email} (oldest first)", row_styles=styles)], csv
