"""The event store: the only module that imports duckdb.

Opens the database (with a bounded wait on DuckDB's file lock), creates the
schema, runs constant SQL with bound parameters and returns Arrow tables.
duckdb.Error never leaves this module: it becomes a fluentlog error.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb

from fluentlog import entity_index, schema
from fluentlog.errors import DatabaseBusy, StoreError

if TYPE_CHECKING:  # DuckDB imports pyarrow when an Arrow result is asked for; records() needs none
    import pyarrow as pa

T = TypeVar("T")
_LOCK_MARKERS = ("Could not set lock", "Conflicting lock")
_CORRUPT_MARKERS = ("not a valid DuckDB database", "Corrupt database", "checksum")
# A Ctrl-C that lands while DuckDB reads a registered Arrow table (through Python) comes back
# as an ordinary error: "counting the rows of the object registered as 'chunk' failed:
# KeyboardInterrupt". It must stop the run like any Ctrl-C, not fail the file and go on.
_INTERRUPTED = "failed: KeyboardInterrupt"
# Nothing may be fetched or loaded behind the user's back: json, parquet and icu are built in.
_CONNECT_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


class Store:
    """One open DuckDB connection. Use `Store.open(...)` as a context manager."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self._con = con
        self.path = path
        self.read_only = read_only
        self.format: str | None = None  # the store format (schema.SCHEMA_VERSION), once checked
        self.index_was_unusable = False  # create_schema found no usable entity index and built one
        self._scans: dict[str, _ArrowSlot] = {}

    @property
    def scratch(self) -> Path:
        """The folder beside the database where an ingest spills events it is sorting."""
        return self.spill_folder(self.path)

    @staticmethod
    def spill_folder(path: Path) -> Path:
        return path.with_name(path.name + schema.SPILL_FOLDER_SUFFIX)

    @classmethod
    @contextmanager
    def open(cls, path: Path, *, read_only: bool = False, wait: float = 30.0,
             memory_limit: str | None = None, checkpoint_every: str | None = None, purpose: str = "fluentlog",
             readable: list[Path] | None = None, create: bool = True) -> Iterator[Store]:
        """`readable`, when given, is all DuckDB may read besides the database: the files named
        on the command line (an injected read_csv('/etc/shadow') would then fail). Without
        `create`, a writable open refuses an empty database as a read-only one does."""
        con = _connect(path, read_only, wait)
        store = cls(con, path, read_only)
        holder = None
        try:
            store.execute("SET TimeZone = 'UTC'")
            store.execute("SET enable_progress_bar = false")  # it would write into stdout, which is data
            if memory_limit:
                store.execute(f"SET memory_limit = '{_checked_size(memory_limit)}'")
            if checkpoint_every:  # of write-ahead log
                store.execute(f"SET checkpoint_threshold = '{_checked_size(checkpoint_every)}'")
            if readable is not None:
                paths = ", ".join(quote_literal(str(p.resolve())) for p in readable)
                store.execute(f"SET allowed_paths = [{paths}]")
                if not read_only:
                    store.execute(f"SET allowed_directories = [{quote_literal(str(store.scratch.resolve()) + os.sep)}]")
                store.execute("SET enable_external_access = false")
            store.execute("SET lock_configuration = true")  # no statement may change these settings now
            store.check_ours(must_hold_data=read_only or not create)
            if not read_only:
                holder = _LockNote(path, purpose)
                store.create_schema()
            yield store
        finally:
            con.close()
            if holder is not None:
                holder.remove()

    def check_ours(self, must_hold_data: bool) -> None:
        """Refuse a DuckDB database that fluentlog did not make, rather than write into it; and
        an empty one when `must_hold_data` (it would be made a fluentlog store)."""
        tables = {name for (name,) in self.rows(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND database_name = current_database()")}
        if tables and "meta" not in tables:
            raise StoreError(f"{self.path} is a DuckDB database, but not one made by fluentlog",
                             hint="point --db (or $FLUENTLOG_DB) at a fluentlog database, or at a new file")
        if must_hold_data and not tables:
            raise StoreError(f"{self.path} holds no fluentlog data yet",
                             hint="load exports with: fluentlog ingest PATH...")
        if tables:
            version = self.format = self.scalar("SELECT value FROM meta WHERE key = 'schema_version'")
            if version is not None and version not in (str(schema.SCHEMA_VERSION), *schema.UPGRADES):
                raise StoreError(
                    f"{self.path} was made by a fluentlog with store format {version}; this one reads format "
                    f"{schema.SCHEMA_VERSION}",
                    hint="ingest the same export files into a new database (--db NEW.duckdb); "
                         "the old one stays readable by the fluentlog that made it")

    def create_schema(self) -> None:
        """Create the tables, or bring an older format up to date (one transaction)."""
        with self.transaction():
            for statement in schema.UPGRADES.get(self.format, ()):
                self.execute(statement)
            for ddl in schema.DDL:
                self.execute(ddl)
            self.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', $v)",
                         {"v": str(schema.SCHEMA_VERSION)})
            self.format = str(schema.SCHEMA_VERSION)
            if not entity_index.usable(self):  # new, upgraded, or made with another DuckDB's hash
                entity_index.rebuild(self)
                self.index_was_unusable = True

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(lambda: self._con.execute(sql, params or {}))

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        return self._run(lambda: self._con.sql(sql, params=params or {}).to_arrow_table())

    def records(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """The result as dicts, without Arrow: a short answer then costs no pyarrow import (~20 ms)."""
        def fetch() -> list[dict[str, Any]]:
            cursor = self._con.execute(sql, params or {})
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return self._run(fetch)

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return self._run(lambda: self._con.execute(sql, params or {}).fetchall())

    def _run(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except duckdb.Error as exc:
            raise _translate(exc, self.path) from exc
        except RuntimeError as exc:
            if "interrupted" in str(exc):  # DuckDB's answer to SIGINT during a query
                raise KeyboardInterrupt from None
            raise

    def batches(self, sql: str, params: Mapping[str, Any] | None = None,
                size: int = 50_000) -> Iterator[pa.RecordBatch]:
        """Stream a large result as Arrow record batches (memory stays bounded)."""
        try:
            yield from _batches(self._con, sql, params or {}, size)
        except duckdb.Error as exc:
            raise _translate(exc, self.path) from exc

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def register(self, name: str, table: pa.Table) -> None:
        """Let the following statements read `table` as `name` (until unregister).

        A name is registered with DuckDB once and its table swapped on later calls: a view
        that DuckDB drops inside a transaction lives on until the commit, so registering
        every chunk of a file anew kept them all in memory (+145 MiB per 128 MiB chunk)."""
        slot = self._scans.get(name)
        if slot is not None and slot.table.schema.equals(table.schema):
            slot.table = table
            return
        slot = self._scans[name] = _ArrowSlot(table)
        self._run(lambda: self._con.register(name, slot))

    @contextmanager
    def scanning(self, name: str, table: pa.Table) -> Iterator[None]:
        """`table` readable as `name` for the statements of the block."""
        self.register(name, table)
        try:
            yield
        finally:
            self.unregister(name)

    def unregister(self, name: str) -> None:
        slot = self._scans.get(name)
        if slot is not None:
            slot.table = slot.table.schema.empty_table()  # free the data; keep the registration

    def has_table(self, name: str) -> bool:
        return bool(self.scalar(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = $n AND NOT temporary",
            {"n": name}))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: any exception (Ctrl-C included) rolls the whole block back."""
        self.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self._scans.clear()  # registrations made in the block are rolled back with it
            try:
                self._con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            raise
        try:
            self.execute("COMMIT")
        except BaseException:
            self._scans.clear()  # a failed commit rolls back too
            raise


def quote_literal(text: str) -> str:
    """Quote a string (a file path) for the few DuckDB table functions that take no parameters."""
    return "'" + text.replace("'", "''") + "'"


def _checked_size(value: str) -> str:
    if not value.replace(" ", "").rstrip("BKMGTIbkmgti").isdigit():
        raise StoreError(f"memory limit {value!r} is not a size such as '1GB'")
    return value


class _ArrowSlot:
    """An Arrow table DuckDB reads through the Arrow stream interface, swappable in place."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self.table.__arrow_c_stream__(requested_schema)


class _LockNote:
    """While fluentlog writes a database, `<database>.lock.json` says who: a busy message can
    then name the command and process instead of only "busy"."""

    def __init__(self, path: Path, purpose: str) -> None:
        self.path = path.with_name(path.name + schema.LOCK_NOTE_SUFFIX)
        note = {"command": purpose, "pid": os.getpid(), "since": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            self.path.write_text(json.dumps(note))
        except OSError:
            self.path = None  # a note we cannot write is only a lost courtesy

    def remove(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _holder(path: Path) -> str:
    note = path.with_name(path.name + schema.LOCK_NOTE_SUFFIX)
    try:
        held = json.loads(note.read_text())
        os.kill(int(held["pid"]), 0)  # a note left by a killed process names nobody
        return f" (fluentlog {held['command']}, process {held['pid']}, since {held['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _connect(path: Path, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + max(wait, 0.0)
    delay = 0.05
    while True:
        try:
            # Absolute: DuckDB reads a name such as ":memory:" or "md:x" as no file at all
            return duckdb.connect(os.path.abspath(path), read_only=read_only, config=_CONNECT_CONFIG)
        except duckdb.Error as exc:
            error = _translate(exc, path)
            if not isinstance(error, DatabaseBusy) or time.monotonic() >= deadline:
                raise error from exc
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def _translate(exc: duckdb.Error, path: Path) -> BaseException:
    """A DuckDB error as what it means here: Ctrl-C, a busy or corrupt database, or a failure."""
    text = str(exc)
    if isinstance(exc, duckdb.InterruptException) or _INTERRUPTED in text:
        return KeyboardInterrupt()
    if any(marker in text for marker in _LOCK_MARKERS):
        return DatabaseBusy(f"database {path} is busy: another process holds its lock{_holder(path)}",
                            hint="wait for the other fluentlog run (or DuckDB session) to finish, "
                                 "or raise --wait")
    if any(marker in text for marker in _CORRUPT_MARKERS):
        return StoreError(f"database {path} looks corrupt: {text.splitlines()[0]}",
                          hint="restore it from a backup, or move it aside and re-ingest the original "
                               "exports; fluentlog never deletes or repairs it itself")
    if isinstance(exc, duckdb.IOException):
        return StoreError(f"cannot use database {path}: {text.splitlines()[0]}")
    return StoreError(f"database error: {text.splitlines()[0]}")


def quote_ident(name: str) -> str:
    """Quote a column name read from an input file (a Parquet schema) for SQL text."""
    return '"' + name.replace('"', '""') + '"'


def _batches(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any], size: int):
    reader = con.sql(sql, params=params).to_arrow_reader(size)
    yield from reader
