"""Which source a file comes from, judged from its first records' shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
