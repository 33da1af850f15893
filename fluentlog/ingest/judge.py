"""The SQL that judges each record: parse, classify, check, and say why it is rejected.

`Judge(streams)` builds it for one stream (the fast path: a struct with only that
stream's fields, ~30% cheaper) or for both (the slow path). DuckDB's JSON parser is
lenient (NaN, trailing commas), so lines it accepts but a strict parser would not are
flagged *suspect*; Python re-checks only those (see strict.py). All text is built at
import from the allowlists below, never from input.
"""

from __future__ import annotations

# Known fields per stream and per nested object; anything else is an unknown field, and
# the record then keeps its original text in `raw`.
TOP = {
    "audit": ("id", "occurred_at", "action", "actor", "entity", "related", "changes", "context"),
    "access": ("id", "occurred_at", "event", "outcome", "user", "method", "reason", "ip", "location", "device"),
}
NESTED = {
    "actor": ("id", "email", "name", "role"),
    "entity": ("type", "id", "email"),
    "context": ("ip", "user_agent", "request_id"),
    "user": ("id", "email", "name"),
    "location": ("country", "region", "city", "lat", "lon"),
    "device": ("id", "user_agent"),
}
FREE_FORM = ("related", "changes")  # any JSON, kept as JSON text
MAX_DEPTH = 256  # deeper nesting is rejected as nesting_too_deep

# Epoch seconds or milliseconds (as numbers or digit strings); ISO 8601 times (or with slashes
# in the date) with Z, an offset of at most 14 hours, or UTC/GMT (the exact instant); zone-less
# times and dates (read in $source_tz). Anything else is NULL (bad_timestamp): DuckDB's
# TIMESTAMP cast would drop a zone it cannot read ("05:00 EST" stored as 05:00), and its
# TIMESTAMPTZ cast takes any offset (+99:00) and guesses at abbreviations (CST, IST). Space
# around the text, a space before the zone, a one-digit hour, any digits of a fraction (cut to
# microseconds) and a lower-case t, z, utc or gmt are allowed. The first branch is the common
# form, checked alone.
_DATE = r"[0-9]{4}[-/][0-9]{2}[-/][0-9]{2}"
_CLOCK = r"[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
_COMMON = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z"
_ZONE = r"[Zz]|[+-](0[0-9]|1[0-3])(:?[0-5][0-9])?|[+-]14(:?00)?|(?i:utc|gmt)"
_ZONED = rf"\s*{_DATE}[Tt ]{_CLOCK}\s*({_ZONE})\s*"
_ZONELESS = rf"\s*{_DATE}([Tt ]{_CLOCK})?\s*"
_TRIMMED = r"regexp_replace(s.occurred_at, '^\s+|\s+$', '', 'g')"
_TIME = rf"""
CASE
  WHEN regexp_full_match(s.occurred_at, '{_COMMON}') THEN TRY_CAST(s.occurred_at AS TIMESTAMPTZ)
  WHEN regexp_full_match(s.occurred_at, '[0-9]{{9,14}}(\.[0-9]+)?')
    THEN CASE WHEN s.occurred_at::DOUBLE < 1e11 THEN to_timestamp(s.occurred_at::DOUBLE)
              ELSE to_timestamp(s.occurred_at::DOUBLE / 1000) END
  WHEN regexp_full_match(s.occurred_at, '{_ZONED}')
    THEN TRY_CAST(regexp_replace(regexp_replace(regexp_replace({_TRIMMED},
           '^([0-9/-]{{10}})[t ]', '\1T'), '(?i)\s*(z|utc|gmt)$', '+00:00'), '\s+([+-])', '\1') AS TIMESTAMPTZ)
  WHEN regexp_full_match(s.occurred_at, '{_ZONELESS}')
    THEN timezone($source_tz, TRY_CAST(upper({_TRIMMED}) AS TIMESTAMP))
END"""

