"""The single error boundary: every failure becomes one message and an exit code."""

from __future__ import annotations

import os
import traceback

import typer

from fluentlog.cli import commands, sources  # noqa: F401 - registers the commands
from fluentlog.cli.app import app, debug_enabled, err
from fluentlog.errors import ExitCode, FluentlogError


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
        if debug_enabled():
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
        if debug_enabled():
            traceback.print_exc()
        _fail(f"internal error: {type(exc).__name__}: {exc}",
              "this is a bug in fluentlog; rerun with --debug and report the traceback", ExitCode.INTERNAL)
    if code == ExitCode.INTERRUPTED:
        _fail("interrupted; each file is stored whole or not at all, so nothing half-done was kept",
              None, ExitCode.INTERRUPTED)
    raise SystemExit(code if isinstance(code, int) else 0)
