"""What a command hands to the renderer: a JSON document plus tables for people.

Kept free of rich and typer so the core can build views without the CLI stack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the --help path must not pay for importing pyarrow
    import pyarrow as pa


@dataclass
class Section:
    table: pa.Table
    title: str | None = None
    caption: str | None = None
    row_styles: list[str | None] | None = None  # e.g. failures in red


@dataclass
class View:
    document: Any  # the stable JSON shape; a list becomes one JSON Lines record per item
    sections: list[Section] = field(default_factory=list)  # table view; csv writes the first
    notes: list[str] = field(default_factory=list)  # for people, on stderr in table view
    warnings: list[str] = field(default_factory=list)  # on stderr whatever the format
    csv: pa.Table | None = None  # what --format csv writes, when not the first section
    # For long answers: builds (sections, csv) when a table or CSV is asked for, so JSON output
    # does not pay for them (a few thousand rows: ~40 ms).
    tables: Callable[[], tuple[list[Section], pa.Table | None]] | None = field(default=None, repr=False)

    def built(self) -> View:
        """This view with its sections and csv built."""
        if self.tables is not None:
            self.sections, self.csv = self.tables()
            self.tables = None
        return self


def jsonable(value: Any) -> Any:
    """JSON-ready values: times as UTC ISO 8601 with Z, containers recursively."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        text = value.astimezone(UTC).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise_formula(value: Any) -> Any:
    """A spreadsheet must not run a log value as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