_KIND = """
CASE
  WHEN jtype IS DISTINCT FROM 'OBJECT' THEN NULL
  WHEN $kind IS NOT NULL THEN $kind
  WHEN list_contains(keys[1], 'action') AND list_contains(keys[1], 'entity') THEN 'audit'
  WHEN list_contains(keys[1], 'event') AND list_contains(keys[1], 'user') THEN 'access'
  WHEN list_contains(keys[1], 'action') THEN 'audit'
  WHEN list_contains(keys[1], 'event') THEN 'access'
END"""

# Free-form values up to this size, and nested no deeper than MAX_DEPTH, are searched for
# repeated keys in SQL (repeated_key); records holding larger ones go to the strict parser.
SEARCHED_BYTES = 1 << 16


def _brackets(text: str) -> str:
    """SQL: how many brackets open in `text` (replace() is ~17x faster than translate())."""
    return f"strlen({text}) - strlen(replace(replace({text}, '[', ''), '{{', ''))"


# Lines the strict parser must see: literals and trailing commas DuckDB tolerates, enough
# brackets to nest deeper than MAX_DEPTH, and text too large to search for repeated keys.
def suspect(text: str, brackets: int = MAX_DEPTH) -> str:
    """SQL: the JSON `text` holds what only the strict parser can judge."""
    return f"""
contains({text}, 'NaN') OR contains({text}, 'Infinity') OR regexp_matches({text}, ',\\s*[\\]}}]')
  OR {_brackets(text)} > {brackets} OR strlen({text}) > {SEARCHED_BYTES}"""


_SUSPECT = suspect("text")


def repeated_key(value: str) -> str:
    """SQL: the JSON `value` (free-form: `changes`, `related`) has an object, at any depth, that
    names a key twice. DuckDB's parse keeps both, and who-changed would have shown the last.
    (~1 us a record for Fluent's `changes` and `related`: each JSON function parses again.)"""
    every = f"list_prepend({value}, json_extract({value}, '$..*'))"  # the value and all within it
    keys = f"list_transform({every}, lambda v: json_keys(v))"
    found = f"coalesce(list_bool_or(list_transform({keys}, lambda ks: len(ks) <> len(list_distinct(ks)))), false)"
    # '$..*' copies each level's text: deep or large values are left to the strict parser (suspect)
    text = f"{value}::VARCHAR"
    return (f"CASE WHEN strlen({text}) <= {SEARCHED_BYTES} AND {_brackets(text)} <= {MAX_DEPTH} "
            f"THEN {found} ELSE false END")


# Checks per stream: (condition that fails, reason).
_CHECKS = {
    "audit": (
        ("NOT {p[s.action]}", "missing_field:action"),
        ("NOT ({p[s.actor.email]} OR {p[s.actor.id]})", "missing_field:actor"),
        ("NOT ({p[s.entity.type]} OR {p[s.entity.id]})", "missing_field:entity"),
        ("NOT {p[s.entity.type]}", "missing_field:entity.type"),
        ("NOT {p[s.entity.id]}", "missing_field:entity.id"),
    ),
    "access": (
        ("NOT {p[s.event]}", "missing_field:event"),
        ("NOT ({p[s.user.email]} OR {p[s.user.id]})", "missing_field:user"),
    ),
}


class _Present(dict):
    """`{p[s.x]}` in a check: the field holds more than whitespace."""

    def __missing__(self, expr: str) -> str:
        # regexp_full_match is ~30x faster than trim() in DuckDB (measured).
        return f"NOT regexp_full_match(coalesce({expr}, ''), '\\s*')"


def _sql_list(items) -> str:
    return "[" + ", ".join(f"'{i}'" for i in items) + "]"


