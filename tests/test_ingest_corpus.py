"""Every "Records and lines" case of bad-inputs.md, one small file each, on a real DuckDB."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from conftest import CORPUS, load, rows

# file -> (inserted, duplicates, conflicts, rejected by reason)
EXPECTED = {
    "clean.jsonl": (4, 0, 0, {}),
    "malformed_json_line_2.jsonl": (3, 0, 0, {"malformed_json": 1}),
    "truncated_last_line.jsonl": (3, 0, 0, {"truncated_record": 1}),
    "no_trailing_newline.jsonl": (4, 0, 0, {}),
    "trailing_garbage.jsonl": (2, 0, 0, {"malformed_json": 1}),
    "not_an_object.jsonl": (2, 0, 0, {"not_an_object": 4}),
    "duplicate_key.jsonl": (2, 0, 0, {"duplicate_key": 1}),
    "duplicate_key_nested.jsonl": (1, 0, 0, {"duplicate_key": 1}),
    "unknown_fields.jsonl": (3, 0, 0, {}),
    "missing_fields.jsonl": (0, 0, 0, {"missing_field:id": 1, "missing_field:occurred_at": 1,
                                       "missing_field:actor": 1, "missing_field:entity": 1,
                                       "missing_field:user": 1}),
    "timestamp_offsets.jsonl": (3, 0, 0, {}),
    "timestamp_zoneless.jsonl": (2, 0, 0, {}),
    "timestamp_epoch.jsonl": (2, 0, 0, {"bad_timestamp": 2}),
    "bad_timestamps.jsonl": (1, 0, 0, {"bad_timestamp": 5}),
    "invalid_utf8.jsonl": (2, 0, 0, {"invalid_utf8": 1}),
    "control_and_markup.jsonl": (1, 0, 0, {}),
    "bom_crlf.jsonl": (4, 0, 0, {}),
    "blank_lines.jsonl": (2, 0, 0, {}),
    "empty.jsonl": (0, 0, 0, {}),
    "empty.jsonl.gz": (0, 0, 0, {}),
    "deep_nesting.jsonl": (2, 0, 0, {"nesting_too_deep": 1}),
    "big_integer_ids.jsonl": (2, 0, 0, {}),
    "nan_infinity.jsonl": (2, 0, 0, {"malformed_json": 2}),
    "trailing_comma.jsonl": (2, 0, 0, {"malformed_json": 1}),
    "mixed_kinds.jsonl": (4, 0, 0, {}),
    "array.json": (3, 0, 0, {}),
    "duplicates_within_file.jsonl": (2, 1, 0, {}),
    "conflict_within_file.jsonl": (2, 0, 1, {}),
}


def _nonblank_records(path: Path) -> int:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    if path.suffix == ".json":
        return len(json.loads(data))
    return sum(1 for line in data.removeprefix(b"\xef\xbb\xbf").split(b"\n") if line.strip(b" \t\r\n"))


def test_every_corpus_file_has_an_expectation() -> None:
    names = {p.name for p in CORPUS.iterdir()}
    assert set(EXPECTED) <= names
    assert names - set(EXPECTED) == {"overlap_a.jsonl", "overlap_b.jsonl", "conflicting_export.jsonl",
                                     "truncated_last_line_completed.jsonl"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_case(name: str, db: Path) -> None:
    inserted, duplicates, conflicts, reasons = EXPECTED[name]
    report = load(db, CORPUS / name)
    (f,) = report.files
    assert f.status == "ingested", f.error
    assert (f.inserted, f.duplicates, f.conflicts, dict(f.rejected_by_reason)) == \
        (inserted, duplicates, conflicts, reasons)
    # Conservation: every non-blank record is in exactly one bucket.
    assert f.records == _nonblank_records(CORPUS / name)
    assert f.records == f.inserted + f.duplicates + f.conflicts + f.rejected
    stored = rows(db, "SELECT (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM access_events)")[0][0]
    assert stored == inserted
    assert rows(db, "SELECT count(*) FROM rejects")[0][0] == sum(reasons.values())
    # Never an all-NULL row.
    for table in ("audit_events", "access_events"):
        assert rows(db, f"SELECT count(*) FROM {table} WHERE event_id IS NULL OR occurred_at IS NULL")[0][0] == 0


def test_rejects_keep_line_offset_reason_and_bytes(db: Path) -> None:
    load(db, CORPUS / "malformed_json_line_2.jsonl")
    (line_no, offset, reason, raw), = rows(db, "SELECT line_no, byte_offset, reason, raw FROM rejects")
    text = (CORPUS / "malformed_json_line_2.jsonl").read_bytes()
    first_line = text.split(b"\n")[0]
    assert (line_no, reason) == (2, "malformed_json")
    assert offset == len(first_line) + 1
    assert raw == text.split(b"\n")[1]


def test_invalid_utf8_line_keeps_its_exact_bytes(db: Path) -> None:
    load(db, CORPUS / "invalid_utf8.jsonl")
    (line_no, raw), = rows(db, "SELECT line_no, raw FROM rejects")
    assert line_no == 2 and b"\xff" in raw


def test_truncated_last_line_is_added_when_the_export_is_complete(db: Path) -> None:
    load(db, CORPUS / "truncated_last_line.jsonl")
    report = load(db, CORPUS / "truncated_last_line_completed.jsonl")
    (f,) = report.files
    assert (f.inserted, f.duplicates) == (1, 3)


def test_unknown_fields_keep_the_original_text_and_are_named(db: Path) -> None:
    report = load(db, CORPUS / "unknown_fields.jsonl")
    assert dict(report.files[0].new_fields) == {"department": 1, "actor.team": 1}
    kept = rows(db, "SELECT event_id, raw FROM audit_events WHERE raw IS NOT NULL ORDER BY event_id")
    assert [r[0] for r in kept] == ["aud_0001", "aud_0002"]
    assert json.loads(kept[0][1])["department"] == "billing"
    assert json.loads(kept[1][1])["actor"]["team"] == "x"


def test_times_are_exact_utc_instants(db: Path) -> None:
    load(db, CORPUS / "timestamp_offsets.jsonl")
    got = [r[0].isoformat() for r in rows(db, "SELECT occurred_at FROM audit_events ORDER BY event_id")]
    assert got == ["2026-11-20T14:05:31+00:00", "2026-11-20T14:05:31+00:00", "2026-11-20T14:05:31+00:00"]


def test_zoneless_times_use_source_timezone(db: Path) -> None:
    load(db, CORPUS / "timestamp_zoneless.jsonl", source_timezone="America/New_York")
    got = [r[0].isoformat() for r in rows(db, "SELECT occurred_at FROM audit_events ORDER BY event_id")]
    assert got == ["2026-11-20T19:05:31+00:00", "2026-07-01T12:00:00+00:00"]


# (occurred_at as exported, the instant stored when the source zone is New York; None: bad_timestamp)
TIME_FORMS = [
    ("2026-11-01T05:00:00Z", "2026-11-01T05:00:00+00:00"),
    ("2026-11-01t05:00:00z", "2026-11-01T05:00:00+00:00"),  # RFC 3339 allows lower case
    ("2026-11-01T05:00:00+02:00 ", "2026-11-01T03:00:00+00:00"),  # was read as zone-less 05:00 local
    ("\t2026-11-01T05:00:00 +02:00\n", "2026-11-01T03:00:00+00:00"),
    ("2026-11-01T05:00:00 Z", "2026-11-01T05:00:00+00:00"),
    ("2026-11-01 05:00:00 UTC", "2026-11-01T05:00:00+00:00"),  # was read in the source zone
    ("2026-11-01T05:00:00-1400", "2026-11-01T19:00:00+00:00"),
    ("2026-11-01T05:00:00+02", "2026-11-01T03:00:00+00:00"),
    ("2026-11-01T00:00:00", "2026-11-01T04:00:00+00:00"),
    ("2026-11-01", "2026-11-01T04:00:00+00:00"),  # was midnight UTC: "-01" read as an offset
    ("2026-11-01 05:00 ", "2026-11-01T10:00:00+00:00"),
    ("2026-11-01 05:00:00 EST", None),  # was 05:00 local, the zone dropped; abbreviations are ambiguous
    ("2026-11-01 05:00:00 Europe/Berlin", None),
    ("2026-11-01T05:00:00+99:00", None),  # was 2026-10-28 02:00
    ("2026-11-01T05:00:00-15:00", None),
    ("2026-11-01T05:00:00Z tomorrow", None),
    ("2026/11/01 05:00:00", "2026-11-01T10:00:00+00:00"),  # slashes, as before this check
    ("2026/11/01", "2026-11-01T04:00:00+00:00"),
    ("2026-11-01T5:00:00Z", "2026-11-01T05:00:00+00:00"),
    ("2026-11-01 05:00:00 utc", "2026-11-01T05:00:00+00:00"),
    ("2026-11-01T05:00:00.1234567891Z", "2026-11-01T05:00:00.123456+00:00"),
    ("2026-11-01T05:00:00+14:00", "2026-10-31T15:00:00+00:00"),
    ("2026-11-01T05:00:00+14:59", None),
]


@pytest.mark.parametrize("text, instant", TIME_FORMS)
def test_every_time_form_is_its_exact_instant_or_rejected(db: Path, tmp_path: Path, text: str,
                                                          instant: str | None) -> None:
    record = {"id": "t1", "occurred_at": text, "action": "user.updated", "actor": {"email": "a@x.example"},
              "entity": {"type": "user", "id": "u2"}}
    path = tmp_path / "times.jsonl"
    path.write_text(json.dumps(record) + "\n")
    (f,) = load(db, path, source_timezone="America/New_York").files
    if instant is None:
        assert f.rejected_by_reason == {"bad_timestamp": 1}
    else:
        assert f.inserted == 1, f.rejected_by_reason
        assert rows(db, "SELECT occurred_at FROM audit_events")[0][0].isoformat() == instant


def test_a_known_object_given_as_something_else_is_rejected_not_emptied(db: Path, tmp_path: Path) -> None:
    """"location": "Lagos, NG" was stored as an empty location, the text nowhere: not in raw, not
    in rejects. An empty object and null are still no value."""
    access = {"occurred_at": "2026-11-01T10:00:00Z", "event": "signin.failed", "user": {"email": "u@x.example"}}
    audit = {"occurred_at": "2026-11-01T10:00:00Z", "action": "user.updated", "actor": {"email": "a@x.example"},
             "entity": {"type": "user", "id": "u2"}}
    records = [
        {**access, "id": "p1", "location": "Lagos, NG"},
        {**access, "id": "p2", "device": ["iPhone 15"]},
        {**access, "id": "p3", "location": {}, "device": None},
        {**audit, "id": "a1", "entity": "user:u2"},
        {**audit, "id": "a2", "context": "ip 203.0.113.9"},
        {**audit, "id": "a3", "actor": 7},
        {**audit, "id": "a4", "context": {}},
        {**audit, "id": "a5", "location": "Lagos"},  # not an audit field: kept in raw, reported as new
    ]
    path = tmp_path / "shapes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    (f,) = load(db, path).files
    assert f.rejected_by_reason == {"invalid_field:location": 1, "invalid_field:device": 1,
                                    "invalid_field:entity": 1, "invalid_field:context": 1, "invalid_field:actor": 1}
    assert f.inserted == 3 and f.new_fields == {"location": 1}
    stored = rows(db, "SELECT event_id FROM access_events UNION ALL SELECT event_id FROM audit_events ORDER BY 1")
    assert stored == [("a4",), ("a5",), ("p3",)]
    assert json.loads(rows(db, "SELECT raw FROM audit_events WHERE event_id = 'a5'")[0][0])["location"] == "Lagos"


def test_an_id_written_as_a_decimal_number_is_rejected_not_rounded(db: Path, tmp_path: Path) -> None:
    """9007199254740993.0 and ...992.0 were both stored as '9007199254740992.0': one event, one
    duplicate. Integers stay exact; a string that looks like a decimal is text."""
    base = {"occurred_at": "2026-11-01T10:00:00Z", "action": "user.updated", "actor": {"email": "a@x.example"},
            "entity": {"type": "user", "id": "u2"}}
    path = tmp_path / "ids.jsonl"
    ids = ("9007199254740993.0", "9007199254740992.0", "1e3", "-2.5E1", "12345678901234567890", '"1.5"', '"1e3"')
    path.write_text("".join(f'{{"id": {i}, ' + json.dumps(base)[1:] + "\n" for i in ids))
    (f,) = load(db, path).files
    assert f.rejected_by_reason == {"invalid_field:id": 4}
    assert sorted(r[0] for r in rows(db, "SELECT event_id FROM audit_events")) == ["1.5", "12345678901234567890", "1e3"]


def test_epoch_seconds_and_milliseconds(db: Path) -> None:
    load(db, CORPUS / "timestamp_epoch.jsonl")
    got = [r[0].isoformat() for r in rows(db, "SELECT occurred_at FROM audit_events ORDER BY event_id")]
    assert got == ["2026-11-25T14:05:31+00:00", "2026-11-25T14:05:31.120000+00:00"]


def test_big_integer_ids_are_exact_text(db: Path) -> None:
    load(db, CORPUS / "big_integer_ids.jsonl")
    ids = sorted(r[0] for r in rows(db, "SELECT event_id FROM audit_events"))
    assert ids == ["18446744073709551617", "9223372036854775808"]


def test_control_characters_and_markup_are_stored_as_is(db: Path) -> None:
    load(db, CORPUS / "control_and_markup.jsonl")
    (name, changes), = rows(db, "SELECT actor_name, changes FROM audit_events")
    assert name == "[bold red]Admin[/] \x1b[2J\x07"
    assert json.loads(changes)["note"]["from"] == "[link=file:///etc/passwd]x[/link]"


def test_mixed_kinds_go_to_their_streams_and_optional_fields_may_be_absent(db: Path) -> None:
    load(db, CORPUS / "mixed_kinds.jsonl")
    assert rows(db, "SELECT count(*) FROM audit_events")[0][0] == 2
    access = rows(db, "SELECT event_id, ip, country, device_id, lat FROM access_events ORDER BY event_id")
    assert access == [("acc_0001", "198.51.100.23", "US", "dev_7c1", 40.71), ("acc_0002", None, None, None, None)]


def test_kind_can_be_forced(db: Path) -> None:
    report = load(db, CORPUS / "mixed_kinds.jsonl", kind="audit")
    # Access records forced to audit lack an action: rejected, counted, kept.
    assert dict(report.files[0].rejected_by_reason) == {"missing_field:action": 2}


def test_overlapping_exports_store_each_event_once(db: Path) -> None:
    load(db, CORPUS / "overlap_a.jsonl")
    (f,) = load(db, CORPUS / "overlap_b.jsonl").files
    assert (f.inserted, f.duplicates, f.conflicts) == (1, 2, 0)
    assert rows(db, "SELECT count(*) FROM audit_events")[0][0] == 4


def test_same_id_different_content_is_a_conflict_with_both_versions_kept(db: Path) -> None:
    load(db, CORPUS / "overlap_a.jsonl")
    (f,) = load(db, CORPUS / "conflicting_export.jsonl").files
    assert (f.inserted, f.conflicts) == (0, 1)
    (event_id, incoming, stored), = rows(db, "SELECT event_id, incoming, stored FROM conflicts")
    assert event_id == "aud_0002"
    assert json.loads(incoming)["action"] == "appointment.canceled"
    assert json.loads(stored)["action"] == "appointment.edited"
    assert rows(db, "SELECT action FROM audit_events WHERE event_id = 'aud_0002'") == [("appointment.edited",)]


def test_keys_in_another_order_are_a_duplicate_but_other_values_a_conflict(db: Path, tmp_path: Path,
                                                                          monkeypatch) -> None:
    """Another export run may write an object's keys in another order: that was a conflict (an
    auditor would read "the event changed between exports"). The same id later in the same file
    is judged alike. Numbers and literals stay as written: 2 and 2.0, 1 and "1" differ. Only
    conflicts that may differ in key order alone are compared in Python (2M real conflicts all
    sent there took +30 s and 1.2 GB)."""
    from fluentlog.ingest import load as ingest_load
    compared: list[str] = []
    real = ingest_load.same_values
    monkeypatch.setattr(ingest_load, "same_values", lambda a, b: compared.append(a) or real(a, b))
    def record(i: str, changes: str, extra: str = "") -> str:
        return (f'{{{extra}"id": "{i}", "occurred_at": "2026-11-01T10:00:00Z", "action": "user.updated", '
                f'"actor": {{"email": "a@x.example"}}, "entity": {{"type": "user", "id": "u2"}}, '
                f'"changes": {changes}}}\n')
    first = tmp_path / "a.jsonl"
    first.write_text(record("k1", '{"a": {"from": 1, "to": 2}, "b": {"from": "x", "to": "y"}}',
                            '"dept": {"x": 1, "y": 2}, ')
                     + record("k2", '{"a": {"from": 1, "to": 2}}') + record("k3", '{"a": {"from": "1", "to": 2}}'))
    later = tmp_path / "b.jsonl"
    later.write_text(record("k1", '{"b": {"to": "y", "from": "x"}, "a": {"to": 2, "from": 1}}',
                            '"dept": {"y": 2, "x": 1}, ')
                     + record("k2", '{"a": {"from": 1, "to": 2.0}}') + record("k3", '{"a": {"from": 1, "to": 2}}')
                     + record("k4", '{"p": 1, "q": 2}') + record("k4", '{"q": 2, "p": 1}'))
    load(db, first)
    (f,) = load(db, later).files
    assert (f.inserted, f.duplicates, f.conflicts) == (1, 2, 2)
    assert sorted(r[0] for r in rows(db, "SELECT event_id FROM conflicts")) == ["k2", "k3"]
    assert sorted(json.loads(a)["event_id"] for a in compared) == ["k1", "k4"]


def test_same_file_twice_or_renamed_copy_is_skipped(db: Path, tmp_path: Path) -> None:
    load(db, CORPUS / "clean.jsonl")
    copy = tmp_path / "renamed.jsonl"
    shutil.copy(CORPUS / "clean.jsonl", copy)
    report = load(db, CORPUS / "clean.jsonl", copy)
    assert [f.status for f in report.files] == ["already_ingested", "already_ingested"]
    assert "by tester" in report.files[1].note and "clean.jsonl" in report.files[1].note
    assert report.totals()["records"] == 0
    assert rows(db, "SELECT count(*) FROM files")[0][0] == 1


def test_empty_file_is_recorded_in_the_manifest(db: Path) -> None:
    report = load(db, CORPUS / "empty.jsonl")
    assert report.files[0].note.startswith("0 records")
    assert rows(db, "SELECT records FROM files") == [(0,)]


def test_strict_fails_the_whole_file(db: Path) -> None:
    report = load(db, CORPUS / "malformed_json_line_2.jsonl", CORPUS / "clean.jsonl", strict=True)
    assert [f.status for f in report.files] == ["failed", "ingested"]
    assert "--strict" in report.files[0].error
    assert rows(db, "SELECT count(*) FROM rejects")[0][0] == 0
    assert rows(db, "SELECT count(*) FROM audit_events")[0][0] == 4


def test_provenance_file_and_line(db: Path) -> None:
    load(db, CORPUS / "blank_lines.jsonl")
    got = rows(db, "SELECT e.event_id, e.line_no, f.path, f.sha256, f.blank, f.operator "
                   "FROM audit_events e JOIN files f USING (file_id) ORDER BY line_no")
    assert [(r[0], r[1]) for r in got] == [("aud_0001", 1), ("aud_0002", 5)]
    assert got[0][2].endswith("blank_lines.jsonl") and len(got[0][3]) == 64
    assert got[0][4] == 4 and got[0][5] == "tester"


def test_a_key_named_twice_inside_changes_or_related_is_rejected(db: Path, tmp_path: Path) -> None:
    """bad-inputs.md: a duplicate key inside one object is rejected, never kept first or last
    silently. In `changes` DuckDB's parse kept both and who-changed showed the last value."""
    head = ('{"id": "%s", "occurred_at": "2026-11-20T14:01:31Z", "action": "appointment.edited", '
            '"actor": {"email": "dana@x.example"}, "entity": {"type": "appointment", "id": "APT-1"}, ')
    tails = {
        "top": '"changes": {"status": {"from": "a", "to": "b"}, "status": {"from": "c", "to": "d"}}}',
        "inner": '"changes": {"status": {"from": "a", "from": "b", "to": "c"}}}',
        "related": '"related": [{"type": "interpreter", "id": "INT-1", "id": "INT-2"}]}',
        "deep": '"changes": {"notes": {"to": {"x": [{"d": 1, "d": 2}]}}}}',
        "large": '"changes": {"notes": {"from": "%s", "to": "b", "to": "c"}}}' % ("x" * 70_000),  # strict parser
        "fine": '"changes": {"status": {"from": "a", "to": "b"}, "role": {"from": "x", "to": "y"}}}',
        "fine_list": '"related": [{"type": "interpreter", "id": "INT-1"}, {"type": "interpreter", "id": "INT-2"}]}',
    }
    path = tmp_path / "repeats.jsonl"
    path.write_text("".join(head % name + tail + "\n" for name, tail in tails.items()))
    (f,) = load(db, path).files
    assert (f.inserted, dict(f.rejected_by_reason)) == (2, {"duplicate_key": 5})
    assert rows(db, "SELECT event_id FROM audit_events ORDER BY event_id") == [("fine",), ("fine_list",)]
