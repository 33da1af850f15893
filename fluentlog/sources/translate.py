"""Turn one record of a foreign export into a Fluent v1 record, as its Source says.

The v1 record then goes through the same judging SQL as Fluent's own exports, so every
check, the duplicate and conflict handling and the ledger apply to every source alike.
A record that cannot be mapped is rejected with a reason naming the canonical field.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fluentlog.sources.mapping import Path, Source, Value

MISSING: Any = object()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMBER = re.compile(r"\s*-?\d+(\.\d+)?\s*")
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
_SCALES = {"epoch_s": 1, "epoch_ms": 1_000, "epoch_us": 1_000_000}


class Rejected(Exception):
    """The record cannot be mapped; args[0] is the reject reason."""


def resolve(path: Path, value: Any) -> Any:
    """The value at path, or MISSING. A one-element list stands for its element."""
    return _walk(path.steps, value)


def _walk(steps: tuple[tuple[str, Any], ...], value: Any) -> Any:
    for i, (kind, arg) in enumerate(steps):
        if kind in ("key", "any") and isinstance(value, list) and len(value) == 1:
            value = value[0]
        if kind == "key":
            if not isinstance(value, dict) or arg not in value:
                return MISSING
            value = value[arg]
        elif kind == "index":
            if not isinstance(value, list) or arg >= len(value):
                return MISSING
            value = value[arg]
        elif kind == "select":
            key, wanted = arg
            if not isinstance(value, list):
                return MISSING
            value = next((item for item in value if isinstance(item, dict) and _text(item.get(key)) == wanted),
                         MISSING)
            if value is MISSING:
                return MISSING
        else:  # any: the first child that has the rest of the path
            children = value.values() if isinstance(value, dict) else []
            for child in children:
                found = _walk(steps[i + 1:], child)
                if found is not MISSING:
                    return found
            return MISSING
    return value


def pick(value: Value | None, record: Any) -> Any:
    """The first present, non-empty value of the paths (or the fixed value); MISSING if none."""
    if value is None:
        return MISSING
    for path in value.paths:
        found = resolve(path, record)
        if found is not MISSING and found is not None and found != "" and found != [] and found != {}:
            return found
    return MISSING if value.fixed is None else value.fixed


def translate(source: Source, record: Any, default_zone: str) -> dict[str, Any]:
    """The v1 record for one foreign record; raises Rejected."""
    if not isinstance(record, dict):
        raise Rejected("not_an_object")
    for path in source.single:
        found = resolve(path, record)
        if isinstance(found, list) and len(found) > 1:
            raise Rejected(f"several_events:{path.text}")
    action = _required(source, "action", record)
    when = to_iso(_required(source, "time", record), source.time_format, source.time_zone or default_zone)
    if when is None:
        raise Rejected("bad_timestamp")
    event_id = f"{source.name}:{_required(source, 'id', record)}"
    if not source.id_unique:
        canonical = json.dumps(record, sort_keys=True, default=str)
        event_id += ":" + hashlib.sha256(canonical.encode()).hexdigest()[:16]
    stream = classify(source, record, action)
    if stream is None:
        return _audit(source, record, event_id, when, action)
    return _access(source, record, event_id, when, action, attempt=stream == "signin")


def classify(source: Source, record: dict[str, Any], action: str) -> str | None:
    """"signin" (a sign-in attempt), "access" (another access event) or None (an audit event)."""
    subject = action
    if source.signins_field is not None:
        found = pick(source.signins_field, record)
        subject = _text(found) if found is not MISSING else ""
    if _matches(subject, source.signins):
        return "signin"
    if _matches(subject, source.access):
        return "access"
    return None


def outcome(source: Source, record: dict[str, Any]) -> str:
    """success, failure, interrupted, or unknown when no rule decides: never a guessed success."""
    for rule in source.outcome:
        if rule.path is not None:
            found = pick(rule.path, record)
            if found is MISSING:
                continue
            text = _text(found)
            for verdict, patterns in (("interrupted", rule.interrupted), ("success", rule.success),
                                      ("failure", rule.failure)):
                if _matches(text, patterns):
                    return verdict
        elif rule.code is not None:
            found = pick(rule.code, record)
            if found is MISSING or not _NUMBER.fullmatch(_text(found)):
                continue
            code = _text(found).strip()
            if code in rule.interrupted:
                return "interrupted"
            return "success" if not code.strip("-0.") else "failure"  # 0, -0, 0.0: success
        elif rule.error is not None:
            return "success" if pick(rule.error, record) is MISSING else "failure"
    return "unknown"


def to_iso(value: Any, time_format: str, zone: str) -> str | None:
    """An ISO 8601 UTC time, or None when the value is not a time of the stated format."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        if time_format == "iso":
            return None
        try:
            return _from_epoch(float(value), time_format)
        except OverflowError:  # a number too large for any time
            return None
    if not isinstance(value, str) or time_format not in ("auto", "iso"):
        return None
    text = _LONG_FRACTION.sub(r"\1", value.strip()).replace("z", "Z")
    try:
        when = datetime.fromisoformat(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=ZoneInfo(zone))
        return when.astimezone(UTC).isoformat()
    except (ValueError, OverflowError):  # not a time, or one beyond year 1..9999 in UTC
        return None


