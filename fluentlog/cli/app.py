"""The Typer app, its shared options and the helpers every command uses.

No duckdb or pyarrow at import: `fluentlog --help` must stay fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fluentlog import __version__
from fluentlog.errors import FluentlogError, OutputError, UsageError
from fluentlog.render import Format, default_format

if TYPE_CHECKING:
    from datetime import timedelta

    from rich.console import Console

    from fluentlog.config import Config
    from fluentlog.redact import Redactor
    from fluentlog.store import Store
    from fluentlog.timeparse import TimeRange
    from fluentlog.view import View

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 findings (check commands with --exit-code); 2 usage error; "
    "3 access denied; 4 input, config, data or output error; 70 internal error; 75 database busy; "
    "130 interrupted."
)

app = typer.Typer(
    name="fluentlog",
    help="Investigate exported Fluent audit and sign-in logs.\n\n" + EXIT_CODES_HELP,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class LazyConsole:
    """A Rich console made on first use. JSON, JSON Lines and CSV go to its plain `file`, so a
    run that writes only data, or only an error line, does not import Rich (~15 ms)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def file(self) -> Any:
        """The stream, as Rich's own console would write to it."""
        stream = sys.stderr if self._options.get("stderr") else sys.stdout
        stream = getattr(stream, "rich_proxied_file", stream)  # under a live display, the real stream
        return stream if stream is not None else _NullFile()  # closed (`>&-`): written to nowhere

    def real(self) -> Console:
        if self._console is None:
            from rich.console import Console
            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)


class _NullFile:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


out = LazyConsole(highlight=False, soft_wrap=False)
err = LazyConsole(stderr=True, highlight=False, soft_wrap=True)
_debug = False

def path_parser(text: str | Path) -> Path:
    """A path option's value; '' is refused, since Path('') is the current folder and a script's
    unset variable would then name it."""
    if isinstance(text, str) and not text.strip():
        raise typer.BadParameter("empty path; name a file (in a script: is the variable set?)")
    return Path(text)


def path_option(*names: str, help: str) -> Any:
    """An option naming a file: never empty (see `path_parser`)."""
    return typer.Option(*names, parser=path_parser, metavar="<path>", help=help, show_default=False)


def no_empty_paths(paths: list[str]) -> list[str]:
    """`fluentlog ingest ''` would ingest everything under the current folder."""
    if any(not path.strip() for path in paths):
        raise UsageError("empty path: '' names no file (it would mean everything under the current folder)",
                         hint="name the files or folders to ingest (in a script: is the variable set?)")
    return paths


DbOpt = Annotated[Path | None, path_option(
    "--db", help="Database file. Default: $FLUENTLOG_DB, else `database` in the config, else ./fluentlog.duckdb.")]
ConfigOpt = Annotated[Path | None, path_option(
    "--config", help="Config file. Default: $FLUENTLOG_CONFIG, else ./fluentlog.toml, "
                     "else ~/.config/fluentlog/config.toml.")]
FormatOpt = Annotated[Format | None, typer.Option(
    "--format", "-f", help="Output format. Default: table on a terminal, jsonl when piped.",
    show_default=False, case_sensitive=False)]
# DuckDB spills past this; with Python and the read-ahead chunks an ingest peaks near 1.3 GiB
# whatever the input size (measured on a 20M-event file; 1.55 GiB with 1GB).
INGEST_MEMORY = "768MB"
# DuckDB rewrites the table's last, part-filled row group at every checkpoint (by default each
# 16 MB of log). Many small files (a year of daily exports) then left a fifth of the file as
# free blocks; checkpointing less often: 600 daily files 64 -> 57 s, 113 -> 5 free blocks of
# ~430. Closing the database checkpoints what is left.
INGEST_CHECKPOINT = "256MB"
WaitOpt = Annotated[float, typer.Option(
    "--wait", help="Seconds to wait for a busy database before giving up (exit 75).", min=0)]


