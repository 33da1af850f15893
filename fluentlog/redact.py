"""Minimum necessary: PHI field values shown as [redacted], and a role's masked columns.

A field whose name matches a PHI pattern (patient*, *dob*, ...) keeps its name and the fact
that it changed; only the values go — wherever the name appears in the free-form JSON of
`changes` and `related`: as a key at any depth, or as the value of a naming key ("field",
"name", "path", ...: NAMING_KEYS) in an object such as {"field": "notes", "from": ..., "to": ...}.
A role's `mask` hides whole columns: an IP keeps its /24 (IPv4) or /48 (IPv6) network, a user
agent is dropped.
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

REDACTED = "[redacted]"
MASKED = "[masked]"
_IPV4 = re.compile(r"\b(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}\b")
# Columns holding free-form JSON, in which PHI field names are looked for.
FREE_FORM = ("changes", "related")
# Keys whose value names the field an object is about: {"field": "notes", "from": ..., "to": ...},
# a JSON Patch {"op": ..., "path": "/notes", "value": ...}, Entra's {"displayName": "DateOfBirth",
# "oldValue": ...}, Google Workspace's parameters {"name": "diagnosis", "value": ...}, {"key": ...}.
NAMING_KEYS = ("field", "name", "key", "path", "displayName", "property", "attribute", "parameter")


@dataclass(frozen=True)
class Redactor:
    patterns: tuple[str, ...] = ()
    reveal: bool = False  # the operator may see PHI and gave a reason
    mask: tuple[str, ...] = ()  # "ip", "user_agent"

    def is_phi(self, field: Any) -> bool:
        return isinstance(field, str) and _matches_any(field, self.patterns)

    def changes(self, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """[{field, from, to}] (as common.changes_of gives them) with PHI values hidden."""
        if self.reveal:
            return changes
        return [{**c, "from": self.value(c["from"], self.is_phi(c["field"])),
                 "to": self.value(c["to"], self.is_phi(c["field"]))} for c in changes]

    def json_text(self, text: str | None) -> str | None:
        """Stored free-form JSON (`changes`, `related`) with PHI values replaced."""
        if not text or self.reveal:
            return text
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            return text  # not JSON: no field names to go by
        try:
            hidden = self.value(parsed)
        except RecursionError:  # nested too deep to look through: nothing of it is shown
            return json.dumps(REDACTED)
        return text if hidden == parsed else json.dumps(hidden, ensure_ascii=False)

    def value(self, value: Any, phi: bool = False) -> Any:
        """A JSON value with PHI hidden; `phi`: the value of a PHI field, hidden whole."""
        if value is None:
            return None
        if phi:
            return _hidden(value)
        if isinstance(value, dict):
            if any(self.is_phi(value.get(k)) for k in NAMING_KEYS):
                return {k: v if k in NAMING_KEYS else _hidden(v) for k, v in value.items()}
            return {k: self.value(v, self.is_phi(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        """A result row with its masked columns (ip, user_agent) and PHI in `changes` and
        `related` hidden."""
        out = dict(row)
        for column in FREE_FORM:
            if isinstance(out.get(column), str):
                out[column] = self.json_text(out[column])
        if "ip" in self.mask and out.get("ip"):
            out["ip"] = mask_ip(out["ip"])
        if "ip" in self.mask and isinstance(out.get("detail"), str):
            out["detail"] = _IPV4.sub(lambda m: m.group(1) + ".0/24", out["detail"])
        if "user_agent" in self.mask and out.get("user_agent"):
            out["user_agent"] = MASKED
        return out

    def rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return rows if self.inactive else [self.row(r) for r in rows]

    @property
    def inactive(self) -> bool:
        return (self.reveal or not self.patterns) and not self.mask


def _hidden(value: Any) -> Any:
    """A PHI field's value: [redacted], or for a {"from": ..., "to": ...} change its keys with
    each value [redacted], so that the fact that it changed stays visible. NULL stays NULL."""
    if value is None:
        return None
    if isinstance(value, dict) and ("from" in value or "to" in value):
        return {k: None if v is None else REDACTED for k, v in value.items()}
    return REDACTED


def mask_ip(value: str) -> str:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return MASKED
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{value}/{prefix}", strict=False))


# A field name this long is no real field's: rather than search it word by word, it is hidden.
LONGEST_NAME = 256
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[\W_]+")


def words(name: str) -> list[str]:
    """A field name's words, lower case: `dateOfBirth`, `Date-Of-Birth` and ` date of birth `
    are all date, of, birth."""
    return [w for w in _SEPARATORS.split(_CAMEL.sub("_", name.strip()).lower()) if w]


@functools.lru_cache(maxsize=4096)
def _matches_any(name: str, patterns: tuple[str, ...]) -> bool:
    """Field names repeat across thousands of events: each is matched against the patterns once.

    A pattern matches the name as written (lower-cased), or a run of its whole words
    (`notes` matches internal_notes, `ssn` ssn_last4, `date_of_birth` dateOfBirth), or all of
    its words written together (`date_of_birth` matches DATEOFBIRTH)."""
    if not patterns:
        return False
    if len(name) > LONGEST_NAME:
        return True
    lowered, parts = name.lower(), words(name)
    snake, joined = "_".join(parts), "".join(parts)
    return any(fnmatch.fnmatchcase(lowered, p) or _word_runs(p).search(snake) is not None
               or _run_together(p).fullmatch(joined) is not None for p in patterns)


@functools.lru_cache(maxsize=256)
def _word_runs(pattern: str) -> re.Pattern[str]:
    """The pattern, its words joined by _, matching whole words of a snake_case name."""
    return re.compile(r"(?:^|_)" + _glob("_".join(_pattern_words(pattern))) + r"(?:_|$)")


@functools.lru_cache(maxsize=256)
def _run_together(pattern: str) -> re.Pattern[str]:
    return re.compile(_glob("".join(_pattern_words(pattern))))


def _pattern_words(pattern: str) -> list[str]:
    """A pattern's words, split where it has spaces, -, . or _ (a pattern with a [class] is
    taken as written)."""
    pattern = pattern.strip().lower()
    return [pattern] if "[" in pattern else [w for w in re.split(r"[\s\-._]+", pattern) if w]


def _glob(pattern: str) -> str:
    """A glob (*, ?, [abc], [!a-z]) as a regular expression without anchors."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        end = pattern.find("]", i + 2) if char == "[" else -1
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif end > 0:
            body = pattern[i + 1:end].replace("\\", "\\\\")
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)
