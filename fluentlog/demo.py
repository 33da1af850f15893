"""`fluentlog demo`: the bundled sample workspace, loaded into a temporary database.

Works from any directory after a plain `pip install .` and leaves no files behind.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
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


def run_demo() -> Iterator[tuple[str, str, View]]:
    """(command, what it shows, view) for each step of the tour."""
    from fluentlog.config import DEFAULT_PHI
    from fluentlog.ingest import IngestOptions, ingest, report_view
    from fluentlog.redact import Redactor
    from fluentlog.store import Store
    from fluentlog.timeparse import TimeRange, parse_around
    from fluentlog.workflows import offboarding, signins, status, timeline, who_changed

    folder = sample_dir()
    with tempfile.TemporaryDirectory(prefix="fluentlog-demo-") as tmp, \
            Store.open(Path(tmp) / "demo.duckdb", readable=[folder / n for n in SAMPLE_FILES]) as store:
        report = ingest(store, [folder / name for name in SAMPLE_FILES], IngestOptions(operator=current_operator()))
        loaded = report_view(report)
        loaded.notes.append("The Parquet files hold the same events as the JSON Lines files: "
                            "every one of their records is a duplicate and is stored once.")
        yield ("1. fluentlog ingest sample_data/", "Every record is inserted, a duplicate, a conflict or rejected.",
               loaded)
        yield ("2. fluentlog status", "What is loaded. 14-15 Oct have no events at all: an export never arrived.",
               status.view(status.run(store, status.Params())))
        changed = who_changed.run(store, who_changed.Params(target="appointment:APT-1042"))
        redactor = Redactor(DEFAULT_PHI)  # as for any operator without --reveal
        changed.events = redactor.rows(changed.events)
        yield ("3. fluentlog who-changed appointment:APT-1042",
               "Rescheduled, its interpreter swapped, canceled by an admin, reinstated the next morning "
               "(the patient reference is health data: [redacted]).", who_changed.view(changed))
        now = datetime(2026, 11, 20, tzinfo=UTC)
        nina = signins.Params(email="nina.patel@northside.example",
                              range=parse_around("2026-11-17T09:00Z", "12h", "UTC", now))
        yield ("4. fluentlog signins --email nina.patel@northside.example --around 2026-11-17T09:00Z --window 12h",
               "Nine failed passwords from Lagos, then a success from the same IP: a brute force that worked.",
               signins.view(signins.run(store, nina)))
        gone = offboarding.Params(all=True, range=TimeRange())
        yield ("5. fluentlog offboarding --all",
               "Lee Park was removed on 2 Nov and came back through SSO a week later; Olivia Grant's is clean.",
               offboarding.view([offboarding.redacted(r, redactor) for r in offboarding.run(store, gone)], gone))
        lee = timeline.Params(email="lee.park@northside.example",
                              range=TimeRange(since=datetime(2026, 11, 1, tzinfo=UTC)))
        yield ("6. fluentlog timeline --email lee.park@northside.example --since 2026-11-01",
               "One list: the removal, a refused password, the SSO sign-in that worked, an assignment he made.",
               timeline.view(redactor.rows(timeline.run(store, lee)), lee))