def trimmed(param: typer.CallbackParam, value: str | None) -> str | None:
    """A value people type or paste (an email, an IP, a name): surrounding spaces are dropped,
    since they are nearly always a slip of copy and paste and a pasted ' x@y' would silently
    match nothing; an empty value (often a script's unset variable) is refused rather than
    matching nothing."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        name = param.opts[0] if param.opts else param.name
        raise UsageError(f"{name} is empty", hint=f"give {name} a value (in a script: is the variable set?)")
    return text


def text_option(name: str, help: str) -> Any:
    """An option holding a value people type or paste: trimmed, never empty (see `trimmed`)."""
    return typer.Option(name, callback=trimmed, help=help, show_default=False)


SinceOpt = Annotated[str | None, text_option(
    "--since", "Start: 2026-11-20, 2026-11-20T14:05 (zone-less: --tz), 7d, 24h, today ... Default: all.")]
UntilOpt = Annotated[str | None, text_option("--until", "End; a date alone includes that whole day. Default: now.")]
TzOpt = Annotated[str | None, text_option(
    "--tz", "Time zone for tables and for zone-less times you type (default: config `timezone`, else UTC). "
            "JSON stays UTC.")]
AroundOpt = Annotated[str | None, text_option(
    "--around", "The time a problem was reported (2026-11-17T14:00, or 14:00 today): show events around it.")]
WindowOpt = Annotated[str, typer.Option(
    "--window", callback=trimmed, help="With --around: how far either side (30m, 2h, 1d).")]
RevealOpt = Annotated[bool, typer.Option(
    "--reveal", help="Show health-data fields unredacted (roles that may reveal; needs --reason, which is logged).")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why you need to --reveal (kept in the access log).",
                                               show_default=False)]
ExitCodeOpt = Annotated[bool, typer.Option("--exit-code", help="Exit 1 when there is any finding (for cron).")]


def _version(value: bool) -> None:
    if value:
        print(f"fluentlog {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.",
                                          callback=_version, is_eager=True)] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    global _debug
    _debug = debug


def debug_enabled() -> bool:
    return _debug


def _settings(config_path: Path | None) -> Config:
    from fluentlog import config
    cfg = config.load(config_path)
    if cfg.path is not None:
        config.check_private(cfg.path, "config", readable_by_others=False)
    return cfg


class Session:
    """One guarded run of a command: its access-log entry is written before data is shown."""

    def __init__(self, command: str, database: Path, operator: str, role: str | None,
                 filters: dict[str, Any]) -> None:
        self.command, self.database = command, database
        self.database_existed = database.exists()  # before this run: it should have its log already
        self.entry: dict[str, Any] = {"operator": operator, "role": role, "command": command,
                                      "filters": {k: v for k, v in filters.items() if v not in (None, False)}}
        self.recorded = False

    def record(self, outcome: str, **extra: Any) -> None:
        from fluentlog import accesslog
        if self.recorded or not self.database.exists():
            return  # nothing to protect yet: no database, no look at logs
        self.recorded = True
        accesslog.append(self.database, {**self.entry, "outcome": outcome, **extra}, self.database_existed)


@contextmanager
def _guard(command_name: str, cfg: Config, db: Path | None, /, **filters: Any) -> Iterator[Session]:
    """The role check, before any data is read, and the access-log entry, whatever happens."""
    from fluentlog import access, config
    from fluentlog.errors import AccessDenied
    database = config.resolve_database(db, cfg)
    if database.exists():
        config.check_private(database, "database", readable_by_others=True)
    operator = config.current_operator()
    decision = access.decide(operator, command_name, cfg.operators, cfg.roles,
                             str(cfg.path) if cfg.path else None)
    session = Session(command_name, database, operator, decision.role, filters)
    if not decision.allowed:
        session.record("denied")
        raise AccessDenied(decision.message or "access denied", decision.hint)
    try:
        yield session
    except BaseException as exc:
        if not isinstance(exc, typer.Exit) or exc.exit_code not in (0, 1):
            session.record("error")  # keeps a --reveal reason already given
        raise
    session.record("ok")


def _redactor(cfg: Config, session: Session, reveal: bool, reason: str | None) -> Redactor:
    """PHI redaction and column masks for this operator; --reveal is checked and logged here."""
    from fluentlog import access
    from fluentlog.errors import AccessDenied
    from fluentlog.redact import Redactor
    role = cfg.roles.get(session.entry["role"] or "")
    if reveal:
        if not reason or not reason.strip():
            raise UsageError("--reveal needs --reason: say why you need to see health data (it is logged)",
                             hint='--reveal --reason "subpoena 2026-114"')
        session.entry["reason"] = reason.strip()
        if not access.may_reveal(session.entry["role"], cfg.roles):
            session.record("denied")
            raise AccessDenied(f"access denied: role {session.entry['role']!r} may not --reveal health data",
                               hint="roles that may: " + ", ".join(sorted(
                                   n for n in cfg.roles if access.may_reveal(n, cfg.roles))))
    return Redactor(cfg.phi_fields, reveal=reveal, mask=role.mask if role else ())


def _rows(view: View) -> int:
    doc = view.document
    if isinstance(doc, list):
        return len(doc)
    if isinstance(doc, dict):
        for key in ("events", "files"):
            if isinstance(doc.get(key), list):
                return len(doc[key])
    return 1


def _show(view: View, fmt: Format | None, cfg: Config, zone: str | None = None,
          session: Session | None = None, done: str | None = None, **extra: Any) -> None:
    """`done`: what the command changed for good before its output (said if that cannot be written)."""
    from fluentlog.render import render
    if session is not None:
        session.record("ok", **{"rows": _rows(view), **extra})  # recorded before anything is shown
    try:
        render(view, fmt or default_format(), out, err, zone or cfg.timezone)
    except BrokenPipeError:
        # The reader (`| head`) has gone: the rest of the output goes nowhere, quietly; the
        # command still ends with its own exit code (verify's 1 must not read as "clean").
        discard_stdout()
    except OSError as exc:  # main() makes these OutputError; the CLI run in-process leaves them
        raise unwritable_output(exc, done) from None
    except OutputError as exc:
        raise OutputError(exc.message, _lost(done) or exc.hint) from None


def _lost(done: str | None) -> str | None:
    return done + "; only its report was lost" if done else None


def unwritable_output(exc: OSError, done: str | None = None) -> OutputError:
    """The error for output stdout could not take (a full disk, a quota, an I/O error); main()
    discards what is still buffered when it reports it."""
    return OutputError(f"cannot write the output: {exc.strerror or exc}",
                       hint=_lost(done) or "free some space, or send the output elsewhere (> FILE on another disk)")


def discard_stdout() -> None:
    """What is still buffered for stdout goes nowhere: Python writes it when it exits, and would
    fail again there (a traceback-like message and exit 120)."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # no stdout, or not a file (a test's buffer)
        pass


