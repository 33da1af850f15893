"""The strict JSON check for the few lines DuckDB's lenient parser lets through.

DuckDB accepts NaN, Infinity, trailing commas and duplicate keys; an auditor's
tool must not. Only lines the SQL flags as suspect come here.
"""

from __future__ import annotations

import json
from typing import Any

from fluentlog.ingest.judge import MAX_DEPTH


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateKey
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_strict(text: str) -> tuple[Any, str | None]:
    """(value, None), or (None, the reject reason): no NaN or Infinity, no repeated keys."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants), None
    except _DuplicateKey:
        return None, "duplicate_key"
    except RecursionError:
        return None, "nesting_too_deep"
    except ValueError:
        return None, "malformed_json"


def strict_reason(text: str) -> str | None:
    """The reject reason for a line that strict JSON refuses, else None."""
    if _depth(text) > MAX_DEPTH:
        return "nesting_too_deep"
    return parse_strict(text)[1]


def _depth(text: str) -> int:
    """Deepest bracket nesting outside strings (a scan, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest
