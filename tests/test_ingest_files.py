"""The "Files" cases of bad-inputs.md: compression, Parquet, damaged files, odd paths."""

from __future__ import annotations

import json
import os
from datetime import UTC
from pathlib import Path

import builders
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import CORPUS, FILES, load, rows

from fluentlog.errors import InputError
from fluentlog.ingest import columnar, expand
from fluentlog.ingest import files as ingest_files
from fluentlog.ingest import load as ingest_load
from fluentlog.ingest import whole as ingest_whole


def one(db: Path, path: Path, **options):
    (f,) = load(db, path, **options).files
    return f


@pytest.mark.parametrize("name", ["single.jsonl.gz", "multi_member.jsonl.gz", "gzip_named_plain.jsonl",
                                  "plain_named_gzip.jsonl.gz"])
def test_gzip_and_misnamed_files_are_read_by_content(db: Path, name: str) -> None:
    f = one(db, FILES / name)
    assert (f.status, f.inserted) == ("ingested", 3)


@pytest.mark.parametrize("name, message", [
    ("truncated.jsonl.gz", "truncated gzip"),
    ("crc_mismatch.jsonl.gz", "CRC check failed"),
    ("empty.parquet", "not Parquet"),
    ("json_named.parquet", "looks like JSON"),
])
def test_damaged_file_fails_alone_and_stores_nothing(db: Path, name: str, message: str) -> None:
    report = load(db, FILES / name, CORPUS / "clean.jsonl")
    bad, good = report.files
    assert bad.status == "failed" and message in bad.error
    assert bad.records == bad.inserted == 0
    assert good.status == "ingested" and good.inserted == 4
    assert rows(db, "SELECT count(*) FROM files") == [(1,)]
    assert rows(db, "SELECT count(*) FROM rejects") == [(0,)]


def _records() -> list[dict]:
    return [json.loads(line) for line in (CORPUS / "mixed_kinds.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("encoding, gzipped", [("utf-16", False), ("utf-16-le", False), ("utf-16-be", False),
                                               ("utf-16", True)])
def test_a_utf16_file_fails_alone_saying_how_to_convert_it(db: Path, tmp_path: Path, encoding: str,
                                                           gzipped: bool) -> None:
    """It was read as UTF-8 lines: a handful of mixed rejects, no word of the encoding."""
    import gzip
    path = tmp_path / "windows.jsonl"
    data = (CORPUS / "clean.jsonl").read_text().encode(encoding)
    path.write_bytes(gzip.compress(data) if gzipped else data)
    report = load(db, path, CORPUS / "clean.jsonl")
    bad, good = report.files
    assert bad.status == "failed" and "UTF-16" in bad.error and "iconv -f UTF-16 -t UTF-8" in bad.error
    assert good.inserted == 4 and rows(db, "SELECT count(*) FROM rejects") == [(0,)]


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_file_of_carriage_return_line_ends_fails_alone_saying_how_to_convert_it(db: Path, tmp_path: Path,
                                                                                   gzipped: bool) -> None:
    """Its four records were one line: reported as one truncated_record."""
    import gzip
    path = tmp_path / "mac.jsonl"
    data = (CORPUS / "clean.jsonl").read_bytes().replace(b"\n", b"\r")
    path.write_bytes(gzip.compress(data) if gzipped else data)
    (f,) = load(db, path).files
    assert f.status == "failed" and "carriage return alone" in f.error and "tr '\\r' '\\n'" in f.error


def test_parquet_with_structs(db: Path, tmp_path: Path) -> None:
    audit = [r for r in _records() if "action" in r]
    for r in audit:
        r["changes"] = json.dumps(r["changes"])
    path = tmp_path / "audit.parquet"
    pq.write_table(pa.Table.from_pylist(audit), path)
    f = one(db, path)
    assert (f.status, f.inserted, f.rejected) == ("ingested", 2, 0)
    got = rows(db, "SELECT actor_email, changes, line_no FROM audit_events ORDER BY line_no")
    assert got[0][0] == "dana.ruiz@northside.example"
    assert json.loads(got[0][1]) == json.loads(audit[0]["changes"])
    assert [g[2] for g in got] == [1, 2]


def test_parquet_with_objects_as_json_text(db: Path, tmp_path: Path) -> None:
    records = [{k: (json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in r.items()} for r in _records()]
    names = list(dict.fromkeys(k for r in records for k in r))
    path = tmp_path / "text.parquet"
    pq.write_table(pa.Table.from_pylist(records, schema=pa.schema([(n, pa.string()) for n in names])), path)
    f = one(db, path)
    assert (f.inserted, f.rejected) == (4, 0)
    assert rows(db, "SELECT city FROM access_events WHERE event_id = 'acc_0001'") == [("New York",)]


def test_parquet_timestamp_column(db: Path, tmp_path: Path) -> None:
    from datetime import datetime
    path = tmp_path / "ts.parquet"
    table = pa.table({"id": ["a1"], "occurred_at": pa.array([datetime(2026, 11, 20, 14, 5, tzinfo=UTC)],
                                                             pa.timestamp("ms", "UTC")),
                      "action": ["x.y"], "actor": [{"email": "a@b.example"}], "entity": [{"type": "t", "id": "1"}]})
    pq.write_table(table, path)
    one(db, path)
    assert rows(db, "SELECT occurred_at FROM audit_events")[0][0].isoformat() == "2026-11-20T14:05:00+00:00"


def test_parquet_with_other_schema_is_refused_naming_fields(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"when": ["2026-01-01"], "what": ["x"]}), path)
    f = one(db, path)
    assert f.status == "failed"
    assert "match none of the known sources" in f.error and "when, what" in f.error


def test_parquet_extra_columns_are_kept_and_named(db: Path, tmp_path: Path) -> None:
    records = [dict(r, tenant="north") for r in _records() if "action" in r]
    for r in records:
        r["changes"] = json.dumps(r["changes"])
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.Table.from_pylist(records), path)
    f = one(db, path)
    assert dict(f.new_fields) == {"tenant": 2}
    assert rows(db, "SELECT count(*) FROM audit_events WHERE raw LIKE '%tenant%'") == [(2,)]


_S = pa.string()
_ACTOR = pa.struct([("id", _S), ("email", _S), ("name", _S), ("role", _S)])
_LOCATION = pa.struct([("country", _S), ("lat", pa.float64()), ("lon", pa.float64())])


