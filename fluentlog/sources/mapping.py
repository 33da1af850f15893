"""A source: how the records of one export map onto fluentlog's event model.

One vocabulary serves the built-in presets (presets.toml) and `[sources.NAME]` in the
config, so a user's mapping can do what a preset does. Parsing is strict: a mistake
names the source, the key and the path.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fluentlog.errors import ConfigError

# Canonical fields a source may map, each to a path (or a list of paths: the first present wins).
FIELDS = (
    "time", "id", "action", "actor_id", "actor_email", "actor_name", "actor_role", "user_id", "user_email",
    "login", "related", "changes", "ip", "country", "region", "city", "lat", "lon", "device_id",
    "user_agent", "method", "reason", "request_id",
)
ENTITY_KEYS = ("type", "id", "email")
OUTCOME_KEYS = ("path", "code", "error", "success", "failure", "interrupted")
OPTION_KEYS = ("description", "detect", "records", "signins", "access", "signins_field", "time_format",
               "time_zone", "id_unique", "single", "entity", "outcome")
KEYS = OPTION_KEYS + FIELDS
TIME_FORMATS = ("auto", "iso", "epoch_s", "epoch_ms", "epoch_us")

# A path: dotted names, `[N]` list positions, `[key=value]` to pick the list item whose key
# holds value, and `*` for "whichever child has the rest of the path".
_SEGMENT = re.compile(r"\s*(?:([^.\[\]=\s]+)|\[(\d+)\]|\[([^.\[\]=\s]+)=([^\[\]]*)\])\s*")


@dataclass(frozen=True)
class Path:
    text: str
    steps: tuple[tuple[str, Any], ...]  # ("key", name) | ("index", n) | ("select", (key, value)) | ("any", None)


@dataclass(frozen=True)
class Value:
    """Where a canonical field comes from: paths tried in order, then a fixed value if given."""

    paths: tuple[Path, ...] = ()
    fixed: str | None = None

    def describe(self) -> str:
        parts = [p.text for p in self.paths]
        if self.fixed is not None:
            parts.append(f"(fixed) {self.fixed!r}")
        return " | ".join(parts)


@dataclass(frozen=True)
class Entity:
    type: Value
    id: Value
    email: Value | None = None


@dataclass(frozen=True)
class OutcomeRule:
    """One rule; the first rule that decides wins, and a record no rule decides is `unknown`.

    - path + success/failure/interrupted: the value at path matched against lists (globs, any case);
    - code: a numeric code, 0 is success, listed `interrupted` codes are neither, others failure;
    - error: a present, non-empty value at this path is a failure, its absence a success."""

    path: Value | None = None
    code: Value | None = None
    error: Value | None = None
    success: tuple[str, ...] = ()
    failure: tuple[str, ...] = ()
    interrupted: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    name: str
    description: str = ""
    native: bool = False  # the Fluent v1 format: loaded by the SQL fast path, not translated
    builtin: bool = False
    detect: tuple[tuple[Path, ...], ...] = ()  # key sets; a record with every path of one set matches
    records: tuple[str, ...] = ()  # keys of a wrapper object that hold the records
    signins: tuple[str, ...] = ()  # globs on the action: sign-in attempts
    access: tuple[str, ...] = ()  # globs on the action: other access events (logout, MFA, reset)
    signins_field: Value | None = None  # match signins/access against this instead of the action
    time_format: str = "auto"
    time_zone: str | None = None  # for zone-less times; None: the config's source_timezone
    id_unique: bool = True  # False: the id names an activity, not an event; a digest is added
    single: tuple[Path, ...] = ()  # paths that must hold one object (a list of several is refused)
    fields: Mapping[str, Value] = field(default_factory=dict)
    entity: tuple[Entity, ...] = ()
    outcome: tuple[OutcomeRule, ...] = ()
    table: Mapping[str, Any] = field(default_factory=dict)  # as written, for `sources show`


def parse(name: str, table: Any, origin: str, builtin: bool = False) -> Source:
    """A Source from its TOML table; `origin` (a file name) prefixes every message."""
    where = f"{origin}: [sources.{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table of field = path")
    _refuse_unknown(table, KEYS + (("native",) if builtin else ()), where)
    native = bool(table.get("native", False)) if builtin else False
    fields = {key: _value(table[key], f"{where} {key}") for key in FIELDS if key in table}
    if not native:
        for needed in ("time", "id", "action"):
            if needed not in fields:
                raise ConfigError(f"{where} has no `{needed}`: every source must say where its {needed} is",
                                  hint=f'for example: {needed} = "{_EXAMPLE[needed]}"')
    time_format = table.get("time_format", "auto")
    if time_format not in TIME_FORMATS:
        raise ConfigError(f"{where} time_format = {time_format!r} is not one of {', '.join(TIME_FORMATS)}")
    return Source(
        name=name, description=_text(table.get("description", ""), f"{where} description"),
        native=native, builtin=builtin,
        detect=_detect(table.get("detect", []), f"{where} detect"),
        records=_strings(table.get("records", []), f"{where} records"),
        signins=_strings(table.get("signins", []), f"{where} signins"),
        access=_strings(table.get("access", []), f"{where} access"),
        signins_field=_value(table["signins_field"], f"{where} signins_field") if "signins_field" in table else None,
        time_format=time_format,
        time_zone=_zone(table.get("time_zone"), f"{where} time_zone"),
        id_unique=_bool(table.get("id_unique", True), f"{where} id_unique"),
        single=tuple(compile_path(p, f"{where} single") for p in _strings(table.get("single", []), f"{where} single")),
        fields=fields,
        entity=_entities(table.get("entity", []), where),
        outcome=_outcomes(table.get("outcome", []), where),
        table=table,
    )


_EXAMPLE = {"time": "eventTime", "id": "eventID", "action": "eventName"}


def compile_path(text: Any, where: str) -> Path:
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: a path must be a non-empty string, got {text!r}")
    steps: list[tuple[str, Any]] = []
    for part in _split_dots(text):
        pos = 0
        while pos < len(part):
            m = _SEGMENT.match(part, pos)
            if m is None or m.end() == pos or (m.group(1) and pos > 0):
                raise ConfigError(f"{where}: cannot read path {text!r} near {part[pos:]!r}",
                                  hint='paths look like "actor.email", "target[0].id", '
                                       '"parameters[name=login_type].value" or "entity.*.id"')
            if m.group(1):
                steps.append(("any", None) if m.group(1) == "*" else ("key", m.group(1)))
            elif m.group(2):
                steps.append(("index", int(m.group(2))))
            else:
                steps.append(("select", (m.group(3), m.group(4))))
            pos = m.end()
        if not part:
            raise ConfigError(f"{where}: path {text!r} has an empty step")
    return Path(text.strip(), tuple(steps))


def _split_dots(text: str) -> list[str]:
    """Split on dots outside brackets (a selector value may hold a dot)."""
    parts, depth, current = [], 0, ""
    for ch in text.strip():
        depth += ch == "["
        depth -= ch == "]"
        if ch == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def _value(raw: Any, where: str) -> Value:
    if isinstance(raw, dict):
        _refuse_unknown(raw, ("value",), where)
        if not isinstance(raw.get("value"), (str, int, float)) or isinstance(raw.get("value"), bool):
            raise ConfigError(f"{where}: {{value = ...}} needs a text or number")
        return Value(fixed=str(raw["value"]))
    if isinstance(raw, list):
        if not raw:
            raise ConfigError(f"{where}: an empty list of paths")
        *paths, last = raw
        if isinstance(last, dict):  # a fixed value as the last resort
            return Value(paths=tuple(compile_path(p, where) for p in paths), fixed=_value(last, where).fixed)
        return Value(paths=tuple(compile_path(p, where) for p in raw))
    return Value(paths=(compile_path(raw, where),))


def _tables(raw: Any, where: str, name: str, keys: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The tables of `name = {...}` or `name = [{...}, ...]`, each with its place for messages."""
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise ConfigError(f"{where} {name} must be a table or a list of tables")
    for i, item in enumerate(items):
        here = f"{where} {name}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{here} must be a table with {', '.join(keys)}")
        _refuse_unknown(item, keys, here)
        yield here, item


