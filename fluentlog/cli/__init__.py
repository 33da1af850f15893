"""The command line: app.py (options, helpers), commands.py (one function per command),
boundary.py (main: the one error boundary)."""

from fluentlog.cli.boundary import main

__all__ = ["main"]
