"""Sources: the exports fluentlog can read, and how their records map onto its event model.

`mapping` holds the vocabulary (shared by the presets and `[sources.NAME]` in the config),
`presets.toml` the built-in sources, `read` the containers, `translate` the per-record
mapping and `detect` the guess of a file's source from its first records.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources

from fluentlog.errors import UsageError
from fluentlog.sources.mapping import Source, parse

DEFAULT = "fluent"


@cache
def presets() -> dict[str, Source]:
    data = tomllib.loads(resources.files(__package__).joinpath("presets.toml").read_text("utf-8"))
    return {name: parse(name, table, "presets.toml", builtin=True) for name, table in data["sources"].items()}


def available(user: Mapping[str, Source]) -> dict[str, Source]:
    """The presets, then the config's own sources."""
    return {**presets(), **user}


def get(name: str, user: Mapping[str, Source]) -> Source:
    known = available(user)
    if name in known:
        return known[name]
    near = difflib.get_close_matches(name, list(known), n=1)
    raise UsageError(f"unknown source {name!r}",
                     hint=(f"did you mean {near[0]!r}? " if near else "")
                     + f"known sources: {', '.join(known)} (fluentlog sources lists them)")
