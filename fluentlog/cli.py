"""The command line: shared options, one short function per command, one error boundary.

Commands parse options, call one core function and hand its View to render.
Heavy modules (duckdb, pyarrow) are imported inside commands so --help stays fast.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from fluentlog import __version__
from fluentlog.errors import ExitCode, FluentlogError, UsageError
from fluentlog.render import Format, default_format

if TYPE_CHECKING:
    from fluentlog.config import Config
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


def _show(view: View, fmt: Format | None, cfg: Config) -> None:
    from fluentlog.render import render
    try:
        render(view, fmt or default_format(), out, err, cfg.timezone)
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
    for heading, view in run_demo():
        if chosen is Format.table:
            out.rule(heading)
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
