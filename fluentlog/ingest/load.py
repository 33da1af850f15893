"""Ingest files into the store: one transaction per file, every record accounted for.

Each non-blank record ends as exactly one of inserted, duplicate, conflict or
rejected. A file that cannot be read fails alone and leaves nothing behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from fluentlog import entity_index, ledger
from fluentlog.errors import DatabaseBusy, FluentlogError, StoreError
from fluentlog.ingest import columnar, sql
from fluentlog.ingest.files import (
    BATCH_BYTES,
    CHUNK_BYTES,
    ROW_GROUP_LINES,
    Chunk,
    FileFault,
    HashingReader,
    JsonLinesReader,
    batched,
    prefetch,
    sha256_of,
)
from fluentlog.ingest.report import COUNTS, FileReport, LoadReport
from fluentlog.ingest.sniff import sniff
from fluentlog.ingest.strict import strict_reason
from fluentlog.ingest.whole import parquet_chunk_sql, unreadable, verified_sha256, verify_parquet_pages
from fluentlog.sources import detect, presets, read
from fluentlog.sources.mapping import Source
from fluentlog.sources.translate import Rejected, translate
from fluentlog.store import Store

Progress = Callable[[int], None]


@dataclass(frozen=True)
class IngestOptions:
    operator: str
    kind: str | None = None  # force every record to "audit" or "access"
    strict: bool = False
    source_timezone: str = "UTC"
    source: Source | None = None  # None: judged per file from its first records
    sources: Mapping[str, Source] = field(default_factory=presets)  # what detection may choose from


FOREIGN_BATCH = 20_000  # records mapped in Python per batch handed to the SQL
# JSON-array and Parquet records judged per statement: two row groups, at most a chunk's bytes.
MATERIALISED_SLICE = 2 * ROW_GROUP_LINES
MATERIALISED_SLICE_BYTES = CHUNK_BYTES
SMALL_RECORD = BATCH_BYTES // 2048  # records up to this size on average are judged in place
# Events wait in spill files until a sort unit can be stored in (person, time) order (sql.py):
# eight row groups (four chunks of lines), or the records of about five chunks' bytes,
# whichever comes first.
SORT_UNIT_ROWS = 4 * MATERIALISED_SLICE
SORT_UNIT_BYTES = 5 * CHUNK_BYTES


class _Skip(Exception):
    """Abandon this file's transaction; the FileReport says why."""


def ingest(store: Store, files: list[Path], options: IngestOptions,
           progress: Callable[[Path, int, int], None] | None = None) -> LoadReport:
    """Ingest files (see files.expand for turning paths, directories and globs into files)."""
    report = LoadReport()
    _prepare(store.scratch)
    try:
        for path in files:
            file_progress = (lambda done, p=path: progress(p, done, p.stat().st_size)) if progress else None
            report.files.append(ingest_file(store, path, options, file_progress))
    finally:
        _clear(store.scratch)
    return report


_MOVE_IT = "move it away (the database needs that name for its ingest spill folder)"


def check_spill_folder(scratch: Path) -> None:
    """Refuse what stands in the spill folder's place: a file, a link, another account's
    folder. Touches nothing, so the ingest command asks before it makes the database."""
    if scratch.is_symlink() or (scratch.exists() and not scratch.is_dir()):
        raise StoreError(f"{scratch} is in the way: it is not the folder fluentlog sorts events in",
                         hint=_MOVE_IT)
    try:
        owner = scratch.stat().st_uid
    except OSError:
        return  # absent (or unreadable: making it will say why)
    if owner != os.geteuid():
        raise StoreError(f"{scratch} belongs to another account; fluentlog will not write events into it",
                         hint=_MOVE_IT)


def _prepare(scratch: Path) -> None:
    """An empty spill folder of our own (mode 0700): what a killed run left is cleared; a
    folder someone else made there, or a link to one, is refused rather than written to."""
    check_spill_folder(scratch)
    _clear(scratch)
    try:
        scratch.mkdir(mode=0o700, exist_ok=True)
        check_spill_folder(scratch)  # made by someone else between the two
        scratch.chmod(0o700)
    except OSError as exc:
        raise StoreError(f"cannot create {scratch}, the folder beside the database where an ingest sorts "
                         f"events: {exc.strerror or exc}",
                         hint="the database's folder must be writable by you") from None


def _clear(scratch: Path) -> None:
    """Remove the spill files and their folder."""
    if scratch.is_symlink():
        return
    for path in scratch.glob("*.parquet"):
        path.unlink(missing_ok=True)
    try:
        scratch.rmdir()
    except OSError:  # absent, or holds what fluentlog did not put there
        pass


