"""Views of the sources for `fluentlog sources` and `fluentlog sources show NAME`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from fluentlog.sources.mapping import FIELDS, Source
from fluentlog.view import Section, View


def list_view(sources: Mapping[str, Source]) -> View:
    rows = [{"name": s.name, "kind": "built-in" if s.builtin else "config", "description": s.description,
             "detected_by": " or ".join("+".join(p.text for p in key_set) for key_set in s.detect)}
            for s in sources.values()]
    table = pa.table({key: [r[key] for r in rows] for key in ("name", "kind", "description", "detected_by")})
    return View(rows, [Section(table, title="Sources")],
                notes=["Without --source, ingest reads each file as the one source whose fields its records have.",
                       "fluentlog sources show NAME prints a mapping; docs/sources.md explains the vocabulary."])


def show_view(source: Source) -> View:
    lines = [(key, toml_value(value)) for key, value in source.table.items()]
    table = pa.table({"key": [k for k, _ in lines], "value": [v for _, v in lines]})
    doc = {"name": source.name, "kind": "built-in" if source.builtin else "config",
           "description": source.description, "mapping": source.table}
    unmapped = [f for f in FIELDS if f not in source.table]
    notes = [f"Not mapped (left empty): {', '.join(unmapped)}"] if unmapped else []
    if source.builtin and not source.native:
        notes.append(f"To adapt it, copy these keys into your config under [sources.my_{source.name}] "
                     "and ingest with --source my_" + source.name)
    return View(doc, [Section(table, title=f"Source {source.name}: {source.description}")], notes=notes)


def toml_value(value: Any) -> str:
    """A TOML rendering of a mapping value, as one would write it in a config."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def markdown_maps(sources: Mapping[str, Source]) -> str:
    """The field map of each source as Markdown tables (docs/sources.md holds those of the presets)."""
    parts = []
    for source in sources.values():
        rows = "".join(f"| `{key}` | `{toml_value(value)}` |\n" for key, value in source.table.items()
                       if key != "description")
        parts.append(f"### `{source.name}` — {source.description}\n\n| key | value |\n|---|---|\n{rows}")
    return "\n".join(parts)