def _zone(tz: str | None, cfg: Config) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    zone = tz or cfg.timezone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UsageError(f"--tz: {zone!r} is not a known time zone", hint="e.g. UTC or America/New_York") from None
    return zone


def _range(since: str | None, until: str | None, zone: str, around: str | None = None,
           window: str | None = None) -> TimeRange:
    from datetime import UTC, datetime

    from fluentlog import timeparse
    now = datetime.now(UTC)
    if around is not None:
        if since or until:
            raise UsageError("give --around or --since/--until, not both")
        return timeparse.parse_around(around, window, zone, now)
    return timeparse.parse_range(since, until, zone, now)


@contextmanager
def _reading(db: Path | None, cfg: Config, wait: float, write_as: str | None = None) -> Iterator[Store]:
    """An existing database, read-only (or writable for `write_as`, the command named in its lock note)."""
    from fluentlog import config
    from fluentlog.store import Store
    database = config.resolve_database(db, cfg)
    if not database.exists():
        raise FluentlogError(f"no database at {database}", hint="load exports first: fluentlog ingest PATH...")
    with Store.open(database, read_only=write_as is None, wait=wait, readable=[],
                    purpose=write_as or "fluentlog", create=False) as store:
        yield store


def _days(window: str) -> timedelta:
    """A --window as a fixed span (a month or year is counted from 2000-01-01)."""
    from datetime import UTC, datetime

    from fluentlog import timeparse
    now = datetime(2000, 1, 1, tzinfo=UTC)
    return (now + timeparse.parse_duration(window)) - now


class _counter:
    """Rows written so far, on stderr, only on a terminal."""

    def __enter__(self):
        self._status = None
        if not err.is_terminal:
            return None
        self._status = err.status("Exporting ...")
        self._status.start()
        return lambda rows: self._status.update(f"Exporting ... {rows:,} rows written")

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()


class _progress:
    """A progress bar on stderr, only on a terminal and only for inputs over a few MB."""

    THRESHOLD = 4 << 20

    def __enter__(self):
        self._bar = None
        return self.update if err.is_terminal else None

    def update(self, path: Path, done: int, total: int) -> None:
        if total < self.THRESHOLD:
            return
        if self._bar is None:
            from rich.progress import Progress
            self._bar = Progress(console=err.real(), transient=True)
            self._bar.start()
            self._tasks: dict[Path, object] = {}
        if path not in self._tasks:
            self._tasks[path] = self._bar.add_task(path.name, total=total)
        self._bar.update(self._tasks[path], completed=done)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


