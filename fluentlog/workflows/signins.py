"""signins: a person's (or an IP's) sign-ins, with findings: repeated failures, success
after failures, new places and devices, impossible travel, password spray.

Summary and findings cover the selected range; earlier events (up to the baseline
period before it) are read as history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from fluentlog.config import Detect
from fluentlog.errors import UsageError
from fluentlog.store import Store
from fluentlog.timeparse import TimeRange, shifted
from fluentlog.view import Section, View
from fluentlog.workflows import findings as fd
from fluentlog.workflows.common import email_bounds, mixed_sources

if TYPE_CHECKING:  # Arrow is needed for table and CSV output only
    import pyarrow as pa

_COLUMNS = """event_id, occurred_at, user_email AS email, user_id, event, outcome, method, reason, ip,
       country, city, lat, lon, device_id, user_agent, user_name AS login, source"""
# Match on rowid first so the scan reads only the filter's columns (see who_changed.py).
_EVENTS = f"""
SELECT {_COLUMNS} FROM access_events
WHERE rowid IN (SELECT rowid FROM access_events WHERE @MATCH@
                AND occurred_at >= coalesce($from, TIMESTAMPTZ '-infinity')
                AND occurred_at < coalesce($until, TIMESTAMPTZ 'infinity'))
ORDER BY occurred_at, event_id
"""
BY_EMAIL = _EVENTS.replace("@MATCH@", "lower(user_email) = lower($who)")
# The same, for an email with bounds (common.email_bounds): DuckDB skips other people's row groups.
BY_EMAIL_BOUNDED = _EVENTS.replace("@MATCH@", "user_email BETWEEN $lo AND $hi AND lower(user_email) = lower($who)")
BY_IP = _EVENTS.replace("@MATCH@", "ip = $who")
BY_LOGIN = _EVENTS.replace("@MATCH@", "lower(user_name) = lower($who)")
EVENT_KEYS = ("event_id", "occurred_at", "email", "event", "outcome", "method", "reason", "ip", "country",
              "city", "device_id", "user_agent", "login", "source")


@dataclass(frozen=True)
class Params:
    email: str | None = None
    ip: str | None = None
    user: str | None = None  # a login name, for sources without emails (GitHub)
    range: TimeRange = field(default_factory=TimeRange)
    detect: Detect = field(default_factory=Detect)


@dataclass
class Result:
    params: Params
    events: list[dict[str, Any]]  # in the selected range
    findings: list[dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        ev = self.events
        return {
            "total": len(ev),
            "succeeded": sum(1 for e in ev if (e["outcome"] or "").lower() == "success"),
            "failed": sum(1 for e in ev if (e["outcome"] or "").lower() == "failure"),
            "distinct_ips": len({e["ip"] for e in ev if e["ip"]}),
            "distinct_countries": len({e["country"] for e in ev if e["country"]}),
            "distinct_devices": len({e["device_id"] for e in ev if e["device_id"]}),
            "first_at": ev[0]["occurred_at"] if ev else None,
            "last_at": ev[-1]["occurred_at"] if ev else None,
        }


def run(store: Store, params: Params) -> Result:
    given = [v for v in (params.email, params.ip, params.user) if v is not None]
    if len(given) != 1:
        raise UsageError("give exactly one of --email, --user or --ip",
                         hint="fluentlog signins --email dana@example.org")
    since, until = params.range.since, params.range.until
    history_from = shifted(since, -timedelta(days=params.detect.baseline_days)) if since else None
    sql, who = ((BY_EMAIL, params.email) if params.email else (BY_LOGIN, params.user) if params.user
                else (BY_IP, params.ip))
    values = {"who": who, "from": history_from, "until": until}
    if params.email and (bounds := email_bounds(params.email)):
        sql = BY_EMAIL_BOUNDED
        values.update(lo=bounds[0], hi=bounds[1])
    history = store.records(sql, values)
    in_range = params.range.contains
    d = params.detect
    bursts = fd.repeated_failures(history, d)
    found = [f for _, f in bursts] + fd.success_after_failures(history, bursts, d)
    if not params.ip:
        found += fd.novelty(history, d, lambda e: in_range(e["occurred_at"]))
        found += fd.impossible_travel(history, d, lambda e: in_range(e["occurred_at"]))
    else:
        found += fd.password_spray(history, d)
    found = [f for f in found if in_range(f["last_at"])]
    found.sort(key=lambda f: (fd.SEVERITY_ORDER[f["severity"]], f["first_at"], f["kind"]))
    events = [e for e in history if in_range(e["occurred_at"])]
    return Result(params, events, found)


def document(result: Result) -> dict[str, Any]:
    p, r = result.params, result.params.range
    query = {"email": p.email, "user": p.user, "ip": p.ip, "since": r.since, "until": r.until, "around": r.center}
    events = []
    for e in result.events:
        item = {k: e[k] for k in EVENT_KEYS}
        if r.center is not None:
            item["offset_seconds"] = round((e["occurred_at"] - r.center).total_seconds())
        events.append(item)
    return {"query": query, "summary": result.summary(), "findings": result.findings, "events": events}


def view(result: Result, zone: str = "UTC") -> View:
    doc = document(result)
    who = result.params.email or result.params.user or f"IP {result.params.ip}"
    notes = [] if result.events else [f"No sign-in events of {who} in the selected time range."]
    return View(doc, notes=notes, tables=lambda: _tables(result, doc, who, ZoneInfo(zone)))


def _tables(result: Result, doc: dict[str, Any], who: str, tz: ZoneInfo) -> tuple[list[Section], pa.Table]:
    import pyarrow as pa
    summary = doc["summary"]
    summary_table = pa.table({
        "measure": [k.replace("_", " ") for k in summary], "value": [_text(v, tz) for v in summary.values()]})
    sections = [Section(summary_table, title=f"Sign-ins of {who}")]
    if result.findings:
        sections.append(Section(pa.table({
            "severity": [f["severity"] for f in result.findings],
            "finding": [f["kind"] for f in result.findings],
            "since": pa.array([f["first_at"] for f in result.findings], pa.timestamp("us", "UTC")),
            "count": pa.array([f["count"] for f in result.findings], pa.int64()),
            "detail": [f["detail"] for f in result.findings],
        }), title="Findings (most severe first)",
            row_styles=["bold red" if f["severity"] == "high" else "yellow" if f["severity"] == "medium" else None
                        for f in result.findings]))
    with_offset = result.params.range.center is not None
    sections.append(Section(_events_table(doc["events"], with_offset), title="Events", row_styles=[
        "red" if (e["outcome"] or "").lower() == "failure" else None for e in doc["events"]]))
    return sections, _events_table(doc["events"], with_offset, full=True)


def _events_table(events: list[dict[str, Any]], with_offset: bool, full: bool = False) -> pa.Table:
    import pyarrow as pa
    columns: dict[str, Any] = {}
    if with_offset:
        columns["offset"] = [_offset(e["offset_seconds"]) for e in events]
    columns["time"] = pa.array([e["occurred_at"] for e in events], pa.timestamp("us", "UTC"))
    keys = EVENT_KEYS[2:] if full else ("email", "event", "outcome", "reason", "ip", "country", "city", "device_id")
    if not full and any(e["email"] is None and e["login"] for e in events):
        keys = ("login", *keys[1:])
    if not full and mixed_sources(events):
        keys = (*keys, "source")
    for key in keys:
        columns[key] = pa.array([e[key] for e in events], pa.string())
    if full:
        columns = {"event_id": pa.array([e["event_id"] for e in events], pa.string()), **columns}
    return pa.table(columns)


def _offset(seconds: int) -> str:
    sign, seconds = ("-" if seconds < 0 else "+"), abs(seconds)
    return f"{sign}{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


def _text(value: Any, tz: ZoneInfo) -> str:
    if value is None:
        return "—"
    if hasattr(value, "astimezone"):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")
    return f"{value:,}" if isinstance(value, int) else str(value)
