"""retention: what is older than the policy (dry run), and deleting it (--apply, owners only).

The policy is the config's `retention` (6 years by default, HIPAA's documentation period)
or --keep. Deletion is one transaction over both streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from fluentlog import entity_index, ledger, schema
from fluentlog.store import Store
from fluentlog.view import Section, View

_OLD = {stream: f"SELECT count(*), min(occurred_at), max(occurred_at) FROM {table} WHERE occurred_at < $cutoff"
        for stream, table in schema.STREAM_TABLES.items()}
_DELETE = {stream: f"DELETE FROM {table} WHERE occurred_at < $cutoff"
           for stream, table in schema.STREAM_TABLES.items()}


@dataclass(frozen=True)
class Params:
    keep: str
    cutoff: datetime
    apply: bool = False


def run(store: Store, params: Params) -> dict[str, Any]:
    streams = {}
    for stream in schema.STREAMS:
        count, oldest, newest = store.rows(_OLD[stream], {"cutoff": params.cutoff})[0]
        streams[stream] = {"events": count, "oldest": oldest, "newest": newest}
    if params.apply and any(s["events"] for s in streams.values()):
        with store.transaction():
            touched = sorted({f for stream in schema.STREAMS
                              for (f,) in store.rows(ledger.FILES_BEFORE[stream], {"cutoff": params.cutoff})})
            for stream in schema.STREAMS:
                store.execute(_DELETE[stream], {"cutoff": params.cutoff})
            entity_index.rebuild(store)  # no entries left for deleted events
            # The purge is recorded in the ledger, so that verify does not read it as tampering.
            after = ledger.digests(store, ledger.DIGEST_OF_FILES, {"file_ids": touched})
            ledger.append(store, "retention", {
                "keep": params.keep, "cutoff": params.cutoff.isoformat(),
                "deleted": {s: streams[s]["events"] for s in schema.STREAMS},
                "files": {str(f): {s: after.get(f, {}).get(s, ledger.EMPTY) for s in schema.STREAMS}
                          for f in touched}})
    return {"keep": params.keep, "cutoff": params.cutoff, "applied": params.apply, "streams": streams}


def view(result: dict[str, Any]) -> View:
    streams = result["streams"]
    verb = "deleted" if result["applied"] else "would be deleted"
    table = pa.table({
        "stream": list(streams),
        verb: pa.array([s["events"] for s in streams.values()], pa.int64()),
        "oldest": pa.array([s["oldest"] for s in streams.values()], pa.timestamp("us", "UTC")),
        "newest": pa.array([s["newest"] for s in streams.values()], pa.timestamp("us", "UTC")),
    })
    title = f"Retention: keep {result['keep']}; events before {result['cutoff']:%Y-%m-%d %H:%M} UTC {verb}"
    notes = [] if result["applied"] else ["Dry run: nothing was deleted. An owner adds --apply to delete."]
    return View(result, [Section(table, title=title)], notes)
