"""Property: damaged JSON Lines never crash ingest, and every record is accounted for."""

from __future__ import annotations

import tempfile
from pathlib import Path

from conftest import CORPUS, load, rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CLEAN = (CORPUS / "clean.jsonl").read_bytes() + (CORPUS / "mixed_kinds.jsonl").read_bytes()

mutation = st.tuples(st.sampled_from(["flip", "delete", "insert"]), st.integers(0, len(CLEAN) - 1),
                     st.binary(min_size=1, max_size=4))


def mutate(data: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, at, blob in edits:
        at %= max(len(out), 1)
        if kind == "flip" and out:
            out[at] ^= blob[0] or 1
        elif kind == "delete":
            del out[at:at + len(blob)]
        else:
            out[at:at] = blob
    return bytes(out)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=6))
def test_mutated_jsonl_is_conserved(edits: list[tuple[str, int, bytes]]) -> None:
    data = mutate(CLEAN, edits)
    with tempfile.TemporaryDirectory() as tmp:
        path, db = Path(tmp) / "m.jsonl", Path(tmp) / "m.duckdb"
        path.write_bytes(data)
        (f,) = load(db, path).files
        assert f.status == "ingested", f.error
        nonblank = sum(1 for line in data.removeprefix(b"\xef\xbb\xbf").split(b"\n") if line.strip(b" \t\r\n"))
        assert f.records == nonblank == f.inserted + f.duplicates + f.conflicts + f.rejected
        stored = rows(db, "SELECT (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM access_events)")
        assert stored == [(f.inserted,)]
        assert rows(db, "SELECT count(*) FROM rejects") == [(f.rejected,)]
        assert rows(db, "SELECT count(*) FROM conflicts") == [(f.conflicts,)]
