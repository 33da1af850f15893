"""The command line: app.py (options, helpers), commands.py (one function per command),
boundary.py (main: the one error boundary)."""

from __future__ import annotations

import sys


def main() -> None:
    """The console script. A Ctrl-C while the modules still load (~0.1 s) ends like one later:
    a one-line message and exit 130, not a traceback."""
    try:
        from fluentlog.cli.boundary import main as run
    except KeyboardInterrupt:
        sys.stderr.write("fluentlog: error: interrupted before anything was read or written\n")
        raise SystemExit(130) from None
    run()


__all__ = ["main"]