def _from_epoch(number: float, time_format: str) -> str | None:
    if time_format in _SCALES:
        scale = _SCALES[time_format]
    else:  # auto: by magnitude (seconds reach 1e11 only in the year 5138)
        scale = next((s for limit, s in ((1e11, 1), (1e14, 1_000), (1e17, 1_000_000))
                      if abs(number) < limit), 1_000_000_000)
    try:
        return (_EPOCH + timedelta(microseconds=round(number * 1_000_000 / scale))).isoformat()
    except OverflowError:
        return None


def _required(source: Source, name: str, record: dict[str, Any]) -> Any:
    found = pick(source.fields.get(name), record)
    if found is MISSING:
        raise Rejected(f"missing_field:{name}")
    return found if name == "time" else _text(found)


def _field(source: Source, name: str, record: dict[str, Any], fallback: str | None = None) -> str | None:
    found = pick(source.fields.get(name), record)
    if found is MISSING and fallback is not None:
        found = pick(source.fields.get(fallback), record)
    return None if found is MISSING else _text(found)


def _number(source: Source, name: str, record: dict[str, Any]) -> Any:
    found = pick(source.fields.get(name), record)
    if found is MISSING:
        return None
    return found if isinstance(found, (int, float)) and not isinstance(found, bool) else _text(found)


def _json(source: Source, name: str, record: dict[str, Any]) -> Any:
    found = pick(source.fields.get(name), record)
    return None if found is MISSING else found


def _access(source: Source, r: dict[str, Any], event_id: str, when: str, action: str,
            attempt: bool) -> dict[str, Any]:
    return _prune({
        "id": event_id, "occurred_at": when,
        # "signin." marks a sign-in attempt, as in Fluent's own event names.
        "event": f"signin.{action}" if attempt else action,
        "outcome": outcome(source, r),
        "user": {"id": _field(source, "user_id", r, "actor_id"),
                 "email": _field(source, "user_email", r, "actor_email"), "name": _field(source, "login", r)},
        "method": _field(source, "method", r), "reason": _field(source, "reason", r), "ip": _field(source, "ip", r),
        "location": {"country": _field(source, "country", r), "region": _field(source, "region", r),
                     "city": _field(source, "city", r), "lat": _number(source, "lat", r),
                     "lon": _number(source, "lon", r)},
        "device": {"id": _field(source, "device_id", r), "user_agent": _field(source, "user_agent", r)},
    })


def _audit(source: Source, r: dict[str, Any], event_id: str, when: str, action: str) -> dict[str, Any]:
    entity: dict[str, Any] = {}
    for choice in source.entity:
        found_id, found_type = pick(choice.id, r), pick(choice.type, r)
        if found_id is not MISSING and found_type is not MISSING:
            email = pick(choice.email, r)
            entity = {"type": _text(found_type), "id": _text(found_id),
                      "email": None if email is MISSING else _text(email)}
            break
    return _prune({
        "id": event_id, "occurred_at": when, "action": action,
        "actor": {"id": _field(source, "actor_id", r), "email": _field(source, "actor_email", r),
                  "name": _field(source, "actor_name", r, "login"), "role": _field(source, "actor_role", r)},
        "entity": entity, "related": _json(source, "related", r), "changes": _json(source, "changes", r),
        "context": {"ip": _field(source, "ip", r), "user_agent": _field(source, "user_agent", r),
                    "request_id": _field(source, "request_id", r)},
    })


def _prune(record: dict[str, Any]) -> dict[str, Any]:
    """Leave out absent values, as an export would leave out the field."""
    out = {}
    for key, value in record.items():
        if isinstance(value, dict) and key not in ("related", "changes"):
            value = {k: v for k, v in value.items() if v is not None}
            if not value:
                continue
        if value is not None:
            out[key] = value
    return out


def _matches(text: str, patterns: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in patterns)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
