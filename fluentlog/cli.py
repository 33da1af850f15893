"""The command line: shared options, one short function per command, one error boundary.

Commands parse options, call one core function and hand its View to render.
Heavy modules (duckdb, pyarrow) are imported inside commands so --help stays fast.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from fluentlog import __version__
from fluentlog.errors import ExitCode, FluentlogError, UsageError
from fluentlog.render import Format, default_format

if TYPE_CHECKING:
    from datetime import timedelta

    from fluentlog.config import Config
    from fluentlog.store import Store
    from fluentlog.timeparse import TimeRange
    from fluentlog.view import View

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 findings (check commands with --exit-code); 2 usage error; "
    "3 access denied; 4 input, config or data error; 70 internal error; 75 database busy; "
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
out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_debug = False

DbOpt = Annotated[Path | None, typer.Option(
    "--db", help="Database file. Default: $FLUENTLOG_DB, else `database` in the config, else ./fluentlog.duckdb.",
    show_default=False)]
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", help="Config file. Default: $FLUENTLOG_CONFIG, else ./fluentlog.toml, "
                     "else ~/.config/fluentlog/config.toml.",
    show_default=False)]
FormatOpt = Annotated[Format | None, typer.Option(
    "--format", "-f", help="Output format. Default: table on a terminal, jsonl when piped.",
    show_default=False, case_sensitive=False)]
# DuckDB spills past this; with the read-ahead chunks it keeps ingest well under 2 GB.
INGEST_MEMORY = "1GB"
WaitOpt = Annotated[float, typer.Option(
    "--wait", help="Seconds to wait for a busy database before giving up (exit 75).", min=0)]


SinceOpt = Annotated[str | None, typer.Option(
    "--since", help="Start: 2026-11-20, 2026-11-20T14:05 (zone-less: --tz), 7d, 24h, today ... Default: all.",
    show_default=False)]
UntilOpt = Annotated[str | None, typer.Option(
    "--until", help="End; a date alone includes that whole day. Default: now.", show_default=False)]
TzOpt = Annotated[str | None, typer.Option(
    "--tz", help="Time zone for tables and for zone-less times you type (default: config `timezone`, else UTC). "
                 "JSON stays UTC.", show_default=False)]
AroundOpt = Annotated[str | None, typer.Option(
    "--around", help="The time a problem was reported (2026-11-17T14:00, or 14:00 today): show events around it.",
    show_default=False)]
WindowOpt = Annotated[str, typer.Option("--window", help="With --around: how far either side (30m, 2h, 1d).")]
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


def _settings(config_path: Path | None) -> Config:
    from fluentlog import config
    return config.load(config_path)


def _show(view: View, fmt: Format | None, cfg: Config, zone: str | None = None) -> None:
    from fluentlog.render import render
    try:
        render(view, fmt or default_format(), out, err, zone or cfg.timezone)
    except BrokenPipeError:
        # The reader (`| head`) has gone: stop quietly, and keep Python quiet at exit too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(
        help="Files, directories or globs (.jsonl, .ndjson, .json, .parquet, optionally .gz).", show_default=False)],
    kind: Annotated[str | None, typer.Option(
        "--kind", help="Treat every record as `audit` or `access` instead of telling them apart by shape.",
        show_default=False)] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Any rejected record fails its whole file (nothing of it stored, exit 4).")] = False,
    db: DbOpt = None, config_path: ConfigOpt = None, fmt: FormatOpt = None, wait: WaitOpt = 30.0,
) -> None:
    """Load exports into the database; every record is inserted, a duplicate, a conflict or rejected.

    Example: fluentlog ingest exports/ --db audit.duckdb
    """
    if kind is not None and kind not in ("audit", "access"):
        raise UsageError(f"--kind must be `audit` or `access`, not {kind!r}")
    from fluentlog import config
    from fluentlog.ingest import IngestOptions, expand, report_view
    from fluentlog.ingest import ingest as run_ingest
    from fluentlog.store import Store
    cfg = _settings(config_path)
    files = expand(paths)  # a bad path fails before any database is created
    options = IngestOptions(operator=config.current_operator(), kind=kind, strict=strict,
                            source_timezone=cfg.source_timezone)
    with Store.open(config.resolve_database(db, cfg), wait=wait, memory_limit=INGEST_MEMORY) as store, \
            _progress() as progress:
        report = run_ingest(store, files, options, progress)
    _show(report_view(report), fmt, cfg)
    if report.failed:
        raise typer.Exit(ExitCode.DATA)


@app.command()
def status(db: DbOpt = None, config_path: ConfigOpt = None, fmt: FormatOpt = None, wait: WaitOpt = 30.0) -> None:
    """Show what is loaded: events per stream, time range, files, rejects, conflicts and gaps.

    Example: fluentlog status --format json
    """
    from fluentlog import config
    from fluentlog.store import Store
    from fluentlog.workflows import status as workflow
    cfg = _settings(config_path)
    database = config.resolve_database(db, cfg)
    if not database.exists():
        result = workflow.empty_status(database)
    else:
        with Store.open(database, read_only=True, wait=wait) as store:
            result = workflow.run(store, workflow.Params(timezone=cfg.timezone))
    _show(workflow.view(result), fmt, cfg)


def _zone(tz: str | None, cfg: Config) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    zone = tz or cfg.timezone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
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
def _reading(db: Path | None, cfg: Config, wait: float) -> Iterator[Store]:
    from fluentlog import config
    from fluentlog.store import Store
    database = config.resolve_database(db, cfg)
    if not database.exists():
        raise FluentlogError(f"no database at {database}", hint="load exports first: fluentlog ingest PATH...")
    with Store.open(database, read_only=True, wait=wait) as store:
        yield store


@app.command("who-changed")
def who_changed(
    target: Annotated[str | None, typer.Argument(
        help="type:id (appointment:APT-1042), a bare id (exact, any type) or a user's email.",
        show_default=False)] = None,
    entity_type: Annotated[str | None, typer.Option("--type", help="Entity type, with --id.",
                                                       show_default=False)] = None,
    entity_id: Annotated[str | None, typer.Option("--id", help="Entity id.", show_default=False)] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only changes by this email.",
                                                 show_default=False)] = None,
    action: Annotated[str | None, typer.Option("--action", help="Only these actions; a glob such as user.*",
                                                  show_default=False)] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Keep the newest N (still shown oldest first).",
                                                 show_default=False)] = None,
    since: SinceOpt = None, until: UntilOpt = None, tz: TzOpt = None,
    db: DbOpt = None, config_path: ConfigOpt = None, fmt: FormatOpt = None, wait: WaitOpt = 30.0,
) -> None:
    """Who changed an entity: every audit event on it or naming it, oldest first.

    Example: fluentlog who-changed appointment:APT-1042 --since 30d
    """
    from fluentlog.workflows import who_changed as workflow
    cfg = _settings(config_path)
    zone = _zone(tz, cfg)
    params = workflow.Params(target, entity_type, entity_id, actor, action, _range(since, until, zone), limit)
    workflow.resolve(params)  # a usage error before the database is opened
    with _reading(db, cfg, wait) as store:
        result = workflow.run(store, params)
    _show(workflow.view(result, zone), fmt, cfg, zone)


@app.command()
def signins(
    email: Annotated[str | None, typer.Option("--email", help="The account's email.", show_default=False)] = None,
    ip: Annotated[str | None, typer.Option("--ip", help="An IP address instead (adds password_spray).",
                                              show_default=False)] = None,
    since: SinceOpt = None, until: UntilOpt = None, around: AroundOpt = None, window: WindowOpt = "2h",
    exit_code: ExitCodeOpt = False, tz: TzOpt = None,
    db: DbOpt = None, config_path: ConfigOpt = None, fmt: FormatOpt = None, wait: WaitOpt = 30.0,
) -> None:
    """A person's sign-ins with findings: repeated failures, success after failures, new
    country/IP/device, impossible travel (and password spray with --ip).

    Example: fluentlog signins --email nina.patel@northside.example --around "2026-11-17T14:00" --window 12h
    """
    from fluentlog.workflows import signins as workflow
    cfg = _settings(config_path)
    zone = _zone(tz, cfg)
    params = workflow.Params(email, ip, _range(since, until, zone, around, window), cfg.detect)
    with _reading(db, cfg, wait) as store:
        result = workflow.run(store, params)
    _show(workflow.view(result, zone), fmt, cfg, zone)
    if exit_code and result.findings:
        raise typer.Exit(ExitCode.FINDINGS)


@app.command()
def offboarding(
    email: Annotated[str | None, typer.Option("--email", help="The removed (or re-roled) user's email.",
                                                 show_default=False)] = None,
    all_users: Annotated[bool, typer.Option("--all", help="Every user removed or re-roled in --since/--until.")]
    = False,
    removed_at: Annotated[str | None, typer.Option(
        "--removed-at", help="When you removed them: a missing user.removed event is then a finding.",
        show_default=False)] = None,
    window: Annotated[str, typer.Option("--window", help="Review others' sensitive changes this far around it.")]
    = "7d",
    since: SinceOpt = None, until: UntilOpt = None, exit_code: ExitCodeOpt = False, tz: TzOpt = None,
    db: DbOpt = None, config_path: ConfigOpt = None, fmt: FormatOpt = None, wait: WaitOpt = 30.0,
) -> None:
    """Check a removal or role change: is it logged, and has the person come back?

    Example: fluentlog offboarding --all --since 30d --exit-code
    """
    from datetime import UTC, datetime

    from fluentlog import timeparse
    from fluentlog.workflows import offboarding as workflow
    cfg = _settings(config_path)
    zone = _zone(tz, cfg)
    removed = timeparse.parse_range(removed_at, None, zone, datetime.now(UTC)).since if removed_at else None
    params = workflow.Params(email, removed, timeparse.parse_duration(window) and _days(window), all_users,
                             _range(since, until, zone))
    with _reading(db, cfg, wait) as store:
        reports = workflow.run(store, params)
    _show(workflow.view(reports, params), fmt, cfg, zone)
    if exit_code and any(r["findings"] for r in reports):
        raise typer.Exit(ExitCode.FINDINGS)


def _days(window: str) -> timedelta:
    from datetime import UTC, datetime

    from fluentlog import timeparse
    now = datetime(2000, 1, 1, tzinfo=UTC)
    return (now + timeparse.parse_duration(window)) - now


@app.command()
def timeline(
    email: Annotated[str, typer.Option("--email", help="The person's email.", show_default=False)],
    since: SinceOpt = None, until: UntilOpt = None, around: AroundOpt = None, window: WindowOpt = "2h",
    tz: TzOpt = None, db: DbOpt = None, config_path: ConfigOpt = None, fmt: FormatOpt = None,
    wait: WaitOpt = 30.0,
) -> None:
    """One person's story: their sign-ins, their actions, and changes made to their user.

    Example: fluentlog timeline --email lee.park@northside.example --since 2026-11-01
    """
    from fluentlog.workflows import timeline as workflow
    cfg = _settings(config_path)
    zone = _zone(tz, cfg)
    params = workflow.Params(email, _range(since, until, zone, around, window))
    with _reading(db, cfg, wait) as store:
        items = workflow.run(store, params)
    _show(workflow.view(items, params, zone), fmt, cfg, zone)


@app.command()
def init(
    config_path: ConfigOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config file.")] = False,
) -> None:
    """Write a starter config that makes the current OS account an owner (file mode 0600).

    Example: fluentlog init --config /etc/fluentlog/fluentlog.toml
    """
    from fluentlog import config
    path = config_path or Path(os.environ.get(config.CONFIG_ENV) or config.LOCAL_CONFIG)
    if path.exists() and not force:
        raise FluentlogError(f"{path} already exists; not overwritten", hint="pass --force to replace it")
    text = config.starter_config(config.current_operator())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise FluentlogError(f"cannot write {path}: {exc.strerror}") from None
    err.print(f"Wrote {path} (mode 0600); {config.current_operator()} is its owner. "
              "Check it any time with: fluentlog status")


@app.command()
def demo(fmt: FormatOpt = None) -> None:
    """Load the bundled sample workspace into a temporary database and tour the investigations.

    Example: fluentlog demo
    """
    from fluentlog.config import Config
    from fluentlog.demo import run_demo
    chosen = fmt or default_format()
    for command, explanation, view in run_demo():
        if chosen is Format.table:
            out.rule(command, align="left")
            out.print(explanation, style="italic", highlight=False)
        _show(view, chosen, Config())


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
            self._bar = Progress(console=err, transient=True)
            self._bar.start()
            self._tasks: dict[Path, object] = {}
        if path not in self._tasks:
            self._tasks[path] = self._bar.add_task(path.name, total=total)
        self._bar.update(self._tasks[path], completed=done)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _fail(message: str, hint: str | None, code: int) -> None:
    err.print(f"fluentlog: error: {message}", markup=False, highlight=False)
    if hint:
        err.print(f"hint: {hint}", markup=False, highlight=False)
    raise SystemExit(code)


def main() -> None:
    """The single error boundary: every failure becomes one message and an exit code."""
    os.umask(0o077)  # the database, its WAL and anything written are private to the owner
    try:
        code = app(standalone_mode=False, prog_name="fluentlog")
    except FluentlogError as exc:
        if _debug:
            traceback.print_exc()
        _fail(exc.message, exc.hint, exc.exit_code)
    except typer.Abort:
        code = ExitCode.INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the boundary: report, never a raw traceback
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `fluentlog`: the help, on stderr
            err.print(exc.format_message(), markup=False, highlight=False)  # type: ignore[attr-defined]
            raise SystemExit(ExitCode.USAGE) from None
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # Click's usage errors
            ctx = getattr(exc, "ctx", None)
            command = ctx.command_path if ctx is not None else "fluentlog"
            _fail(exc.format_message(), f"see `{command} --help`", ExitCode.USAGE)
        if _debug:
            traceback.print_exc()
        _fail(f"internal error: {type(exc).__name__}: {exc}",
              "this is a bug in fluentlog; rerun with --debug and report the traceback", ExitCode.INTERNAL)
    if code == ExitCode.INTERRUPTED:
        _fail("interrupted; each file is stored whole or not at all, so nothing half-done was kept",
              None, ExitCode.INTERRUPTED)
    raise SystemExit(code if isinstance(code, int) else 0)
