"""The single error boundary: every failure becomes one message and an exit code."""

from __future__ import annotations

import copy
import os
import sys
import traceback
from typing import Any, TextIO

import typer
from typer.main import get_command_name

from fluentlog.cli import commands, sources  # noqa: F401 - registers the commands
from fluentlog.cli.app import app, debug_enabled, discard_stdout, err, unwritable_output
from fluentlog.errors import ExitCode, FluentlogError, OutputError


def _fail(message: str, hint: str | None, code: int) -> None:
    err.print(f"fluentlog: error: {message}", markup=False, highlight=False)
    if hint:
        err.print(f"hint: {hint}", markup=False, highlight=False)
    raise SystemExit(code)


def _only_the_named_command(argv: list[str]) -> typer.Typer:
    """The app with just the command named on the command line, when one is: Typer builds the
    Click command of every registered command on each run (~20 ms for all of them)."""
    at = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), None)
    if at is None or any(arg in ("-h", "--help") for arg in argv[:at]):
        return app  # the root's own help lists every command
    name = argv[at]
    named = [c for c in app.registered_commands
             if (c.name or (get_command_name(c.callback.__name__) if c.callback else None)) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not named and not groups:
        return app  # no command, or an unknown one: Click's message lists them all
    only = copy.copy(app)
    only.registered_commands, only.registered_groups = named, groups
    return only


class _Stdout:
    """sys.stdout, whose write errors (a full disk, a quota, an I/O error) are OutputError: the
    user's to fix, wherever the writing happens (a command's output, --help, the demo). When the
    reader has gone (`| head`), the rest of the output goes nowhere and the command ends with its
    own exit code: left a BrokenPipeError, Rich's tables and Click's help each exited 1, which
    cron reads as findings; ending at once with 0 would hide verify's or --exit-code's 1."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            discard_stdout()
            return len(text)
        except OSError as exc:
            raise unwritable_output(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            discard_stdout()
        except OSError as exc:
            raise unwritable_output(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main() -> None:
    """The single error boundary: every failure becomes one message and an exit code."""
    os.umask(0o077)  # the database, its WAL and anything written are private to the owner
    if sys.stdout is not None:  # None: closed (`>&-`), written to nowhere
        sys.stdout = _Stdout(sys.stdout)
    try:
        code = _only_the_named_command(sys.argv[1:])(standalone_mode=False, prog_name="fluentlog")
        if sys.stdout is not None:
            sys.stdout.flush()  # here, where a failure is a message, not as Python exits
    except typer.Exit as exc:  # raised outside a command, where Click does not make it a return
        code = exc.exit_code
    except FluentlogError as exc:
        if isinstance(exc, OutputError):
            discard_stdout()
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