def _odd_parquet(folder: Path) -> list[Path]:
    """Parquet files of Fluent's columns whose rows hit every check: each row clean or not."""
    def audit(i: int, **changed) -> dict:
        record = {"id": f"aud-{i}", "occurred_at": "2026-03-01T10:00:00Z", "action": "appointment.updated",
                  "actor": {"id": "u1", "email": "Ann@x.example", "role": "admin"},
                  "entity": {"type": "appointment", "id": f"APT-{i}"},
                  "related": [{"type": "interpreter", "id": "I-1"}], "changes": '{"status": {"from": "a", "to": "b"}}'}
        return record | changed
    odd = [dict(id=None), dict(id="  "), dict(id="{x"), dict(occurred_at="yesterday"), dict(occurred_at="1700000000"),
           dict(occurred_at="2026-03-01 10:00:00"), dict(occurred_at="1980-01-01T00:00:00Z"), dict(occurred_at=""),
           dict(occurred_at="2026-03-01T10:00:00+0530"), dict(action=None), dict(action=" "), dict(actor=None),
           dict(actor={"id": None, "email": " ", "role": None}), dict(entity={"type": None, "id": "x"}),
           dict(entity=None), dict(changes="not json"), dict(changes='{"a": NaN}'), dict(changes='{"a": 1,}'),
           dict(changes="[" * 300 + "]" * 300), dict(changes="[" * 70 + "]" * 70), dict(changes='{"n": "NaN Smith"}'),
           dict(changes=None, related=None), dict(changes='  {"a" :  [1, 2.50]} '), dict(changes='"text"'),
           dict(id="aud-5"), dict(id="aud-6", action="other.action"),
           dict(actor={"id": "u2", "email": "\u0130nes@x.example", "role": None}), dict(changes="null"),
           # a repeated key in `changes` is found by the strict parser, which runs when the record's
           # text holds NaN, Infinity or a trailing comma anywhere
           dict(changes='{"a": 1, "a": 2}', actor={"id": "u1", "email": "a@x.example", "name": "NaNa"}),
           dict(changes='{"a": 1, "a": 2}', entity={"type": "appointment", "id": "E,}"}),
           dict(changes='{"a": 1, "a": 2}', id="aud-Infinity"), dict(changes='{"a": 1, "a": 2}'),
           dict(entity={"type": "t", "id": "[" * 250}),
           dict(changes="[" * 255 + "]" * 255), dict(changes="[" * 256 + "]" * 256)]  # the record: 256 and 257 deep
    audits = [audit(i) for i in range(20)] + [audit(100 + i, **o) for i, o in enumerate(odd)]
    schema = pa.schema([("id", _S), ("occurred_at", _S), ("action", _S), ("actor", _ACTOR),
                        ("entity", pa.struct([("type", _S), ("id", _S)])),
                        ("related", pa.list_(pa.struct([("type", _S), ("id", _S)]))), ("changes", _S)])
    pq.write_table(pa.Table.from_pylist(audits, schema=schema), folder / "audit.parquet", row_group_size=9)

    def signin(i: int, **changed) -> dict:
        return {"id": f"acc-{i}", "occurred_at": "2026-03-01T10:00:00Z", "event": "signin.succeeded",
                "user": {"email": "nina@x.example"}, "location": {"country": "DE", "lat": 52.5, "lon": 13.4}} | changed
    odd = [dict(location={"country": "DE", "lat": float("nan"), "lon": 1.0}),
           dict(location={"country": "DE", "lat": float("inf"), "lon": 1.0}), dict(location=None), dict(user=None),
           dict(user={"email": " "}), dict(event=None), dict(location={"country": None, "lat": 1e300, "lon": -0.0}),
           dict(location={"country": "X", "lat": 0.1, "lon": 1 / 3}), dict(id="acc-3")]
    signins = [signin(i) for i in range(10)] + [signin(100 + i, **o) for i, o in enumerate(odd)]
    schema = pa.schema([("id", _S), ("occurred_at", _S), ("event", _S), ("user", pa.struct([("email", _S)])),
                        ("location", _LOCATION)])
    table = pa.Table.from_pylist(signins, schema=schema)
    pq.write_table(table, folder / "access.parquet")
    as_text = pa.array([None if r["location"] is None else {k: (v if k == "country" or v is None else str(v))
                                                            for k, v in r["location"].items()} for r in signins]
                       + [], pa.struct([("country", _S), ("lat", _S), ("lon", _S)]))
    as_text = pa.concat_arrays([as_text, pa.array([{"country": "DE", "lat": "north", "lon": "1"}], as_text.type)])
    pq.write_table(pa.Table.from_pylist(signins + [signin(999)], schema=schema).set_column(4, "location", as_text),
                   folder / "access_text.parquet")
    as_float32 = table.set_column(4, "location", table.column("location").cast(
        pa.struct([("country", _S), ("lat", pa.float32()), ("lon", pa.float32())])))
    pq.write_table(as_float32, folder / "access_float32.parquet")
    return [folder / "audit.parquet", folder / "access.parquet", folder / "access_text.parquet",
            folder / "access_float32.parquet"]


_EVERYTHING = {
    "events": "SELECT * FROM audit_events ORDER BY file_id, line_no",
    "signins": "SELECT * FROM access_events ORDER BY file_id, line_no",
    "rejects": "SELECT * FROM rejects ORDER BY file_id, line_no",
    "conflicts": "SELECT * EXCLUDE (detected_at) FROM conflicts ORDER BY file_id, line_no",
}