def _entities(raw: Any, where: str) -> tuple[Entity, ...]:
    result = []
    for here, item in _tables(raw, where, "entity", ENTITY_KEYS):
        for needed in ("type", "id"):
            if needed not in item:
                raise ConfigError(f"{here} has no `{needed}`")
        result.append(Entity(_value(item["type"], f"{here} type"), _value(item["id"], f"{here} id"),
                             _value(item["email"], f"{here} email") if "email" in item else None))
    return tuple(result)


def _outcomes(raw: Any, where: str) -> tuple[OutcomeRule, ...]:
    rules = []
    for here, item in _tables(raw, where, "outcome", OUTCOME_KEYS):
        kinds = [k for k in ("path", "code", "error") if k in item]
        if len(kinds) != 1:
            raise ConfigError(f"{here} needs exactly one of path, code or error",
                              hint='e.g. {path = "outcome.result", success = ["SUCCESS"], failure = ["FAILURE"]}')
        if kinds == ["path"] and not (item.get("success") or item.get("failure")):
            raise ConfigError(f"{here} with a path needs success and/or failure values")
        rules.append(OutcomeRule(
            **{kinds[0]: _value(item[kinds[0]], f"{here} {kinds[0]}")},
            **{k: _strings(item.get(k, []), f"{here} {k}") for k in ("success", "failure", "interrupted")}))
    return tuple(rules)


def _detect(raw: Any, where: str) -> tuple[tuple[Path, ...], ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{where} must be a list of paths, or a list of such lists")
    sets = raw if raw and all(isinstance(x, list) for x in raw) else ([raw] if raw else [])
    return tuple(tuple(compile_path(p, where) for p in s) for s in sets)


def _strings(raw: Any, where: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in raw):
        raise ConfigError(f"{where} must be a list of text values, got {raw!r}")
    return tuple(str(x) for x in raw)


def _text(raw: Any, where: str) -> str:
    if not isinstance(raw, str):
        raise ConfigError(f"{where} must be text")
    return raw


def _bool(raw: Any, where: str) -> bool:
    if not isinstance(raw, bool):
        raise ConfigError(f"{where} must be true or false")
    return raw


def _zone(raw: Any, where: str) -> str | None:
    if raw is None:
        return None
    try:
        ZoneInfo(str(raw))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(f"{where} = {raw!r} is not a known time zone",
                          hint='use an IANA name such as "UTC" or "Europe/Berlin"') from None
    return str(raw)


def _refuse_unknown(data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in allowed:
            near = difflib.get_close_matches(key, allowed, n=1)
            raise ConfigError(f"{where}: unknown key `{key}`",
                              hint=f"did you mean `{near[0]}`?" if near else f"known keys: {', '.join(allowed)}")
