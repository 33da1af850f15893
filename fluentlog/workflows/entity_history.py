"""An entity's story: every audit event on it, or naming it as related, oldest first.

The demo's who-changed tour uses this; the full `who-changed` command builds on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from fluentlog.store import Store
from fluentlog.view import Section, View

HISTORY = """
SELECT event_id, occurred_at, actor_name, actor_email, actor_role, action,
       entity_type, entity_id, changes, related, ip
FROM audit_events
WHERE (entity_type = $type AND entity_id = $id)
   OR len(list_filter(from_json(related, '[{"type":"VARCHAR","id":"VARCHAR"}]'),
                      lambda r: r.type = $type AND r.id = $id)) > 0
ORDER BY occurred_at, event_id
"""


@dataclass(frozen=True)
class Params:
    entity_type: str
    entity_id: str


def run(store: Store, params: Params) -> pa.Table:
    return store.query(HISTORY, {"type": params.entity_type, "id": params.entity_id})


def changes_of(changes: str | None) -> list[dict[str, Any]]:
    """[{field, from, to}] from the stored `changes` JSON (a value without from/to is `to`)."""
    if not changes:
        return []
    try:
        parsed = json.loads(changes)
    except ValueError:
        return [{"field": None, "from": None, "to": changes}]
    if not isinstance(parsed, dict):
        return [{"field": None, "from": None, "to": parsed}]
    return [{"field": field, "from": value.get("from"), "to": value.get("to")}
            if isinstance(value, dict) and ("from" in value or "to" in value)
            else {"field": field, "from": None, "to": value}
            for field, value in parsed.items()]


def change_lines(row: dict[str, Any]) -> str:
    """`field: before -> after`, one line per changed field, then the related entities."""
    lines = [f"{c['field']}: {_show(c['from'])} -> {_show(c['to'])}" for c in changes_of(row["changes"])]
    try:
        related = json.loads(row["related"]) if row["related"] else []
    except ValueError:
        related = []
    lines += [f"{r.get('type')} {r.get('id')}" for r in related if isinstance(r, dict)]
    return "\n".join(lines)


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value)


def view(table: pa.Table, params: Params) -> View:
    rows = table.to_pylist()
    shown = pa.table({
        "time": pa.array([r["occurred_at"] for r in rows], pa.timestamp("us", "UTC")),
        "actor": [f"{r['actor_name'] or ''} <{r['actor_email'] or '?'}>" for r in rows],
        "role": [r["actor_role"] for r in rows],
        "action": [r["action"] for r in rows],
        "changes": [change_lines(r) for r in rows],
        "ip": [r["ip"] for r in rows],
    })
    document = [{**{k: r[k] for k in ("event_id", "occurred_at", "actor_email", "actor_name", "actor_role",
                                      "action", "entity_type", "entity_id")},
                 "changes": changes_of(r["changes"]), "ip": r["ip"]} for r in rows]
    title = f"History of {params.entity_type}:{params.entity_id} (oldest first)"
    return View(document, [Section(shown, title=title)])
