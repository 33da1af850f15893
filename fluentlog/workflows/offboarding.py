"""offboarding: is a removal or role change in the audit log, and is the person really gone?

For one user (--email) or for every user removed or re-roled in a range (--all, the cron
job): the removal and role changes, findings (removal not logged, sign-ins or actions
after the removal), the activity itself, and sensitive changes by others around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from fluentlog.errors import UsageError
from fluentlog.redact import Redactor
from fluentlog.store import Store
from fluentlog.timeparse import TimeRange, shifted
from fluentlog.view import Section, View
from fluentlog.workflows.common import changes_of, mixed_sources

USER_IDS = """
SELECT DISTINCT entity_id FROM audit_events WHERE entity_type = 'user' AND lower(entity_email) = lower($email)
"""
_IS_USER = "(e.entity_type = 'user' AND (lower(e.entity_email) = lower($email) OR list_contains($ids, e.entity_id)))"
# Removals and role changes are few: read them all once, then pick each user's in Python.
USER_CHANGES = """
SELECT event_id, occurred_at, action, actor_email, actor_name, actor_role, changes,
       lower(entity_email) AS email, entity_id
FROM audit_events
WHERE action IN ('user.removed', 'user.role_changed') AND entity_type = 'user'
ORDER BY occurred_at, event_id
"""
SIGNINS_AFTER = """
SELECT event_id, occurred_at, event, outcome, ip, country, city, device_id, source FROM access_events
WHERE occurred_at > $after AND (lower(user_email) = lower($email) OR list_contains($ids, user_id))
ORDER BY occurred_at, event_id
"""
ACTIONS_AFTER = """
SELECT event_id, occurred_at, action, entity_type, entity_id, ip, source FROM audit_events
WHERE occurred_at > $after AND (lower(actor_email) = lower($email) OR list_contains($ids, actor_id))
ORDER BY occurred_at, event_id
"""
# The review list keeps the WINDOW_CAP changes nearest each removal; `total` counts them all.
# One query serves every report: the table `windows` (n, email, ids, own, lo, hi, reference)
# holds one row per report, so the audit log is read once rather than once per user, and
# min_by keeps the nearest changes of each without sorting them all.
WINDOW_CAP = 200
_USER_RELATED = ("list_transform(list_filter(from_json(e.related, '[{\"type\":\"VARCHAR\",\"id\":\"VARCHAR\"}]'), "
                 "lambda r: r.type = 'user'), lambda r: r.id)")
WINDOW_CHANGES = f"""
SELECT w.n, count(*) AS total,
       min_by({{'event_id': e.event_id, 'occurred_at': e.occurred_at, 'actor_email': e.actor_email,
               'action': e.action, 'entity_type': e.entity_type, 'entity_id': e.entity_id, 'changes': e.changes}},
              {{'distance': abs(epoch(e.occurred_at) - epoch(w.reference)), 'event_id': e.event_id}},
              $cap) AS nearest
FROM audit_events e JOIN windows w ON e.occurred_at BETWEEN w.lo AND w.hi
WHERE NOT list_contains(w.own, e.event_id)
  AND NOT (lower(coalesce(e.actor_email, '')) = lower(w.email) OR list_contains(w.ids, e.actor_id))
  AND (e.action GLOB 'rate_rule.*' OR e.action GLOB 'template.*' OR e.action GLOB 'user.*'
       OR e.action GLOB 'compliance_document.*'
       OR (e.entity_type = 'user' AND (lower(e.entity_email) = lower(w.email) OR list_contains(w.ids, e.entity_id)))
       OR (e.related IS NOT NULL AND (contains(e.related, '"user"') OR contains(e.related, '\\u'))
           AND list_has_any({_USER_RELATED}, w.ids)))
GROUP BY w.n
"""
IN_RANGE = """
SELECT lower(coalesce(entity_email, '')) AS email, list(DISTINCT entity_id) AS ids
FROM audit_events
WHERE action IN ('user.removed', 'user.role_changed') AND entity_type = 'user'
  AND ($since IS NULL OR occurred_at >= $since) AND ($until IS NULL OR occurred_at < $until)
