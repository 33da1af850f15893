"""The one exception family and the exit codes every command shares.

Core code raises these; only cli.py turns them into exit codes and messages.
No typer or rich here, so the core stays importable on its own.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # only check commands given --exit-code
    USAGE = 2
    DENIED = 3
    DATA = 4  # input, config, data or output error
    INTERNAL = 70
    BUSY = 75
    INTERRUPTED = 130


class FluentlogError(Exception):
    """An error the user can act on: a one-line message and an optional hint."""

    exit_code: ExitCode = ExitCode.DATA

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(FluentlogError):
    exit_code = ExitCode.USAGE


class ConfigError(FluentlogError):
    exit_code = ExitCode.DATA


class InputError(FluentlogError):
    exit_code = ExitCode.DATA


class StoreError(FluentlogError):
    exit_code = ExitCode.DATA


class OutputError(FluentlogError):
    """stdout could not take the output (a full disk, a quota): the user's to fix, not a bug."""

    exit_code = ExitCode.DATA


class AccessDenied(FluentlogError):
    exit_code = ExitCode.DENIED


class DatabaseBusy(FluentlogError):
    exit_code = ExitCode.BUSY
