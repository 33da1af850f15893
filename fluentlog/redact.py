"""Minimum necessary: PHI field values shown as [redacted], and a role's masked columns.

A change whose field name matches a PHI pattern (patient*, *dob*, ...) keeps its name and
the fact that it changed; only the values go. A role's `mask` hides whole columns: an IP
keeps its /24 (IPv4) or /48 (IPv6) network, a user agent is dropped.
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


@dataclass(frozen=True)
class Redactor:
    patterns: tuple[str, ...] = ()
    reveal: bool = False  # the operator may see PHI and gave a reason
    mask: tuple[str, ...] = ()  # "ip", "user_agent"

    def is_phi(self, field: str | None) -> bool:
        return _matches_any((field or "").lower(), self.patterns)

    def changes(self, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.reveal:
            return changes
        return [{**c, "from": self._value(c["field"], c["from"]), "to": self._value(c["field"], c["to"])}
                for c in changes]

    def changes_json(self, text: str | None) -> str | None:
        """The stored `changes` JSON with PHI values replaced (for row-level use)."""
        if not text or self.reveal:
            return text
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            return text
        if not isinstance(parsed, dict):
            return text
        out = {}
        for field, value in parsed.items():
            if isinstance(value, dict) and ("from" in value or "to" in value):
                out[field] = {**value, "from": self._value(field, value.get("from")),
                              "to": self._value(field, value.get("to"))}
            else:
                out[field] = self._value(field, value)
        return json.dumps(out)

    def _value(self, field: str | None, value: Any) -> Any:
        if value is None:
            return None
        if field is not None and self.is_phi(field):
            return REDACTED
        if isinstance(value, dict):
            return {k: (REDACTED if self.is_phi(k) and v is not None else self._value(None, v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(None, v) for v in value]
        return value

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        """A result row with its masked columns (ip, user_agent) and PHI in `changes` hidden."""
        out = dict(row)
        if "changes" in out and isinstance(out["changes"], str):
            out["changes"] = self.changes_json(out["changes"])
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


def mask_ip(value: str) -> str:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return MASKED
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{value}/{prefix}", strict=False))


@functools.lru_cache(maxsize=4096)
def _matches_any(name: str, patterns: tuple[str, ...]) -> bool:
    """Field names repeat across thousands of events: each is matched against the patterns once."""
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)