GROUP BY 1 ORDER BY min(occurred_at)
"""


@dataclass(frozen=True)
class Params:
    email: str | None = None
    removed_at: datetime | None = None
    window: timedelta = timedelta(days=7)
    all: bool = False
    range: TimeRange = field(default_factory=TimeRange)


def run(store: Store, params: Params) -> list[dict[str, Any]]:
    """One report per user: for --email that user, for --all each user in the range."""
    if params.all == (params.email is not None):
        raise UsageError("give --email EMAIL or --all", hint="fluentlog offboarding --all --since 30d")
    user_changes = store.query(USER_CHANGES).to_pylist()
    if params.all:
        users = store.rows(IN_RANGE, {"since": params.range.since, "until": params.range.until})
        reports = [_report(store, email or None, ids, user_changes, params) for email, ids in users]
    else:
        reports = [_report(store, params.email, [], user_changes, params)]
    _add_windows(store, reports, params)
    return reports


def _report(store: Store, email: str | None, ids: list[str], user_changes: list[dict[str, Any]],
            params: Params) -> dict[str, Any]:
    key = {"email": email or "", "ids": ids}
    if email:
        key["ids"] = sorted({*ids, *(i for (i,) in store.rows(USER_IDS, {"email": email}) if i)})
    changes = [c for c in user_changes
               if (email and c["email"] == email.lower()) or c["entity_id"] in key["ids"]]
    removals = [c for c in changes if c["action"] == "user.removed"]
    removal = _closest(removals, params.removed_at) if removals else None
    role_changes = [_role_change(c) for c in changes if c["action"] == "user.role_changed"]
    findings: list[dict[str, Any]] = []
    if params.removed_at is not None and (
            removal is None or abs(removal["occurred_at"] - params.removed_at) > timedelta(days=1)):
        findings.append(_finding("removal_not_logged", "high", params.removed_at, params.removed_at, 0,
                                 f"No user.removed event for {email or ids} within a day of "
                                 f"{params.removed_at:%Y-%m-%d %H:%M} UTC" +
                                 (f" (the nearest is at {removal['occurred_at']:%Y-%m-%d %H:%M} UTC)."
                                  if removal else "; none at all.")))
    removed_at = removal["occurred_at"] if removal else params.removed_at
    activity: list[dict[str, Any]] = []
    if removed_at is not None:
        activity = _activity_after(store, key, removed_at)
        findings += _after_findings(activity, removed_at)
    reference = removed_at or (changes[-1]["occurred_at"] if changes else None)
    window = {"email": key["email"], "ids": key["ids"], "own": [c["event_id"] for c in changes],
              "reference": reference} if reference is not None else None
    return {"email": email or None, "user_ids": key["ids"], "removal": _removal(removal),
            "role_changes": role_changes, "findings": findings, "activity_after": activity,
            "window_changes": [], "window_changes_total": 0, "_window": window}


def _add_windows(store: Store, reports: list[dict[str, Any]], params: Params) -> None:
    """Others' sensitive changes around each removal (or last role change), for all reports at once."""
    wanted = [(n, w) for n, r in enumerate(reports) if (w := r.pop("_window")) is not None]
    if not wanted:
        return
    times = pa.timestamp("us", "UTC")
    windows = pa.table({
        "n": pa.array([n for n, _ in wanted], pa.int64()),
        "email": pa.array([w["email"] for _, w in wanted], pa.string()),
        "ids": pa.array([w["ids"] for _, w in wanted], pa.list_(pa.string())),
        "own": pa.array([w["own"] for _, w in wanted], pa.list_(pa.string())),
        "lo": pa.array([shifted(w["reference"], -params.window) for _, w in wanted], times),
        "hi": pa.array([shifted(w["reference"], params.window) for _, w in wanted], times),
        "reference": pa.array([w["reference"] for _, w in wanted], times),
    })
    with store.scanning("windows", windows):
        found = store.query(WINDOW_CHANGES, {"cap": WINDOW_CAP}).to_pylist()
    for row in found:
        report = reports[row["n"]]
        report["window_changes_total"] = row["total"]
        nearest = sorted(row["nearest"], key=lambda c: (c["occurred_at"], c["event_id"]))
        report["window_changes"] = [{**{k: c[k] for k in (
            "event_id", "occurred_at", "actor_email", "action", "entity_type", "entity_id")},
            "changes": changes_of(c["changes"])} for c in nearest]


