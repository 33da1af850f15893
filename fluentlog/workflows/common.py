"""Small helpers the investigations share: matching emails, showing changes and times."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

BIG_LIMIT = 2**62  # LIMIT for "no limit" (a bound parameter cannot be NULL there)
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")


# DuckDB's lower() turns two non-ASCII characters into ASCII letters: İ (U+0130) into "i" and
# the Kelvin sign (U+212A) into "k". Every other character it lowers into ASCII is ASCII
# (tests/test_workflows.py asks the installed DuckDB about every code point).
_LOWERED_INTO_ASCII = "ik"


def email_bounds(email: str) -> tuple[str, str] | None:
    """(lo, hi) such that every stored text whose lower() equals lower(email) lies between
    them, byte by byte; None when the email is not ASCII.

    Events are stored sorted by person within each sort unit, so `col BETWEEN lo AND hi`
    lets DuckDB skip the row groups of other people by their zone maps before it lowers each
    value (signins at 5M events: 9 -> 4 ms). Every character of such a text is the letter of
    lower(email) or its capital, both at least the capital, so lo is the capital spelling.
    Each sorts at most at the lower-case letter, up to the first i or k (İ or K sort after all
    ASCII): hi is lower(email), or its part before that letter followed by the highest character."""
    if not email.isascii():
        return None
    low = email.lower()
    cut = min((low.index(c) for c in _LOWERED_INTO_ASCII if c in low), default=None)
    return low.upper(), low if cut is None else low[:cut] + "\U0010ffff"


def json_needle(value: str) -> str:
    """`value` as it appears inside stored JSON text, for a cheap contains() prefilter;
    '' (which every text contains) when JSON would escape it."""
    escaped = json.dumps(value, ensure_ascii=False)[1:-1]
    return value if escaped == value else ""


def changes_of(changes: str | None) -> list[dict[str, Any]]:
    """[{field, from, to}] from stored `changes` JSON: an object of fields ({"notes": {"from": ..,
    "to": ..}}; a value without from/to is `to`), or a list of changes ([{"field": "notes",
    "from": .., "to": ..}]). Anything else keeps its whole value as `to`, under field None."""
    if not changes:
        return []
    try:
        parsed = json.loads(changes)
    except (ValueError, RecursionError):
        return [{"field": None, "from": None, "to": changes}]
    if isinstance(parsed, list):
        return [_named_change(item) for item in parsed]
    if not isinstance(parsed, dict):
        return [{"field": None, "from": None, "to": parsed}]
    return [{"field": field, "from": value.get("from"), "to": value.get("to")}
            if isinstance(value, dict) and ("from" in value or "to" in value)
            else {"field": field, "from": None, "to": value}
            for field, value in parsed.items()]


def _named_change(item: Any) -> dict[str, Any]:
    """One element of a list of changes: {"field": name, "from": .., "to": ..} as it is; any
    other element whole, as `to`."""
    if isinstance(item, dict) and isinstance(item.get("field"), str) and set(item) <= {"field", "from", "to"}:
        return {"field": item["field"], "from": item.get("from"), "to": item.get("to")}
    return {"field": None, "from": None, "to": item}


def related_of(related: str | None) -> list[dict[str, Any]]:
    try:
        items = json.loads(related) if related else []
    except (ValueError, RecursionError):
        return []
    return [r for r in items if isinstance(r, dict)] if isinstance(items, list) else []


def show_value(value: Any, zone: ZoneInfo) -> str:
    """A change value for people: times in the display zone, JSON for the rest."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        if _ISO_TIME.match(value):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
                return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            except ValueError:
                pass
        return value
    return json.dumps(value, ensure_ascii=False)


UNNAMED = "changes"  # the label of a change that names no field


def change_line(change: dict[str, Any], show: Callable[[Any], str]) -> str:
    """`start_time: 2026-06-20 15:00 -> 2026-06-21 16:30`; a change that names no field (the
    stored `changes` was not an object of fields) as `changes: VALUE`."""
    if change["field"] is None:
        before = "" if change["from"] is None else f"{show(change['from'])} -> "
        return f"{UNNAMED}: {before}{show(change['to'])}"
    return f"{change['field']}: {show(change['from'])} -> {show(change['to'])}"


def change_text(changes: list[dict[str, Any]], related: list[dict[str, Any]], zone: ZoneInfo) -> str:
    """One line per field (change_line), then related."""
    lines = [change_line(c, lambda v: show_value(v, zone)) for c in changes]
    lines += [f"{r.get('type')} {r.get('id')}" for r in related]
    return "\n".join(lines)


def utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


def mixed_sources(rows: list[dict[str, Any]]) -> bool:
    """Events from more than one source: tables then show which each came from."""
    return len({r.get("source") for r in rows}) > 1