def same_values(incoming: str, stored: str) -> bool:
    """Two events' content (JSON) are the same values: the keys of an object in another order
    ({"a": .., "b": ..} and {"b": .., "a": ..} inside `changes`, or in `raw`) are no conflict.
    Numbers and literals compare as written: 1 and 1.0, or 1 and true, stay a conflict."""
    def canonical(text: str) -> Any:
        number = lambda written: ("number", written)  # noqa: E731 - kept as written, never equal to a text
        return json.loads(text, parse_int=number, parse_float=number,
                          object_pairs_hook=lambda pairs: ("object", tuple(sorted(pairs, key=lambda kv: kv[0]))))
    return canonical(incoming) == canonical(stored)


def ingest_file(store: Store, path: Path, options: IngestOptions,
                progress: Progress | None = None) -> FileReport:
    report = FileReport(path=str(path))
    try:
        size = path.stat().st_size
        report.format, gzipped = _describe(sniff(path))
        source = options.source or detect.choose(path, report.format, options.sources)
        report.source, report.source_detected = source.name, options.source is None
        if source.native and report.format.startswith("yaml"):
            raise FileFault("YAML is not a Fluent export format; for another system's export name it "
                            "with --source (see `fluentlog sources`)")
        if store.scalar(sql.FILES_OF_SIZE, {"size": size}):
            report.sha256 = sha256_of(path)
            _skip_if_known(store, report)
        with store.transaction():
            file_id = store.scalar(sql.NEXT_FILE_ID)
            loader = _FileLoader(store, file_id, options, report, source)
            if source.native:
                report.sha256, content_sha256 = loader.load(path, report.format, gzipped, progress)
            else:
                report.sha256, content_sha256 = loader.load_foreign(path, report.format, gzipped)
            _skip_if_known(store, report)
            loader.store_pending()
            loader.reconcile()
            loader.index()
            if options.strict and report.rejected:
                report.status, report.error = "failed", (
                    f"{report.rejected} record(s) rejected and --strict is set: nothing of this file stored")
                raise _Skip
            _record_file(store, file_id, size, options, report)
            report.ledger_head = ledger.append(store, "ingest", {
                "file": {"path": report.path, "sha256": report.sha256, "content_sha256": content_sha256,
                         **{k: getattr(report, k) for k in COUNTS}},
                "files": {str(file_id): ledger.file_digest(store, file_id)}})
    except _Skip:
        report.discard_counts()
    except FileFault as exc:
        report.discard_counts()
        report.status, report.error = "failed", str(exc)
    except DatabaseBusy:
        raise
    except FluentlogError as exc:
        report.discard_counts()
        report.status, report.error = "failed", exc.message
    except OSError as exc:
        report.discard_counts()
        report.status, report.error = "failed", f"cannot read: {exc.strerror or exc}"
    if report.status == "ingested" and report.records == 0:
        report.note = "0 records: the file is empty or holds only blank lines"
    return report


def _describe(sniffed: tuple[str, bool]) -> tuple[str, bool]:
    fmt, gzipped = sniffed
    return (fmt + "+gzip" if gzipped else fmt), gzipped


def _skip_if_known(store: Store, report: FileReport) -> None:
    row = store.rows(sql.FIND_SHA, {"sha": report.sha256})
    if row:
        path, when, who = row[0]
        report.status = "already_ingested"
        report.note = f"already ingested at {when:%Y-%m-%d %H:%M:%S}Z by {who} (as {path})"
        raise _Skip


def _record_file(store: Store, file_id: int, size: int, options: IngestOptions, r: FileReport) -> None:
    store.execute(sql.INSERT_FILE, {
        "file_id": file_id, "path": r.path, "size": size, "sha": r.sha256, "format": r.format,
        "kind": options.kind, "records": r.records, "blank": r.blank, "inserted": r.inserted,
        "duplicates": r.duplicates, "conflicts": r.conflicts, "rejected": r.rejected,
        "by_reason": json.dumps(dict(r.rejected_by_reason)), "new_fields": json.dumps(dict(r.new_fields)),
        "operator": options.operator, "source": r.source,
    })