def redacted(report: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """The report with PHI in window changes hidden and the role's masked columns masked."""
    if redactor.inactive:
        return report
    return {**report, "findings": redactor.rows(report["findings"]),
            "activity_after": redactor.rows(report["activity_after"]),
            "window_changes": [{**w, "changes": redactor.changes(w["changes"])} for w in report["window_changes"]]}


def _closest(removals: list[dict[str, Any]], near: datetime | None) -> dict[str, Any]:
    if near is None:
        return removals[-1]
    return min(removals, key=lambda r: abs(r["occurred_at"] - near))


def _removal(event: dict[str, Any] | None) -> dict[str, Any] | None:
    if event is None:
        return None
    return {"event_id": event["event_id"], "occurred_at": event["occurred_at"], "by_email": event["actor_email"],
            "by_name": event["actor_name"], "by_role": event["actor_role"]}


def _role_change(event: dict[str, Any]) -> dict[str, Any]:
    role = next((c for c in changes_of(event["changes"]) if c["field"] == "role"), {"from": None, "to": None})
    return {"event_id": event["event_id"], "occurred_at": event["occurred_at"], "from": role["from"],
            "to": role["to"], "by_email": event["actor_email"], "by_name": event["actor_name"]}


def _activity_after(store: Store, key: dict[str, Any], after: datetime) -> list[dict[str, Any]]:
    signins = store.query(SIGNINS_AFTER, {**key, "after": after}).to_pylist()
    actions = store.query(ACTIONS_AFTER, {**key, "after": after}).to_pylist()
    items = [{"stream": "access", **s} for s in signins] + [{"stream": "audit", **a} for a in actions]
    return sorted(items, key=lambda i: (i["occurred_at"], i["event_id"]))


def _after_findings(activity: list[dict[str, Any]], removed_at: datetime) -> list[dict[str, Any]]:
    found = []
    since = f"after the removal at {removed_at:%Y-%m-%d %H:%M} UTC"
    groups = (
        ("signin_after_removal", "high", [a for a in activity if a["stream"] == "access"
                                          and (a["outcome"] or "").lower() == "success"], "successful sign-in"),
        ("signin_after_removal", "low", [a for a in activity if a["stream"] == "access"
                                         and (a["outcome"] or "").lower() != "success"], "failed sign-in"),
        ("activity_after_removal", "high", [a for a in activity if a["stream"] == "audit"], "audit action"),
    )
    for kind, severity, items, what in groups:
        if items:
            first = items[0]
            label = first.get("event") or first.get("action")
            found.append(_finding(kind, severity, items[0]["occurred_at"], items[-1]["occurred_at"], len(items),
                                  f"{len(items)} {what}(s) {since}; first: {label} at "
                                  f"{first['occurred_at']:%Y-%m-%d %H:%M} UTC"
                                  + (f" from {first['ip']}" if first.get("ip") else "") + ".",
                                  ip=first.get("ip"), country=first.get("country")))
    return found


def _finding(kind: str, severity: str, first: datetime, last: datetime, count: int, detail: str,
             ip: str | None = None, country: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "severity": severity, "first_at": first, "last_at": last, "count": count,
            "ip": ip, "country": country, "detail": detail}


def view(reports: list[dict[str, Any]], params: Params) -> View:
    document: Any = reports if params.all else reports[0]
    overview = pa.table({
        "user": [r["email"] or ", ".join(r["user_ids"]) for r in reports],
        "removed at": pa.array([r["removal"]["occurred_at"] if r["removal"] else None for r in reports],
                               pa.timestamp("us", "UTC")),
        "removed by": pa.array([r["removal"]["by_email"] if r["removal"] else None for r in reports], pa.string()),
        "role changes": [", ".join(f"{c['from']} -> {c['to']}" for c in r["role_changes"]) for r in reports],
        "findings": [", ".join(f"{f['kind']} ({f['severity']})" for f in r["findings"]) or "none" for r in reports],
    })
    sections = [Section(overview, title="Offboarding check", row_styles=[
        "bold red" if any(f["severity"] == "high" for f in r["findings"]) else None for r in reports])]
    for r in reports:
        sections.extend(_details(r))
    notes = [f"{r['email'] or r['user_ids']}: {r['window_changes_total']} sensitive changes by others in the "
             f"window; the {len(r['window_changes'])} nearest the change are listed."
             for r in reports if r["window_changes_total"] > len(r["window_changes"])]
    if params.all and not reports:
        notes.append("No user was removed or changed role in the selected range.")
    for r in reports:
        if r["removal"] is None and not r["role_changes"]:
            notes.append(f"No user.removed or user.role_changed event for {r['email']} in the audit log.")
    return View(document, sections, notes, csv=overview)


def _details(r: dict[str, Any]) -> list[Section]:
    who = r["email"] or ", ".join(r["user_ids"])
    sections = []
    if r["findings"]:
        sections.append(Section(pa.table({
            "severity": [f["severity"] for f in r["findings"]], "finding": [f["kind"] for f in r["findings"]],
            "count": pa.array([f["count"] for f in r["findings"]], pa.int64()),
            "detail": [f["detail"] for f in r["findings"]]}), title=f"Findings for {who}"))
    if r["activity_after"]:
        a = r["activity_after"]
        table = pa.table({
            "time": pa.array([i["occurred_at"] for i in a], pa.timestamp("us", "UTC")),
            "stream": [i["stream"] for i in a],
            "what": [i.get("event") or i.get("action") for i in a],
            "outcome": pa.array([i.get("outcome") for i in a], pa.string()),
            "ip": pa.array([i.get("ip") for i in a], pa.string())})
        if mixed_sources(a):  # e.g. the person came back through Okta after removal from Fluent
            table = table.append_column("source", pa.array([i.get("source") for i in a], pa.string()))
        sections.append(Section(table, title=f"{who}: activity after the removal", row_styles=["red"] * len(a)))
    if r["window_changes"]:
        w = r["window_changes"]
        sections.append(Section(pa.table({
            "time": pa.array([i["occurred_at"] for i in w], pa.timestamp("us", "UTC")),
            "actor": pa.array([i["actor_email"] for i in w], pa.string()),
            "action": [i["action"] for i in w],
            "entity": [f"{i['entity_type']}:{i['entity_id']}" for i in w]}),
            title=f"{who}: sensitive changes by others around the change (for review, not findings)"))
    return sections