@pytest.mark.parametrize("kind", [None, "audit"])
def test_parquet_judged_from_its_columns_matches_judging_its_rows_as_json(
        tmp_path: Path, monkeypatch, kind: str | None) -> None:
    """columnar.py takes the clean rows straight from the columns and sends the rest to be
    judged as text: every verdict, reason, stored value and count is what whole.py's way gives."""
    files = _odd_parquet(tmp_path)
    planned = [columnar.plan(f, kind) is not None for f in files]
    assert planned == [True] * 4 if kind is None else [True, False, False, False]  # --kind audit: sign-ins as JSON
    monkeypatch.setattr(columnar, "CHUNK_ROWS", 11)  # chunks across the odd rows
    monkeypatch.setattr(columnar, "BATCH_ROWS", 4)
    fast = load(tmp_path / "columns.duckdb", *files, kind=kind)
    monkeypatch.setattr(columnar, "plan", lambda *args: None)
    slow = load(tmp_path / "whole.duckdb", *files, kind=kind)
    assert [f.status for f in fast.files] == ["ingested"] * 4
    for a, b in zip(fast.files, slow.files, strict=True):
        assert (a.records, a.inserted, a.duplicates, a.conflicts, a.rejected_by_reason, a.new_fields) == (
            b.records, b.inserted, b.duplicates, b.conflicts, b.rejected_by_reason, b.new_fields)
    assert fast.files[0].rejected_by_reason["duplicate_key"] == 4 and fast.files[0].conflicts == 2
    assert fast.files[0].rejected_by_reason["nesting_too_deep"] == 2  # 257 and 301 deep
    assert fast.files[0].rejected >= 19 and fast.files[1].rejected >= 2
    for name, query in _EVERYTHING.items():
        # repr: a stored NaN latitude equals itself there
        assert repr(rows(tmp_path / "columns.duckdb", query)) == repr(rows(tmp_path / "whole.duckdb", query)), name
    kept = rows(tmp_path / "columns.duckdb", "SELECT count(*) FROM access_events WHERE raw IS NOT NULL")
    assert kept == [(1 if kind is None else 0,)]  # the latitude "north" keeps its record's text


@pytest.mark.parametrize("why, table", [
    ("a column of another kind", pa.table({"id": ["a"], "occurred_at": ["2026-01-01T00:00:00Z"], "action": ["x"],
                                           "event": ["y"]})),
    ("an unknown column", pa.table({"id": ["a"], "occurred_at": ["2026-01-01T00:00:00Z"], "action": ["x"],
                                    "tenant": ["n"]})),
    ("a number for text", pa.table({"id": [1], "occurred_at": ["2026-01-01T00:00:00Z"], "action": ["x"]})),
    ("an unknown nested field", pa.table({"id": ["a"], "occurred_at": ["2026-01-01T00:00:00Z"], "action": ["x"],
                                          "actor": [{"email": "a@x", "team": "t"}]})),
    ("no time column", pa.table({"id": ["a"], "action": ["x"]})),
    ("large records", pa.table({"id": ["a"], "occurred_at": ["2026-01-01T00:00:00Z"], "action": ["x" * 5000]})),
    ("a struct with a repeated name", pa.table({
        "id": ["a"], "occurred_at": ["2026-01-01T00:00:00Z"], "action": ["x"],
        "changes": pa.StructArray.from_arrays([pa.array([1]), pa.array([2])], fields=[pa.field("a", pa.int64()),
                                                                                   pa.field("a", pa.int64())])})),
    ("a map", pa.table({"id": ["a"], "occurred_at": ["2026-01-01T00:00:00Z"], "action": ["x"],
                        "changes": pa.array([{"m": [("k", 1)]}], pa.struct([("m", pa.map_(_S, pa.int64()))]))})),
    ("a half-precision latitude", pa.table({
        "id": ["a"], "occurred_at": ["2026-01-01T00:00:00Z"], "event": ["x"],
        "location": pa.array([{"lat": None}], pa.struct([("lat", pa.float16())]))})),
])
def test_parquet_of_other_shapes_is_judged_as_json(tmp_path: Path, why: str, table: pa.Table) -> None:
    path = tmp_path / "other.parquet"
    pq.write_table(table, path)
    assert columnar.plan(path, None) is None, why


def _not_utf8(values: list[bytes]) -> pa.Array:
    offsets = [0]
    for v in values:
        offsets.append(offsets[-1] + len(v))
    return pa.Array.from_buffers(_S, len(values), [None, pa.array(offsets, pa.int32()).buffers()[1],
                                                   pa.py_buffer(b"".join(values))])


@pytest.mark.parametrize("bad_time", [False, True])
def test_parquet_text_that_is_not_utf8_fails_that_file_alone(db: Path, tmp_path: Path, bad_time: bool) -> None:
    """pyarrow does not check UTF-8 and DuckDB's functions break on it (the database was
    invalidated for the files after); DuckDB's own Parquet reader refuses such a file."""
    n = 10_000
    ids = [f"a{i}".encode() for i in range(n)]
    ids[9000] = b"\xff"
    times = ["2026-03-01T10:00:00Z"] * n
    if bad_time:
        times[9000] = "not a time"  # the row goes to be judged as JSON text
    table = pa.table({"id": _not_utf8(ids), "occurred_at": times, "action": ["x.y"] * n,
                      "actor": [{"email": "p@x.example"}] * n, "entity": [{"type": "t", "id": "1"}] * n})
    pq.write_table(table, tmp_path / "bad.parquet")
    good = table.set_column(0, "id", pa.array([f"g{i}" for i in range(n)]))
    pq.write_table(good.set_column(1, "occurred_at", pa.array(["2026-03-01T10:00:00Z"] * n)), tmp_path / "good.parquet")
    assert columnar.plan(tmp_path / "bad.parquet", "audit") is not None
    bad, good = load(db, tmp_path / "bad.parquet", tmp_path / "good.parquet", kind="audit").files
    assert bad.status == "failed" and "UTF8" in bad.error and bad.inserted == 0
    assert (good.status, good.inserted) == ("ingested", n)
    assert rows(db, "SELECT count(*) FROM audit_events") == [(n,)]


def test_parquet_text_that_is_not_utf8_among_the_first_rows_fails_that_file_alone(db: Path, tmp_path: Path) -> None:
    """Source detection reads the first rows as Python objects: a UnicodeDecodeError there was an
    internal error (exit 70) ending the whole run."""
    ids = [f"a{i}".encode() for i in range(20)]
    ids[4] = b"a\xff"
    table = pa.table({"id": _not_utf8(ids), "occurred_at": ["2026-03-01T10:00:00Z"] * 20, "action": ["x.y"] * 20,
                      "actor": [{"email": "p@x.example"}] * 20, "entity": [{"type": "t", "id": "1"}] * 20})
    pq.write_table(table, tmp_path / "bad.parquet")
    bad, good = load(db, tmp_path / "bad.parquet", CORPUS / "clean.jsonl").files
    assert bad.status == "failed" and "rows 1-20 is not valid UTF-8" in bad.error
    assert good.status == "ingested" and good.inserted == 4


