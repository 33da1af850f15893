"""`fluentlog sources`: the formats fluentlog can read (presets and the config's own)."""

from __future__ import annotations

from typing import Annotated

import typer

from fluentlog.cli.app import ConfigOpt, FormatOpt, _settings, _show, app

sources_app = typer.Typer(help="List the sources (export formats) fluentlog reads, or show one mapping.",
                          invoke_without_command=True)
app.add_typer(sources_app, name="sources")


@sources_app.callback()
def sources_list(ctx: typer.Context, config_path: ConfigOpt = None, fmt: FormatOpt = None) -> None:
    """List the built-in sources and those defined under [sources.NAME] in the config.

    Example: fluentlog sources --format json
    """
    if ctx.invoked_subcommand is not None:
        return
    from fluentlog import sources
    from fluentlog.sources.describe import list_view
    cfg = _settings(config_path)
    _show(list_view(sources.available(cfg.sources)), fmt, cfg)


@sources_app.command("show")
def sources_show(
    name: Annotated[str, typer.Argument(help="A source name, as listed by `fluentlog sources`.", show_default=False)],
    config_path: ConfigOpt = None, fmt: FormatOpt = None,
) -> None:
    """Print one source's mapping: where each field of the event model comes from.

    Example: fluentlog sources show okta
    """
    from fluentlog import sources
    from fluentlog.sources.describe import show_view
    cfg = _settings(config_path)
    _show(show_view(sources.get(name, cfg.sources)), fmt, cfg)
