"""`fluentlog demo`: the bundled sample workspace, loaded into a temporary database.

Works from any directory after a plain `pip install .` and leaves no files behind.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from fluentlog.config import current_operator
from fluentlog.errors import FluentlogError
from fluentlog.view import View

SAMPLE_FILES = ("audit.jsonl", "access.jsonl", "audit.parquet", "access.parquet")


def sample_dir() -> Path:
    """The installed copy (fluentlog/sample_data), else the source tree's sample_data/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "sample_data", here.parent / "sample_data"):
        if all((candidate / name).is_file() for name in SAMPLE_FILES):
            return candidate
    raise FluentlogError("the bundled sample data is missing from this installation",
                         hint="reinstall fluentlog with `pip install .` from a full checkout")


def run_demo() -> Iterator[tuple[str, View]]:
    from fluentlog.ingest import IngestOptions, ingest, report_view
    from fluentlog.store import Store
    from fluentlog.workflows import entity_history, status

    folder = sample_dir()
    with tempfile.TemporaryDirectory(prefix="fluentlog-demo-") as tmp:
        with Store.open(Path(tmp) / "demo.duckdb") as store:
            report = ingest(store, [folder / name for name in SAMPLE_FILES], IngestOptions(operator=current_operator()))
            loaded = report_view(report)
            loaded.notes.append("The Parquet files hold the same events as the JSON Lines files: "
                                "every one of their records is counted as a duplicate and stored once.")
            yield "1. Load the sample exports (JSON Lines, then the same events as Parquet)", loaded
            yield "2. What is loaded (fluentlog status)", status.view(status.run(store, status.Params()))
            params = entity_history.Params("appointment", "APT-1042")
            story = entity_history.view(entity_history.run(store, params), params)
            story.notes.append("APT-1042 was rescheduled, its interpreter swapped, canceled by an admin "
                               "and reinstated the next morning: each step names who did it.")
            yield "3. Who changed appointment APT-1042?", story