def test_parquet_json_column_holding_what_is_not_json_fails_that_file_alone(db: Path, tmp_path: Path) -> None:
    n = 3
    table = pa.table({"id": ["a", "b", "c"], "occurred_at": ["2026-03-01T10:00:00Z"] * n, "action": ["x"] * n,
                      "actor": [{"email": "p@x.example"}] * n, "entity": [{"type": "t", "id": "1"}] * n,
                      "changes": pa.array(['{"a": 1}', "{bad", "[1, 2]"], pa.json_())})
    pq.write_table(table, tmp_path / "bad.parquet")
    assert columnar.plan(tmp_path / "bad.parquet", None) is not None
    bad, good = load(db, tmp_path / "bad.parquet", CORPUS / "clean.jsonl").files
    assert bad.status == "failed" and "row 2 holds text that is not JSON in a JSON column (changes)" in bad.error
    assert good.status == "ingested" and good.inserted == 4


def test_parquet_chunks_fill_whole_row_groups_in_bounded_batches(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(columnar, "CHUNK_ROWS", 1000)
    monkeypatch.setattr(columnar, "BATCH_ROWS", 300)
    monkeypatch.setattr(columnar, "BATCH_BYTES", 20_000)
    sizes = [10] * 1500 + [2_000] * 100 + [10] * 900  # a run of larger records in the middle
    table = pa.table({"id": [f"a{i}" for i in range(len(sizes))], "occurred_at": ["t"] * len(sizes),
                      "action": ["x" * k for k in sizes]})
    pq.write_table(table, tmp_path / "f.parquet", row_group_size=333)
    chunks = list(columnar.chunks(tmp_path / "f.parquet"))
    assert [c.num_rows for c in chunks] == [1000, 1000, 500]
    assert [c.column("line_no")[0].as_py() for c in chunks] == [1, 1001, 2001]
    assert max(b.nbytes for c in chunks for b in c.to_batches()) <= 20_000
    assert pa.concat_tables(chunks).column("action").to_pylist() == table.column("action").to_pylist()


def test_parquet_of_fluent_columns_is_judged_from_them(tmp_path: Path) -> None:
    table = pa.table({"id": ["a"], "occurred_at": ["2026-01-01T00:00:00Z"], "action": ["x"]})
    pq.write_table(table, tmp_path / "audit.parquet")
    assert columnar.plan(tmp_path / "audit.parquet", None).stream == "audit"
    assert columnar.plan(tmp_path / "audit.parquet", "access") is None  # --kind says otherwise: judged as JSON
    assert columnar.plan(FILES.parent.parent.parent / "sample_data" / "access.parquet", None).stream == "access"


def test_parquet_with_json_columns_as_duckdb_writes_them_is_judged_from_them(db: Path, tmp_path: Path) -> None:
    import duckdb
    path = tmp_path / "typed.parquet"
    duckdb.sql("""COPY (SELECT 'a1' AS id, '2026-01-01T00:00:00Z' AS occurred_at, 'x.y' AS action,
                  {'email': 'a@x.example'} AS actor, {'type': 't', 'id': '1'} AS entity,
                  '[{"type": "u", "id": "2"}]'::JSON AS related, '{"s": {"from": 1, "to": 2.50}}'::JSON AS changes)
                  TO '""" + str(path) + "' (FORMAT parquet)")
    assert columnar.plan(path, None) is not None
    assert one(db, path).inserted == 1
    assert rows(db, "SELECT related::VARCHAR, changes::VARCHAR FROM audit_events") == [
        ('[{"type":"u","id":"2"}]', '{"s":{"from":1,"to":2.5}}')]


@pytest.mark.parametrize("damage", ["truncated", "bad_footer"])
def test_corrupt_parquet_fails_cleanly(db: Path, tmp_path: Path, damage: str) -> None:
    good = tmp_path / "good.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": "a", "occurred_at": "2026-11-20T00:00:00Z"}] * 50), good)
    data = good.read_bytes()
    bad = tmp_path / f"{damage}.parquet"
    bad.write_bytes(data[: len(data) // 2] + b"PAR1" if damage == "truncated" else data[:-8] + b"\x00\x00\x00\x00PAR1")
    f = one(db, bad)
    assert f.status == "failed" and f.error
    assert rows(db, "SELECT count(*) FROM files") == [(0,)]


def test_huge_line_is_rejected_with_bounded_memory(db: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ingest_files, "MAX_LINE_BYTES", 1 << 20)
    monkeypatch.setattr(ingest_files, "CHUNK_BYTES", 256 << 10)
    good = (CORPUS / "clean.jsonl").read_text().splitlines()
    path = tmp_path / "huge.jsonl"
    path.write_text(good[0] + "\n" + '{"id": "big", "pad": "' + "x" * (3 << 20) + '"}\n' + good[1] + "\n")
    f = one(db, path)
    assert (f.inserted, dict(f.rejected_by_reason)) == (2, {"line_too_large": 1})
    (line_no, length, kept), = rows(db, "SELECT line_no, raw_length, octet_length(raw) FROM rejects")
    assert line_no == 2 and length == len('{"id": "big", "pad": "') + (3 << 20) + 2
    assert kept == ingest_files.KEPT_OF_HUGE_LINE
    assert rows(db, "SELECT line_no FROM audit_events ORDER BY 1") == [(1,), (3,)]


def test_huge_line_inside_a_chunk(db: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ingest_files, "MAX_LINE_BYTES", 1000)
    good = (CORPUS / "clean.jsonl").read_text().splitlines()
    path = tmp_path / "long.jsonl"
    path.write_text(good[0] + "\n" + '{"pad": "' + "y" * 5000 + '"}\n' + good[1] + "\n")
    f = one(db, path)
    assert (f.inserted, dict(f.rejected_by_reason)) == (2, {"line_too_large": 1})
    assert rows(db, "SELECT line_no FROM rejects") == [(2,)]


def test_many_chunks_number_lines_exactly(db: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ingest_files, "CHUNK_BYTES", 4096)
    lines = [json.dumps({"id": f"a{i}", "occurred_at": "2026-11-20T00:00:00Z", "action": "x",
                         "actor": {"email": "a@b"}, "entity": {"type": "t", "id": str(i)}}) for i in range(500)]
    lines[321] = "{broken"
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(lines) + "\n")
    f = one(db, path)
    assert (f.inserted, f.rejected) == (499, 1)
    assert rows(db, "SELECT line_no, byte_offset FROM rejects") == [(322, sum(len(x) + 1 for x in lines[:321]))]
    assert rows(db, "SELECT min(line_no), max(line_no), count(DISTINCT line_no) FROM audit_events") == [(1, 500, 499)]


def test_each_sort_unit_is_stored_in_person_then_time_order(db: Path, tmp_path: Path) -> None:
    """signins and timeline read a person's events from a few vectors only because each sort
    unit is stored clustered by person (docs/performance.md); line numbers keep the file's order."""
    people = ["cy@x.example", "al@x.example", "bo@x.example"]
    signins = [builders.access(60 - i, email=people[i % 3]) for i in range(60)]
    changes = [builders.audit(60 - i, "user.updated", people[i % 3], ("user", str(i))) for i in range(60)]
    mixed = [r for pair in zip(signins, changes, strict=True) for r in pair]  # both kinds: the slow path too
    one(db, builders.write_jsonl(tmp_path / "mixed.jsonl", mixed))
    for table, person in (("access_events", "user_email"), ("audit_events", "actor_email")):
        stored = rows(db, f"SELECT {person}, occurred_at, line_no FROM {table} ORDER BY rowid")
        assert len(stored) == 60
        assert stored == sorted(stored, key=lambda r: (r[0], r[1]))
        assert [r[0] for r in stored] == sorted(p for p in people for _ in range(20))
        assert sorted(r[2] for r in stored) != [r[2] for r in stored]  # not in file order


def _units(stored: list[tuple]) -> list[list[tuple]]:
    """Stored (person, time, line_no) rows cut where the (person, time, line) order breaks."""
    units: list[list[tuple]] = []
    for row in stored:
        if units and row > units[-1][-1]:
            units[-1].append(row)
        else:
            units.append([row])
    return units


def test_sort_units_span_chunks_and_follow_each_other_in_file_order(db: Path, tmp_path: Path,
                                                                   monkeypatch) -> None:
    """Events wait until a sort unit is full: a person's events of several chunks sit together,
    and the units are stored one after another in the file's order, numbered in storage order."""
    monkeypatch.setattr(ingest_files, "CHUNK_BYTES", 4096)  # ~14 lines, 7 of either kind, per chunk
    monkeypatch.setattr(ingest_load, "SORT_UNIT_ROWS", 45)  # ~6.5 chunks
    monkeypatch.setattr(ingest_load, "SORT_UNIT_BYTES", 8 * 4096)  # the rows bound comes first, as in use
    people = ["cy@x.example", "al@x.example", "bo@x.example"]
    signins = [builders.access(300 - i, email=people[i % 3]) for i in range(150)]
    changes = [builders.audit(300 - i, "user.updated", people[i % 3], ("user", str(i))) for i in range(150)]
    mixed = [r for pair in zip(signins, changes, strict=True) for r in pair]
    spilled = []  # events waiting in spill files before each chunk: bounded by a unit and a chunk
    make_room = ingest_load._FileLoader._make_room
    monkeypatch.setattr(ingest_load._FileLoader, "_make_room", lambda self, size: (
        spilled.append(rows_in(self.store.scratch)), make_room(self, size)))
    f = one(db, builders.write_jsonl(tmp_path / "mixed.jsonl", mixed))
    assert (f.inserted, f.rejected) == (300, 0)
    assert 0 < max(spilled) < 2 * (45 + 20)
    assert not db.with_name(db.name + ".sort.tmp").exists()  # the spill files are gone
    for table, person in (("access_events", "user_email"), ("audit_events", "actor_email")):
        units = _units(rows(db, f"SELECT {person}, occurred_at, line_no FROM {table} ORDER BY rowid"))
        assert 3 <= len(units) <= 5, [len(u) for u in units]  # 150 events in units of 45 and more
        assert all(len(u) >= 45 for u in units[:-1])  # several chunks each: each person once per unit
        assert all(len({r[0] for r in u}) == 3 for u in units[:-1])
        lines = [sorted(r[2] for r in u) for u in units]
        assert all(a[-1] < b[0] for a, b in zip(lines, lines[1:], strict=False))  # file order, unit by unit
        assert sum(len(u) for u in units) == 150
    seqs = rows(db, "SELECT seq FROM audit_events ORDER BY rowid")
    assert [s for (s,) in seqs] == list(range(150))


@pytest.mark.parametrize("first", ["audit", "access"])
def test_a_mixed_file_takes_the_fast_path_for_both_kinds(db: Path, tmp_path: Path, monkeypatch, first: str) -> None:
    """Lines of the other kind used to go through the slow path, whose tables (with their
    text) DuckDB keeps until the file commits: DATABASE.tmp grew ~170 MB per 1M mixed lines.
    Now a mixed chunk's other kind takes a fast path too, and the slow path sees only the odd."""
    monkeypatch.setattr(ingest_files, "CHUNK_BYTES", 8192)
    staged = []
    execute = ingest_load.Store.execute
    monkeypatch.setattr(ingest_load.Store, "execute", lambda self, statement, params=None: (
        staged.append(statement) if statement == ingest_load.sql.STAGE else None, execute(self, statement, params))[1])
    signins = [builders.access(900 - i, email=f"p{i % 5}@x.example") for i in range(150)]
    changes = [builders.audit(900 - i, "user.updated", f"p{i % 5}@x.example", ("user", str(i))) for i in range(150)]
    pairs = zip(signins, changes, strict=True) if first == "access" else zip(changes, signins, strict=True)
    records = [r for pair in pairs for r in pair]
    records.insert(77, {"id": "odd", "occurred_at": "not a time", "event": "signin.succeeded"})
    f = one(db, builders.write_jsonl(tmp_path / "mixed.jsonl", records))
    assert (f.records, f.inserted, f.rejected, dict(f.rejected_by_reason)) == (301, 300, 1, {"bad_timestamp": 1})
    assert rows(db, "SELECT (SELECT count(*) FROM audit_events), (SELECT count(*) FROM access_events)") == [(150, 150)]
    assert len(staged) == 1  # the chunk with the odd record only
    assert rows(db, "SELECT line_no FROM rejects") == [(78,)]


def rows_in(scratch: Path) -> int:
    import duckdb
    files = [str(p) for p in scratch.glob("*.parquet")]
    with duckdb.connect() as con:
        return con.execute("SELECT count(*) FROM read_parquet($f)", {"f": files}).fetchone()[0] if files else 0


def test_duplicates_and_conflicts_are_found_across_sort_units(db: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ingest_files, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(ingest_load, "SORT_UNIT_ROWS", 12)
    records = [builders.audit(200 - i, "user.updated", f"p{i % 4}@x.example", ("user", str(i))) for i in range(100)]
    records.append(dict(records[3]))  # the same event again, units later: a duplicate
    records.append({**records[7], "action": "user.deleted"})  # same id, other content: a conflict
    f = one(db, builders.write_jsonl(tmp_path / "repeats.jsonl", records))
    assert (f.records, f.inserted, f.duplicates, f.conflicts) == (102, 100, 1, 1)
    assert rows(db, "SELECT count(*), count(DISTINCT event_id), count(DISTINCT seq) FROM audit_events") == [
        (100, 100, 100)]
    assert rows(db, "SELECT event_id, line_no FROM conflicts") == [(records[7]["id"], 102)]


def test_a_file_that_fails_midway_leaves_no_pending_events_or_spill_files(db: Path, tmp_path: Path,
                                                                          monkeypatch) -> None:
    """--strict rolls the whole file back, stored units and pending events alike; the spill
    files go too, and the next file loads as if nothing had happened."""
    monkeypatch.setattr(ingest_files, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(ingest_load, "SORT_UNIT_ROWS", 12)
    records = [builders.access(100 - i, email=f"p{i % 4}@x.example") for i in range(80)]
    records[70]["occurred_at"] = "not a time"
    (f,) = load(db, builders.write_jsonl(tmp_path / "bad.jsonl", records), strict=True).files
    assert (f.status, f.inserted) == ("failed", 0)
    assert rows(db, "SELECT count(*) FROM access_events") == [(0,)]
    scratch = db.with_name(db.name + ".sort.tmp")
    assert not scratch.exists()  # no spill file left behind
    scratch.mkdir()
    (scratch / "access-1-1.parquet").write_bytes(b"left by a killed run")
    good = builders.write_jsonl(tmp_path / "good.jsonl", records[:70])
    assert one(db, good).inserted == 70
    assert rows(db, "SELECT count(*) FROM access_events") == [(70,)]
    assert not scratch.exists()  # cleared before and after


@pytest.mark.parametrize("container", ["json-array", "parquet", "parquet-columns"])
@pytest.mark.parametrize("records_are", ["small: read in place", "large: read through Arrow"])
def test_whole_file_formats_are_judged_in_slices_with_exact_record_numbers(
        db: Path, tmp_path: Path, monkeypatch, container: str, records_are: str) -> None:
    monkeypatch.setattr(ingest_load, "MATERIALISED_SLICE", 7)  # records per slice
    monkeypatch.setattr(ingest_load, "MATERIALISED_SLICE_BYTES", 1500)  # bytes per slice: ~5 records
    monkeypatch.setattr(columnar, "CHUNK_ROWS", 7)  # and per chunk of columns, in batches of 3
    monkeypatch.setattr(columnar, "BATCH_ROWS", 3)
    if container == "parquet":
        monkeypatch.setattr(columnar, "plan", lambda *args: None)  # whole.py's way
    if records_are.startswith("large"):
        monkeypatch.setattr(ingest_load, "SMALL_RECORD", 1)
    records = [builders.access(i, email=f"p{i % 4}@x.example") for i in range(30)]
    records[17]["occurred_at"] = "not a time"
    if container == "json-array":
        path = tmp_path / "all.json"
        path.write_text(json.dumps(records))
    else:
        (path,) = builders.write_parquet(tmp_path, records)
        assert (columnar.plan(path, None) is not None) == (container == "parquet-columns")
    f = one(db, path)
    assert (f.records, f.inserted, f.rejected) == (30, 29, 1)
    assert rows(db, "SELECT line_no, reason FROM rejects") == [(18, "bad_timestamp")]
    stored = rows(db, "SELECT line_no, event_id FROM access_events ORDER BY line_no")
    assert stored == [(i + 1, r["id"]) for i, r in enumerate(records) if i != 17]


def test_chunks_fill_whole_row_groups(db: Path, tmp_path: Path, monkeypatch) -> None:
    """A half-full row group per chunk would be merged and rewritten by the next checkpoint,
    leaving freed blocks in the file: chunks hold whole row groups of lines."""
    monkeypatch.setattr(ingest_files, "CHUNK_BYTES", 12 << 20)  # ~1.2 row groups of these lines
    n = 2 * ingest_files.ROW_GROUP_LINES + 14_240
    lines = [json.dumps({"id": f"a{i}", "occurred_at": "2026-11-20T00:00:00Z", "event": "signin.succeeded",
                         "user": {"email": f"p{i % 50}@x.example"}}) for i in range(n)]
    path = tmp_path / "long.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert one(db, path).inserted == n
    groups = rows(db, "SELECT sum(count) FROM pragma_storage_info('access_events') "
                      "WHERE column_name = 'file_id' AND segment_type <> 'VALIDITY' GROUP BY row_group_id ORDER BY 1")
    assert sorted(g for (g,) in groups) == [14_240, ingest_files.ROW_GROUP_LINES, ingest_files.ROW_GROUP_LINES]
    assert rows(db, "SELECT min(line_no), max(line_no), count(DISTINCT line_no) FROM access_events") == [(1, n, n)]
    assert rows(db, "SELECT count(*) FROM access_events WHERE event_id <> 'a' || (line_no - 1)") == [(0,)]


@pytest.mark.parametrize("final_newline, reason", [(True, "malformed_json"), (False, "truncated_record")])
def test_last_line_after_a_row_group_cut_is_truncated_only_without_newline(
        db: Path, tmp_path: Path, monkeypatch, final_newline: bool, reason: str) -> None:
    monkeypatch.setattr(ingest_files, "ROW_GROUP_LINES", 5)
    monkeypatch.setattr(ingest_files, "CHUNK_BYTES", 4096)
    lines = [json.dumps({"id": f"a{i}", "occurred_at": "2026-11-20T00:00:00Z", "event": "signin.succeeded",
                         "user": {"email": "p@x.example"}}) for i in range(40)] + ['{"id": "x", broken']
    path = tmp_path / "cut.jsonl"
    path.write_text("\n".join(lines) + ("\n" if final_newline else ""))
    f = one(db, path)
    assert (f.inserted, f.rejected) == (40, 1)
    assert rows(db, "SELECT line_no, reason FROM rejects") == [(41, reason)]


def test_prefetch_keeps_at_most_two_chunks_in_flight() -> None:
    import time
    made = []

    def chunks():
        for i in range(10):
            made.append(i)
            yield i

    stream = ingest_files.prefetch(chunks())
    assert next(stream) == 0
    time.sleep(0.3)  # the reader thread would run ahead now if it could
    assert made == [0, 1]
    assert list(stream) == list(range(1, 10))


def test_ingest_keeps_at_most_two_read_buffers_when_reading_is_the_slow_side(
        db: Path, tmp_path: Path, monkeypatch) -> None:
    """The loading loop drops its chunk before the reader's next read (slow disk, gzip)."""
    import time
    import weakref
    monkeypatch.setattr(ingest_files, "CHUNK_BYTES", 1 << 16)
    monkeypatch.setattr(ingest_files, "ROW_GROUP_LINES", 100)
    live: dict[int, weakref.ref] = {}  # read buffers not yet freed
    peak = [0]

    class Buffer(bytearray):
        def __init__(self, *args) -> None:
            super().__init__(*args)
            if len(self) >= ingest_files.CHUNK_BYTES // 4:
                key = id(self)
                live[key] = weakref.ref(self, lambda _, key=key: live.pop(key, None))
                peak[0] = max(peak[0], len(live))

    slow_read = ingest_files.HashingReader.readinto

    def readinto(self, buffer):
        time.sleep(0.05)
        return slow_read(self, buffer)

    monkeypatch.setattr(ingest_files, "bytearray", Buffer, raising=False)
    monkeypatch.setattr(ingest_files.HashingReader, "readinto", readinto)
    records = [builders.access(i, email=f"p{i % 7}@x.example") for i in range(1500)]
    assert one(db, builders.write_jsonl(tmp_path / "slow.jsonl", records)).inserted == 1500
    assert peak[0] == 2


@pytest.mark.parametrize("packing", ["plain", "gzip", "gzip members"])
def test_a_small_file_is_read_into_a_buffer_of_its_size(
        db: Path, tmp_path: Path, monkeypatch, packing: str) -> None:
    """A buffer is zeroed when made: one of CHUNK_BYTES for each of 600 daily files of 2 MB
    cost ~0.15 s a file. A gzip file's trailer gives the size of its last member only; the
    rest of a multi-member file is then read in full chunks, none of it lost."""
    import gzip
    sizes: list[int] = []

    class Buffer(bytearray):
        def __init__(self, *args) -> None:
            super().__init__(*args)
            sizes.append(len(self))

    monkeypatch.setattr(ingest_files, "bytearray", Buffer, raising=False)
    records = [builders.access(i, email=f"p{i % 7}@x.example") for i in range(300)]
    text = builders.write_jsonl(tmp_path / "day.jsonl", records).read_bytes()
    path = tmp_path / "day.jsonl.gz"
    if packing == "plain":
        path = tmp_path / "day.jsonl"
    elif packing == "gzip":
        path.write_bytes(gzip.compress(text))
    else:
        half = text.index(b"\n", len(text) // 2) + 1
        path.write_bytes(gzip.compress(text[:half]) + gzip.compress(text[half:]))
    assert one(db, path).inserted == 300
    assert max(sizes) <= (len(text) + 1 if packing != "gzip members" else ingest_files.CHUNK_BYTES)
    assert sizes[0] <= len(text) + 1 - (len(text) // 2 if packing == "gzip members" else 0)


def test_a_file_that_grows_while_read_is_read_to_its_end(db: Path, tmp_path: Path, monkeypatch) -> None:
    """The size taken before reading is a hint only."""
    monkeypatch.setattr(ingest_files, "_content_size", lambda path, gzipped: 10)
    records = [builders.access(i, email=f"p{i % 7}@x.example") for i in range(300)]
    assert one(db, builders.write_jsonl(tmp_path / "grown.jsonl", records)).inserted == 300


def test_many_small_files_leave_no_free_blocks_in_the_database(tmp_path: Path) -> None:
    """DuckDB rewrites the part-filled last row group at each checkpoint (by default every
    16 MB of log): 58 daily files of 200,000 events left 31 of 83 blocks free."""
    from conftest import cli
    folder = tmp_path / "daily"
    folder.mkdir()
    line = ('{{"id": "e{day}-{n}", "occurred_at": "2026-03-{day:02d}T{h:02d}:{m:02d}:00Z", "action": "record.updated", '
            '"actor": {{"email": "user{u}@x.example", "role": "admin"}}, "entity": {{"type": "appointment", '
            '"id": "APT-{n}"}}, "changes": {{"status": {{"from": "scheduled", "to": "confirmed {n}"}}, '
            '"notes": {{"from": "{pad}", "to": "{pad} again"}}}}, "context": {{"ip": "203.0.113.{u}"}}}}\n')
    pad = "x" * 200
    for day in range(1, 29):
        (folder / f"audit-{day:02d}.jsonl").write_text("".join(
            line.format(day=day, n=n, h=n // 300 % 24, m=n % 60, u=n % 97, pad=pad) for n in range(4000)))
    db = tmp_path / "t.duckdb"
    run = cli("ingest", str(folder), "--db", str(db), "--format", "json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["totals"]["inserted"] == 28 * 4000
    assert not db.with_name("t.duckdb.wal").exists()  # closing the database checkpointed the rest
    assert rows(db, "SELECT free_blocks FROM pragma_database_size()") == [(0,)]


def test_record_batches_are_bounded_in_bytes_as_well_as_rows() -> None:
    """DuckDB makes vectors of up to a batch's rows: 2,048 lines of 1 MB each in one vector
    ran a 300 MB file of such lines out of memory."""
    big = ingest_files.batched(pa.table({"line_no": list(range(100)), "byte_offset": list(range(100)),
                                         "raw": ["x" * 100_000] * 100}))
    assert max(b.num_rows for b in big.table.to_batches()) == ingest_files.BATCH_BYTES // 100_000
    assert big.table.num_rows == 100
    small = ingest_files.batched(pa.table({"line_no": list(range(20_000)), "byte_offset": list(range(20_000)),
                                           "raw": ["{}"] * 20_000}))
    assert max(b.num_rows for b in small.table.to_batches()) == ingest_files.BATCH_ROWS


@pytest.mark.parametrize("cores", [1, 2, 8])
def test_a_small_chunk_is_cut_into_a_batch_per_core(monkeypatch, cores: int) -> None:
    """DuckDB scans an Arrow table one batch per thread: a daily file's chunk in one batch
    was judged on one core."""
    monkeypatch.setattr(ingest_files, "_CORES", cores)

    def batch_rows(n: int) -> list[int]:
        table = pa.table({"line_no": list(range(n)), "byte_offset": list(range(n)), "raw": ["{}"] * n})
        return [b.num_rows for b in ingest_files.batched(table).table.to_batches()]

    assert batch_rows(3300) == {1: [3300], 2: [1650, 1650], 8: [413] * 7 + [409]}[cores]
    assert batch_rows(100) == [100]  # too few to be worth cutting


def test_a_json_array_too_large_to_read_says_how_to_load_it() -> None:
    too_big = ingest_whole.unreadable("json-array", 'Invalid Input Error: "maximum_object_size" of 67108864 '
                                                    'bytes exceeded while reading file "x.json"')
    no_memory = ingest_whole.unreadable("json-array+gzip", "Out of Memory Error: failed to pin block")
    for message in (too_big, no_memory):
        assert "jq -c '.[]' FILE > FILE.jsonl" in message and "16 MiB is rejected alone" in message
    other = ingest_whole.unreadable("parquet", "Out of Memory Error: x")
    assert other == "cannot read as parquet: Out of Memory Error: x"


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        expand([str(tmp_path / "nope.jsonl")])


def test_directory_without_logs_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="holds no log files"):
        expand([str(tmp_path)])


def test_a_name_that_exists_is_taken_literally_not_as_a_glob(tmp_path: Path) -> None:
    """'audit[1].jsonl' read audit1.jsonl instead; 'export [Nov].jsonl' matched nothing."""
    for name in ("audit[1].jsonl", "audit1.jsonl", "export [Nov].jsonl"):
        (tmp_path / name).write_text("")
    assert expand([str(tmp_path / "audit[1].jsonl")]) == [tmp_path / "audit[1].jsonl"]
    assert expand([str(tmp_path / "export [Nov].jsonl")]) == [tmp_path / "export [Nov].jsonl"]
    assert expand([str(tmp_path / "audit[0-9].jsonl")]) == [tmp_path / "audit1.jsonl"]  # still a glob


def test_fluentlogs_own_files_beside_a_database_are_skipped(tmp_path: Path) -> None:
    """Ingesting the folder that holds the database read its access log as an export (failed,
    exit 4, on every run after the first)."""
    for name in ("day1.jsonl", "audit.duckdb", "audit.duckdb.access.jsonl", "audit.duckdb.lock.json",
                 "other.access.jsonl"):
        (tmp_path / name).write_text("")
    skipped: list[Path] = []
    found = expand([str(tmp_path)], skipped)
    assert [p.name for p in found] == ["day1.jsonl", "other.access.jsonl"]  # no database beside it
    assert sorted(p.name for p in skipped) == ["audit.duckdb", "audit.duckdb.access.jsonl", "audit.duckdb.lock.json"]
    skipped = []  # a glob, or the shell's expansion of one, skips it too
    assert [p.name for p in expand([str(tmp_path / "*.jsonl")], skipped)] == ["day1.jsonl", "other.access.jsonl"]
    assert [p.name for p in skipped] == ["audit.duckdb.access.jsonl"]
    with pytest.raises(InputError, match="fluentlog's own file beside a database"):
        expand([str(tmp_path / "audit.duckdb.access.jsonl")])


def test_fifo_is_an_input_error(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        expand([str(fifo)])


def test_directories_recurse_and_globs_expand(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/one.jsonl", "a/b/two.jsonl.gz", "a/b/skip.txt", "three.parquet"):
        (tmp_path / name).write_text("")
    found = expand([str(tmp_path / "a"), str(tmp_path / "*.parquet")])
    assert [p.name for p in found] == ["two.jsonl.gz", "one.jsonl", "three.parquet"]  # sorted by path
    with pytest.raises(InputError, match="no file matches"):
        expand([str(tmp_path / "*.ndjson")])


@pytest.mark.parametrize("read_by", ["columnar", "whole"])
def test_parquet_page_checksums_are_verified(db: Path, tmp_path: Path, read_by: str) -> None:
    table = pa.table({"id": [f"a{i}" for i in range(2000)], "occurred_at": ["2026-11-20T00:00:00Z"] * 2000,
                      "action": ["x.y"] * 2000, "actor": [{"email": "a@b.example"}] * 2000,
                      "entity": [{"type": "t", "id": "1"}] * 2000,
                      **({"tenant": ["n"] * 2000} if read_by == "whole" else {})})
    good = tmp_path / "good.parquet"
    pq.write_table(table, good, write_page_checksum=True, compression="none")
    assert (columnar.plan(good, None) is not None) == (read_by == "columnar")
    data = bytearray(good.read_bytes())
    data[data.find(b"a1000") + 1] ^= 0x01  # one bit, inside a data page
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(bytes(data))
    f = one(db, bad)
    assert f.status == "failed" and "CRC checksum verification failed" in f.error
    assert rows(db, "SELECT count(*) FROM audit_events") == [(0,)]
    assert one(db, good).inserted == 2000


@pytest.mark.parametrize("share", [0, 1, 50])
def test_a_record_is_judged_by_its_kind_whatever_the_mix_around_it(db: Path, tmp_path: Path, share: int) -> None:
    """A sign-in with an audit field holding a repeated key, in a file of its own kind or among
    audit events at any proportion: the same verdict (it used to depend on the mix)."""
    odd = ('{"id": "odd", "occurred_at": "2026-11-20T00:00:00Z", "event": "signin.succeeded", '
           '"user": {"email": "p@x.example"}, "entity": {"id": 1, "id": 2}}')
    signins = [json.dumps(builders.access(500 - i, email="p@x.example")) for i in range(200)]
    changes = [json.dumps(builders.audit(500 - i, "user.updated", "a@x.example", ("user", str(i)))) for i in range(200)]
    lines = signins[:20] if share == 0 else changes + signins[:200 * share // 100]  # 0: a file of its kind
    lines.insert(len(lines) // 2, odd)
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    f = one(db, path)
    assert (f.rejected, dict(f.new_fields)) == (0, {"entity": 1})
    assert rows(db, "SELECT json_extract(raw, '$.entity') IS NOT NULL FROM access_events WHERE event_id = 'odd'") == [
        (True,)]


def test_a_killed_runs_spill_files_in_a_folder_given_are_listed_as_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "audit.jsonl").write_text(json.dumps(builders.audit(5, "user.updated", "a@x.example", ("user", "1")))
                                        + "\n")
    spill = folder / "store.duckdb.sort.tmp"
    spill.mkdir()
    (spill / "audit-1-1.parquet").write_bytes(b"left by a killed run")
    skipped: list[Path] = []
    assert expand([str(folder)], skipped) == [(folder / "audit.jsonl").resolve()]
    assert skipped == [spill / "audit-1-1.parquet"]
