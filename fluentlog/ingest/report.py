"""What an ingest did, file by file: the LoadReport and its stable JSON shape."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from fluentlog import schema
from fluentlog.view import Section, View

COUNTS = ("records", "inserted", "duplicates", "conflicts", "rejected")


@dataclass
class FileReport:
    path: str
    sha256: str | None = None
    status: str = "ingested"  # ingested | already_ingested | failed
    format: str | None = None
    records: int = 0
    blank: int = 0
    inserted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    new_fields: Counter[str] = field(default_factory=Counter)
    error: str | None = None
    note: str | None = None  # e.g. "already ingested at ... by ..." or "0 records"
    ledger_head: str | None = None  # the ledger's head hash after this file
    source: str | None = None  # which source's format the records were read as
    source_detected: bool = False  # judged from the records (no --source)

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())

    def discard_counts(self) -> None:
        """A failed or skipped file stored nothing: its counts must not claim otherwise."""
        self.records = self.blank = self.inserted = self.duplicates = self.conflicts = 0
        self.rejected_by_reason.clear()
        self.new_fields.clear()

    def document(self) -> dict[str, Any]:
        return {
            "path": self.path, "sha256": self.sha256, "status": self.status, "source": self.source,
            "records": self.records, "inserted": self.inserted, "duplicates": self.duplicates,
            "conflicts": self.conflicts, "rejected": self.rejected,
            "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
            "new_fields": dict(sorted(self.new_fields.items())),
            "error": self.error, "note": self.note,
        }


@dataclass
class LoadReport:
    files: list[FileReport] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files in the given folders not read (suffix)

    @property
    def failed(self) -> bool:
        return any(f.status == "failed" for f in self.files)

    def totals(self) -> dict[str, int]:
        return {name: sum(getattr(f, name) for f in self.files) for name in COUNTS}

    @property
    def ledger_head(self) -> str | None:
        heads = [f.ledger_head for f in self.files if f.ledger_head]
        return heads[-1] if heads else None

    def document(self) -> dict[str, Any]:
        return {"files": [f.document() for f in self.files], "totals": self.totals(),
                "ledger_head": self.ledger_head, "skipped": self.skipped}


def report_view(report: LoadReport) -> View:
    rows = report.files
    totals = report.totals()

    def counts(name: str) -> pa.Array:
        return pa.array([getattr(f, name) for f in rows] + [totals[name]], pa.int64())

    table = pa.table({
        "file": [Path(f.path).name for f in rows] + ["total"],
        **{name: counts(name) for name in COUNTS},
        "status": [f.status for f in rows] + [""],
    })
    sections = [Section(table, title="Ingest")]
    reasons = [(Path(f.path).name, reason, n) for f in rows for reason, n in sorted(f.rejected_by_reason.items())]
    if reasons:
        sections.append(Section(pa.table({
            "file": [r[0] for r in reasons], "reason": [r[1] for r in reasons],
            "rejected": pa.array([r[2] for r in reasons], pa.int64())}), title="Rejected records by reason"))
    failures = [f"{f.path}: failed: {f.error}" for f in rows if f.error]
    if report.skipped:
        more = len(report.skipped) - 5
        shown = ", ".join(report.skipped[:5]) + (f" and {more} more" if more > 0 else "")
        failures.append(f"skipped {len(report.skipped)} file(s) not named like exports in the folders given "
                        f"(.jsonl, .json, .parquet, .yml, optionally .gz), inside an ingest's spill folder "
                        f"(*{schema.SPILL_FOLDER_SUFFIX}) or fluentlog's own beside a database "
                        f"(*{schema.ACCESS_LOG_SUFFIX}, *{schema.LOCK_NOTE_SUFFIX}, never read): {shown}; "
                        "name an export on the command line to ingest it")
    return View(report.document(), sections, _notes(report), warnings=failures)


def _notes(report: LoadReport) -> list[str]:
    notes = []
    for f in report.files:
        if f.source_detected and f.source and f.source != "fluent" and f.status != "failed":
            notes.append(f"{f.path}: read as source {f.source} (detected from its records; "
                         f"`fluentlog sources show {f.source}` prints the mapping)")
        if f.records and f.rejected == f.records and f.source and f.source != "fluent":
            notes.append(f"{f.path}: none of its records fit source {f.source}: is it the right --source? "
                         "(fluentlog sources lists them)")
        if f.note and not f.error:
            notes.append(f"{f.path}: {f.note}")
        if f.new_fields:
            fields = ", ".join(f"{k} ({v})" for k, v in sorted(f.new_fields.items()))
            notes.append(f"{f.path}: fields fluentlog does not know, kept with the record: {fields}")
        if f.conflicts:
            notes.append(f"{f.path}: {f.conflicts} event id(s) already stored with different content: "
                         "not inserted, both versions kept in table `conflicts`")
    if report.totals()["rejected"]:
        notes.append("Rejected records are kept in the database (table `rejects`) with file, line, "
                     "byte offset, reason and original text.")
    return notes