class Judge:
    """SQL for judging records of the given streams."""

    def __init__(self, streams: tuple[str, ...]) -> None:
        self.streams = streams
        self.top = tuple(dict.fromkeys(f for s in streams for f in TOP[s]))
        self.nested = tuple(f for f in self.top if f in NESTED)
        self.key_paths = _sql_list(["$"] + [f"$.{name}" for name in self.nested])
        self.key_index = {name: i + 2 for i, name in enumerate(self.nested)}  # DuckDB lists are 1-based

    def spec(self) -> str:
        """The from_json structure: scalars as text, known objects as structs, free form as JSON."""
        def field(name: str) -> str:
            if name in NESTED:
                return f'"{name}":{{' + ",".join(f'"{f}":"VARCHAR"' for f in NESTED[name]) + "}"
            return f'"{name}":"JSON"' if name in FREE_FORM else f'"{name}":"VARCHAR"'
        return "{" + ",".join(field(name) for name in self.top) + "}"

    def duplicates(self) -> str:
        """True when some key list names a key twice.

        list_unique() costs ~0.7 us a call, a third of the whole judging if run on every
        object. A list can only hold a repeat if it is longer than the number of fields
        the struct parse found, so the exact check runs only there (repeats, explicit
        nulls and unknown keys: all rare)."""
        def check(index: int, struct: str, fields: tuple[str, ...]) -> str:
            keys = f"keys[{index}]"
            found = " + ".join(f"({struct}.{f} IS NOT NULL)::INTEGER" for f in fields)
            return (f"CASE WHEN len(coalesce({keys}, [])) > {found} "
                    f"THEN list_unique({keys}) <> len({keys}) ELSE false END")
        parts = [check(1, "s", self.top)]
        parts += [check(self.key_index[n], f"s.{n}", NESTED[n]) for n in self.nested]
        parts += [repeated_key(f"s.{n}") for n in FREE_FORM if n in self.top]
        return " OR ".join(parts)

    def nested_types(self) -> str:
        """The JSON types of the known objects (actor, entity, ...), parsed again only for a record
        where one of them has no keys: an empty object, null, or a value that is not an object
        ("location": "Lagos, NG"), which the struct parse would have made an empty struct."""
        empty = " OR ".join(f"keys[{self.key_index[n]}] = []" for n in self.nested)
        paths = _sql_list(f"$.{n}" for n in self.nested)
        return f"CASE WHEN {empty} THEN TRY(json_type(text, {paths})) END"

    def _not_objects(self) -> str:
        """Checks: a known object given as something else is invalid_field:<name>."""
        return "\n".join(
            f"  WHEN kind = '{stream}' AND nested_types[{i + 1}] NOT IN ('OBJECT', 'NULL') THEN 'invalid_field:{n}'"
            for stream in self.streams for i, n in enumerate(self.nested) if n in TOP[stream])

    def reason(self, from_text: bool = True) -> str:
        """The reason a record is rejected, or NULL. The first failing check wins.
        `from_text=False`: the record's fields came typed (Parquet columns, columnar.py), so
        there is no text to be malformed, no key list and a kind known from the columns."""
        p = _Present()
        stream_checks = "\n".join(f"  WHEN kind = '{stream}' AND {cond.format(p=p)} THEN '{reason}'"
                                  for stream in self.streams for cond, reason in _CHECKS[stream])
        text_checks = f"""
  WHEN not_utf8 THEN 'invalid_utf8'
  WHEN NOT valid THEN 'malformed_json'
  WHEN jtype <> 'OBJECT' THEN 'not_an_object'
  WHEN {self.duplicates()} THEN 'duplicate_key'
  WHEN kind IS NULL THEN 'unknown_record_type'""" if from_text else ""
        nested = "\n" + self._not_objects() if from_text else ""
        # a number with a fraction or exponent, read as a double: 9007199254740993.0 became ...992.0
        decimal_id = "\n  WHEN id_type = 'DOUBLE' THEN 'invalid_field:id'" if from_text else ""
        return f"""
CASE{text_checks}
  WHEN NOT {p['s.id']} THEN 'missing_field:id'
  WHEN left(s.id, 1) IN ('{{', '[') THEN 'invalid_field:id'{decimal_id}
  WHEN NOT {p['s.occurred_at']} THEN 'missing_field:occurred_at'
  WHEN ts IS NULL OR ts < TIMESTAMPTZ '1990-01-01 00:00:00+00' OR ts >= TIMESTAMPTZ '2100-01-01 00:00:00+00'
    THEN 'bad_timestamp'{nested}
{stream_checks}
END"""

    def unknown(self) -> str:
        """The record's unknown field names (`department`, `actor.team`), for its kind."""
        def of(stream: str) -> str:
            parts = [f"list_filter(keys[1], lambda k: NOT list_contains({_sql_list(TOP[stream])}, k))"]
            for name in (n for n in TOP[stream] if n in NESTED):
                parts.append(
                    f"list_transform(list_filter(coalesce(keys[{self.key_index[name]}], []), "
                    f"lambda k: NOT list_contains({_sql_list(NESTED[name])}, k)), lambda k: '{name}.' || k)")
            return "list_concat(" + ", ".join(parts) + ")"
        whens = "\n".join(f"  WHEN '{stream}' THEN {of(stream)}" for stream in self.streams)
        return f"CASE kind\n{whens}\nEND"

    def keep_raw(self) -> str:
        """The original text is kept when the typed columns cannot hold the record exactly."""
        condition = "len(unknown) > 0"
        if "access" in self.streams:
            condition += (" OR (kind = 'access' AND ("
                          "(s.location.lat IS NOT NULL AND TRY_CAST(s.location.lat AS DOUBLE) IS NULL) OR "
                          "(s.location.lon IS NOT NULL AND TRY_CAST(s.location.lon AS DOUBLE) IS NULL)))")
        return condition

    def pipeline(self, source: str, keep_text: bool) -> str:
        """CTEs ending in `judged`: line_no, kind, reason, suspect, unknown, s (the typed
        struct), ts, keep_raw (and text when asked).

        Two parses per record: the key lists (NULL when the text is not valid JSON) and
        the typed struct. DuckDB may hoist a repeated expression out of a CASE and run it
        on every row, so a JSON function that can throw appears only inside TRY(). The
        MATERIALIZED CTE keeps the parses from being repeated (measured 1.5x faster)."""
        text = "text, " if keep_text else ""
        return f"""
WITH parsed AS MATERIALIZED (
  SELECT line_no, {text}
         text IS NULL AS not_utf8,
         regexp_matches(text, '^[ \\t\\r\\n]*[{{]') AS object_text,
         TRY(json_keys(text, {self.key_paths})) AS keys,
         TRY(from_json(text, '{self.spec()}')) AS s,
         {self.nested_types()} AS nested_types,
         CASE WHEN regexp_matches(struct_extract(s, 'id'), '^-?[0-9]+[.eE]')
              THEN TRY(json_type(text, '$.id')) END AS id_type,  -- a decimal number's text is not its own
         {_SUSPECT} AS suspect_text
  FROM {source}
  WHERE text IS NULL OR NOT regexp_full_match(text, '[ \\t\\r\\n]*')  -- blank: JSON whitespace only
), shaped AS (
  SELECT *, keys IS NOT NULL AS valid,
         CASE WHEN keys IS NULL THEN NULL WHEN object_text THEN 'OBJECT' ELSE 'OTHER' END AS jtype
  FROM parsed
), kinded AS (
  SELECT *, {_KIND} AS kind, {_TIME} AS ts FROM shaped
), judged AS (
  SELECT *, {self.keep_raw()} AS keep_raw
  FROM (SELECT *, {self.reason()} AS reason, jtype = 'OBJECT' AND suspect_text AS suspect,
               {self.unknown()} AS unknown
        FROM kinded)
)"""

    def typed_pipeline(self, struct: str, texts: str, source: str, where: str, suspect: str) -> str:
        """CTEs ending in `judged` (line_no, kind, s, ts, suspect, reason) for records whose
        fields are columns already: `struct` builds each row's `s` from them, `texts` joins
        the texts of `s`, and `suspect` reads both, each computed once per row (checks written
        over the columns made each JSON field again for every use: 1.6x slower)."""
        (stream,) = self.streams
        return f"""
WITH kinded AS (
  SELECT * EXCLUDE (texts), {_TIME} AS ts, {suspect} AS suspect
  FROM (SELECT *, {texts} AS texts
        FROM (SELECT line_no, {struct} AS s, '{stream}' AS kind FROM {source} WHERE {where}))
), judged AS (
  SELECT *, {self.reason(from_text=False)} AS reason, false AS keep_raw FROM kinded
)"""


BOTH = Judge(("audit", "access"))
EACH = {stream: Judge((stream,)) for stream in TOP}