class _FileLoader:
    """Loads one file's records inside the caller's transaction, updating its FileReport."""

    def __init__(self, store: Store, file_id: int, options: IngestOptions, report: FileReport,
                 source: Source) -> None:
        self.store = store
        self.source = source
        self.file_id = file_id
        self.options = options
        self.report = report
        self.candidates = {"audit": 0, "access": 0}
        self.fast_stream: str | None = options.kind
        self._parse_params = {"source_tz": options.source_timezone, "kind": options.kind}
        self._insert_params = {"file_id": file_id, "source": source.name}
        self._next_seq = store.scalar(sql.NEXT_SEQ)
        # Events not yet stored, per stream: their spill files and count; and the records' bytes
        # they came from (both streams).
        self.pending: dict[str, list[Path]] = {stream: [] for stream in sql.STORE_SPILLED}
        self.pending_rows = {stream: 0 for stream in sql.STORE_SPILLED}
        self.pending_bytes = 0
        self._spills = 0  # the spill folder is made by ingest()

    def load(self, path: Path, fmt: str, gzipped: bool, progress: Progress | None) -> tuple[str, str]:
        """Load the file; its SHA-256, and that of its (decompressed) content."""
        if fmt.startswith("jsonl"):
            with path.open("rb") as fh:
                hashing = HashingReader(fh)
                reader = JsonLinesReader(path, gzipped, hashing, progress)
                for chunk in prefetch(iter(reader)):
                    self._load_chunk(chunk)
                    del chunk  # before the reader may start the next read: two chunks in memory, not three
                return hashing.sha256.hexdigest(), reader.content_sha256.hexdigest()
        digest = verified_sha256(path, gzipped)
        if fmt.startswith("json-array"):
            self._materialise(sql.ARRAY_CHUNK, {"path": str(path),
                                                "compression": "gzip" if gzipped else "none"})
        elif (plan := columnar.plan(path, self.options.kind)) is not None:
            self._load_columns(path, plan)
        else:
            verify_parquet_pages(path)
            self._materialise(parquet_chunk_sql(self.store, path), {"path": str(path)})
        return digest

    def _load_columns(self, path: Path, plan: columnar.Plan) -> None:
        """A Parquet file judged from its columns; the rows that are not plainly clean are
        judged again as JSON text, as whole.py's way would judge them (columnar.py)."""
        params = {"source_tz": self.options.source_timezone}
        for table in columnar.chunks(path):
            self._make_room(table.nbytes)
            with self.store.scanning("columns", table):
                if plan.json_columns and (row := self.store.scalar(plan.bad_json)) is not None:
                    raise FileFault(f"cannot read as parquet: row {row} holds text that is not JSON in a JSON "
                                    f"column ({', '.join(plan.json_columns)})")
                spilled = self._spill(plan.spill, plan.stream, params)
                left = (self.store.query(plan.left, {"spilled": str(self.pending[plan.stream][-1])})
                        if spilled < table.num_rows else None)
            self.candidates[plan.stream] += spilled
            self.report.records += spilled
            del table
            if left is not None:  # its bytes were counted with the chunk's
                self._load_chunk(batched(left), counted=True)

    def load_foreign(self, path: Path, fmt: str, gzipped: bool) -> tuple[str, str]:
        """Load a foreign export: each record mapped to a v1 record in Python, then judged and
        stored like Fluent's own; the stored event and any reject keep the original text."""
        digest = verified_sha256(path, gzipped)
        if fmt.startswith("parquet"):
            verify_parquet_pages(path)
        batch: list[read.Record] = []
        for record in read.records(path, fmt, self.source.records):
            batch.append(record)
            if len(batch) >= FOREIGN_BATCH:
                self._load_foreign_batch(batch)
                batch = []
        if batch:
            self._load_foreign_batch(batch)
        return digest

    def _load_foreign_batch(self, records: list[read.Record]) -> None:
        mapped: list[tuple[int, int | None, str]] = []
        failed: list[tuple[int, int | None, str, bytes, int]] = []
        for r in records:
            reason = r.error
            if reason is None:
                try:
                    mapped.append((r.line_no, r.byte_offset, json.dumps(
                        translate(self.source, r.value, self.options.source_timezone), ensure_ascii=False)))
                    continue
                except Rejected as exc:
                    reason = exc.args[0]
            failed.append((r.line_no, r.byte_offset, reason, r.text, r.length or 0))
        if mapped:
            line_no, byte_offset, raw = zip(*mapped, strict=True)
            self._load_chunk(Chunk(pa.table({"line_no": pa.array(line_no, pa.int64()),
                                             "byte_offset": pa.array(byte_offset, pa.int64()),
                                             "raw": pa.array(raw, pa.string())}), True, []))
            self.store_pending()  # each batch its own unit: its events then take their originals
            originals = pa.table({"line_no": pa.array([r.line_no for r in records], pa.int64()),
                                  "original": pa.array([r.text for r in records], pa.binary())})
            with self.store.scanning("originals", originals):
                for statement in sql.KEEP_ORIGINALS:
                    self.store.execute(statement, {"file_id": self.file_id})
        self._reject_read(failed)

    def _reject_read(self, rejected: list[tuple[int, int | None, str, bytes, int]]) -> None:
        """Store records rejected before the SQL saw them: (line_no, byte_offset, reason, raw, length)."""
        if not rejected:
            return
        line_no, byte_offset, reason, raw, length = zip(*rejected, strict=True)
        table = pa.table({"line_no": pa.array(line_no, pa.int64()), "byte_offset": pa.array(byte_offset, pa.int64()),
                          "reason": pa.array(reason, pa.string()), "raw": pa.array(raw, pa.binary()),
                          "length": pa.array(length, pa.int64())})
        with self.store.scanning("read_rejects", table):
            self.store.execute(sql.INSERT_READ_REJECTS, {"file_id": self.file_id})
        self.report.records += len(rejected)
        self.report.rejected_by_reason.update(reason)

    def _materialise(self, chunk_sql: str, params: dict[str, str]) -> None:
        try:
            self.store.execute(chunk_sql, params)
        except FluentlogError as exc:
            detail = exc.message.removeprefix("database error: ")
            raise FileFault(unreadable(self.report.format, detail)) from None
        # Judged in slices the size of a JSON Lines chunk: bounded memory, and each slice is
        # stored in (person, time) order like a chunk of lines. Small records are read in place;
        # large ones through Arrow batches of bounded bytes (a table scan's vectors hold 2,048
        # records whatever their size).
        for first, last, size in self.store.rows(sql.MATERIALISED_SLICES,
                                                 {"bytes": MATERIALISED_SLICE_BYTES, "rows": MATERIALISED_SLICE}):
            if size <= (last - first + 1) * SMALL_RECORD:
                self._process(sql.lines_of_slice(first, last), truncated_line=None, size=size)
            else:
                self._load_chunk(batched(self.store.query(sql.MATERIALISED_LINES, {"first": first, "last": last})))
        self.store.execute("DROP TABLE materialised")

    def _load_chunk(self, chunk: Chunk, counted: bool = False) -> None:
        size = chunk.table.column("raw").nbytes if chunk.table.num_rows and not counted else 0
        with self.store.scanning("chunk", chunk.table):
            self._process(sql.LINES_FROM_TEXT if chunk.raw_is_text else sql.LINES_FROM_BLOB, chunk.truncated_line,
                          size)
        self._reject_read([(h.line_no, h.byte_offset, "line_too_large", h.head, h.length) for h in chunk.huge])

    def _process(self, lines_sql: str, truncated_line: int | None, size: int) -> None:
        """Fast path for the chunk's clean records of the main kind, slow path for the rest.
        `size`: the chunk's bytes."""
        store, report = self.store, self.report
        self._make_room(size)
        store.execute(lines_sql)
        lines = store.scalar(sql.CHUNK_LINES)
        if not lines:
            return
        if self.fast_stream is None:  # a guess from the first lines; a wrong one only costs time
            self.fast_stream = "access" if store.scalar(sql.LOOKS_LIKE_ACCESS) else "audit"
        fast = self.fast_stream
        inserted = self._fast(sql.FAST_SPILL[fast], fast)
        store.execute(sql.REST_AFTER, {"spilled": str(self.pending[fast][-1])})
        store.execute(sql.REST_LINES)
        left = store.scalar(sql.REST_COUNT)
        if left:  # the other kind's records take a fast path too, judged by their own kind's rules
            other = next(s for s in sql.FAST_SPILL_REST if s != fast)
            taken = self._fast(sql.FAST_SPILL_REST[other], other)
            store.execute(sql.TAKEN, {"spilled": str(self.pending[other][-1])})
            if taken > inserted:  # mostly the other kind: start with it from now on
                self.fast_stream = other
            inserted, left = inserted + taken, left - taken
        staged = 0
        if left:
            store.execute(sql.STAGE, self._parse_params)
            staged = store.scalar(sql.STAGE_COUNT)
        report.records += inserted + staged
        report.blank += lines - inserted - staged
        if staged:
            self._slow_path(truncated_line, inserted)

    def _fast(self, statement: str, stream: str) -> int:
        """Spill the clean records of `stream` (count their unknown fields); how many."""
        spilled = self._spill(statement, stream, self._parse_params)
        self.candidates[stream] += spilled
        if spilled:
            for name, count in self.store.rows(sql.NEW_FIELDS_INSERTED[stream],
                                               {"spilled": str(self.pending[stream][-1])}):
                self.report.new_fields[name] += count
        return spilled

    def _slow_path(self, truncated_line: int | None, fast_inserted: int) -> None:
        store, report = self.store, self.report
        self._apply_strict_checks()
        if truncated_line is not None:
            store.execute(sql.MARK_TRUNCATED, {"line_no": truncated_line})
        store.execute(sql.INSERT_REJECTS, {"file_id": self.file_id})
        for reason, count in store.rows(sql.REJECT_COUNTS):
            report.rejected_by_reason[reason] += count
        for name, count in store.rows(sql.NEW_FIELDS):
            report.new_fields[name] += count
        for stream, count in store.rows(sql.KIND_COUNTS):
            self._spill(sql.STAGED_SPILL[stream], stream)
            self.candidates[stream] += count
            if count > fast_inserted:  # this file is mostly the other kind: switch fast paths
                self.fast_stream = stream

    def _spill(self, statement: str, stream: str, extra: dict[str, Any] | None = None) -> int:
        """Run a COPY of `stream` events to a new spill file of the pending unit; their count."""
        self._spills += 1
        path = self.store.scratch / f"{stream}-{self.file_id}-{self._spills}.parquet"
        self.pending[stream].append(path)
        count = self.store.scalar(statement, {**(extra or {}), **self._insert_params, "path": str(path)})
        self.pending_rows[stream] += count
        return count

    def _make_room(self, size: int) -> None:
        """Before judging `size` more bytes of records, store every full sort unit."""
        full = self.pending_bytes + size > SORT_UNIT_BYTES
        for stream, waiting in self.pending_rows.items():
            if full or waiting >= SORT_UNIT_ROWS:
                self._store(stream)
        if not any(self.pending_rows.values()):  # the bytes counted were all stored
            self.pending_bytes = 0
        self.pending_bytes += size

    def _store(self, stream: str) -> None:
        """Store the pending events of `stream` as one sort unit; number them on from the last seq."""
        if self.pending_rows[stream]:
            self.store.execute(sql.STORE_SPILLED[stream], {"files": [str(p) for p in self.pending[stream]]})
            if stream in sql.NUMBER:
                self.store.execute(sql.NUMBER[stream], {"seq": self._next_seq})
                self._next_seq += self.pending_rows[stream]
        for path in self.pending[stream]:
            path.unlink(missing_ok=True)
        self.pending[stream], self.pending_rows[stream] = [], 0

    def store_pending(self) -> None:
        """Store what is still pending (at the end of a file or a foreign batch)."""
        for stream in self.pending:
            self._store(stream)

    def index(self) -> None:
        """Add this file's audit events to the entity index (after reconcile: no duplicates)."""
        if self.candidates["audit"]:
            entity_index.add_file(self.store, self.file_id)

    def _apply_strict_checks(self) -> None:
        suspects = self.store.rows(sql.SUSPECTS)
        verdicts = [(line_no, reason) for line_no, text in suspects
                    if (reason := strict_reason(text)) is not None]
        if not verdicts:
            return
        table = pa.table({"line_no": pa.array([v[0] for v in verdicts], pa.int64()),
                          "reason": [v[1] for v in verdicts]})
        with self.store.scanning("verdicts", table):
            self.store.execute(sql.APPLY_VERDICTS)

    def _settle_reordered(self) -> None:
        """The conflicts that differ only in the order of an object's keys become duplicates."""
        same = [line for batch in self.store.batches(sql.CONFLICT_PAIRS, size=10_000)
                for line, incoming, stored in zip(*(c.to_pylist() for c in batch.columns), strict=True)
                if same_values(incoming, stored)]
        if same:
            with self.store.scanning("same_values", pa.table({"line_no": pa.array(same, pa.int64())})):
                self.store.execute(sql.SAME_AFTER_ALL)

    def reconcile(self) -> None:
        """Take this file's duplicates and conflicts back out of the events tables."""
        store, params = self.store, {"file_id": self.file_id}
        for stream, candidates in self.candidates.items():
            if not candidates:
                continue
            store.execute(sql.HITS[stream], params)
            store.execute(sql.REPEATS[stream], params)
            self._settle_reordered()
            verdicts = dict(store.rows(sql.HIT_COUNTS))
            if verdicts:
                store.execute(sql.REMOVE_HITS[stream], params)
                store.execute(sql.INSERT_CONFLICTS, {**params, "stream": stream})
            self.report.inserted += candidates - sum(verdicts.values())
            self.report.duplicates += verdicts.get("duplicate", 0)
            self.report.conflicts += verdicts.get("conflict", 0)
