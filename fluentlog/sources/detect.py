"""Which source a file comes from, judged from its first records' shape."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fluentlog.ingest.files import FileFault
from fluentlog.sources import DEFAULT, read
from fluentlog.sources.mapping import Source
from fluentlog.sources.translate import MISSING, resolve


def matches(source: Source, record: Any) -> bool:
    """The record has every path of one of the source's detect sets."""
    return isinstance(record, dict) and any(
        all(resolve(path, record) is not MISSING for path in key_set) for key_set in source.detect)


def candidates(sample: list[Any], sources: Mapping[str, Source]) -> list[str]:
    """Sources that match at least half of the sampled records (a few odd lines aside),
    best first. Empty when nothing matches, or when there was nothing to judge."""
    if not sample:
        return []
    scores = {name: sum(matches(source, r) for r in sample) for name, source in sources.items() if source.detect}
    found = [name for name, score in scores.items() if score and score * 2 >= len(sample)]
    return sorted(found, key=lambda name: -scores[name])


def choose(path: Path, fmt: str, sources: Mapping[str, Source]) -> Source:
    """The one source whose shape the file's first records have. A file with no readable
    record at all is left to the native path, which rejects each record with its reason."""
    wrappers = tuple(dict.fromkeys(w for s in sources.values() for w in s.records))
    sample = read.sample(path, fmt, wrappers)
    found = candidates(sample, sources)
    if len(found) == 1 or (found and found[0] == DEFAULT):
        return sources[found[0]]
    if not sample and not fmt.startswith("yaml"):
        return sources[DEFAULT]
    names = ", ".join(sources)
    if found:
        raise FileFault(f"its records fit several sources ({', '.join(found)}): say which with --source NAME")
    fields = f" (its first record has: {', '.join(list(sample[0])[:12])})" if sample else ""
    raise FileFault(
        f"cannot tell which system wrote this file: its records match none of the known sources{fields}. "
        f"Name one with --source NAME ({names}), or describe the format under [sources.NAME] in the "
        "config (see docs/sources.md, and `fluentlog sources show okta` for an example)")
