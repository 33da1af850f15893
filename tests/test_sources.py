"""Sources beyond Fluent: presets, detection, user mappings, and what the workflows make of them.

The files under tests/data/sources are look-alikes written for these tests: the shapes of
the real exports (YAML-wrapped Okta, Entra envelope and Graph export, Google events as an
object or a list, GitHub epoch ms without a final newline, CloudTrail lines and Records,
Slack epoch seconds), not copies of anyone's data.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from fluentlog import sources
from fluentlog.config import parse
from fluentlog.errors import ConfigError
from fluentlog.ingest import load as ingest_load
from fluentlog.sources import translate
from fluentlog.sources.mapping import compile_path
from tests.conftest import DATA, cli, load, owner_config, rows

SRC = DATA / "sources"
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"

EXPECTED = {  # file: (source, {(stream, event or action, outcome): count})
    "okta_brute_force.yml": ("okta", {("access", "signin.user.session.start", "failure"): 9,
                                      ("access", "signin.user.session.start", "success"): 1}),
    "okta_api.json": ("okta", {("audit", "user.account.privilege.grant", None): 1,
                               ("access", "signin.user.session.start", "unknown"): 1}),
    "entra_signins.jsonl": ("entra", {("access", "signin.SignInLogs", "interrupted"): 1,
                                      ("access", "signin.SignInLogs", "failure"): 1,
                                      ("access", "signin.SignInLogs", "success"): 1,
                                      ("access", "signin.NonInteractiveUserSignInLogs", "interrupted"): 1}),
    "entra_graph.json": ("entra", {("access", "signin.SignInLogs", "success"): 1,
                                   ("access", "signin.SignInLogs", "interrupted"): 1}),
    "google_login.jsonl": ("google_workspace", {("access", "signin.login_failure", "failure"): 1,
                                                ("access", "login_challenge", "success"): 1,
                                                ("access", "signin.login_success", "success"): 1,
                                                ("audit", "suspicious_login", None): 1}),
    "github_audit.json": ("github", {("access", "signin.user.failed_login", "failure"): 5,
                                     ("access", "signin.user.login", "success"): 1,
                                     ("audit", "repo.create", None): 1, ("audit", "user.audit_log_export", None): 1}),
    "cloudtrail_lines.jsonl": ("cloudtrail", {("access", "signin.ConsoleLogin", "failure"): 1,
                                              ("access", "signin.ConsoleLogin", "success"): 1}),
    "cloudtrail_records.json": ("cloudtrail", {("audit", "CreateUser", None): 1,
                                               ("audit", "AttachUserPolicy", None): 1}),
    "slack_audit.jsonl": ("slack", {("access", "signin.user_login", "success"): 1,
                                    ("audit", "file_downloaded", None): 1}),
}


def stored(db: Path) -> Counter:
    found = Counter()
    for event, outcome in rows(db, "SELECT event, outcome FROM access_events"):
        found[("access", event, outcome)] += 1
    for (action,) in rows(db, "SELECT action FROM audit_events"):
        found[("audit", action, None)] += 1
    return found


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_preset_file_is_detected_and_loads_whole(db: Path, name: str) -> None:
    source, expected = EXPECTED[name]
    report = load(db, SRC / name)
    f = report.files[0]
    assert (f.status, f.source, f.source_detected, f.rejected) == ("ingested", source, True, 0), f.error
    assert f.inserted == sum(expected.values())
    assert stored(db) == Counter(expected)
    assert rows(db, "SELECT DISTINCT source FROM files") == [(source,)]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_same_file_with_source_named_loads_the_same(db: Path, name: str) -> None:
    source, expected = EXPECTED[name]
    report = load(db, SRC / name, source=sources.presets()[source])
    assert report.files[0].source_detected is False and stored(db) == Counter(expected)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_small_batches_and_sort_units_keep_every_original(db: Path, name: str, monkeypatch) -> None:
    """Mapped records wait in pending sort units; each keeps its original text whichever
    batch or unit it falls in."""
    monkeypatch.setattr(ingest_load, "FOREIGN_BATCH", 2)
    monkeypatch.setattr(ingest_load, "SORT_UNIT_ROWS", 3)
    source, expected = EXPECTED[name]
    f = load(db, SRC / name).files[0]
    assert (f.status, f.inserted, f.rejected) == ("ingested", sum(expected.values()), 0), f.error
    assert stored(db) == Counter(expected)
    for table in ("audit_events", "access_events"):
        assert rows(db, f"SELECT count(*) FROM {table} WHERE raw IS NULL OR source <> $s", {"s": source}) == [(0,)]


def test_event_keeps_the_original_record_and_its_fields(db: Path) -> None:
    load(db, SRC / "github_audit.json")
    (raw, when, login, user_id, event_id), = rows(
        db, "SELECT raw, occurred_at, user_name, user_id, event_id FROM access_events "
            "WHERE event = 'signin.user.login'")
    assert json.loads(raw)["_document_id"] == "docOk"  # the record as GitHub wrote it
    assert when.isoformat().startswith("2026-03-07T16:20:00") and (login, user_id) == ("octo-lee", "901")
    assert event_id == "github:docOk"
    (entity,), = rows(db, "SELECT entity_type || ':' || entity_id FROM audit_events WHERE action = 'repo.create'")
    assert entity == "repo:clinic/intake"


def test_okta_targets_array_gives_entity_and_related(db: Path) -> None:
    load(db, SRC / "okta_api.json")
    (etype, eid, email, related), = rows(db, "SELECT entity_type, entity_id, entity_email, related FROM audit_events")
    assert (etype, eid, email) == ("User", "00urita", "rita.gomez@clinic.example")
    assert [t["type"] for t in json.loads(related)] == ["User", "Role"]


def test_entra_times_with_seven_digit_fractions_and_offsets(db: Path) -> None:
    load(db, SRC / "entra_signins.jsonl")
    times = sorted(t for (t,) in rows(db, "SELECT occurred_at FROM access_events"))
    assert times[0].isoformat() == "2026-03-04T08:00:00.123456+00:00"


def test_reloading_is_recognised_and_a_second_copy_of_records_is_duplicate(db: Path, tmp_path: Path) -> None:
    load(db, SRC / "slack_audit.jsonl")
    again = load(db, SRC / "slack_audit.jsonl").files[0]
    assert again.status == "already_ingested"
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes((SRC / "slack_audit.jsonl").read_bytes() + b"\n")
    f = load(db, copy).files[0]
    assert (f.inserted, f.duplicates, f.conflicts) == (0, 2, 0)


def test_unmappable_records_are_rejected_with_their_original_bytes(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "okta.jsonl"
    good = {"uuid": "u1", "published": "2026-03-01T00:00:00Z", "eventType": "user.session.start",
            "actor": {"id": "a", "alternateId": "x@y.example"}, "outcome": {"result": "SUCCESS"}}
    lines = [json.dumps(good), json.dumps({**good, "uuid": "u2", "published": "last tuesday"}),
             json.dumps({k: v for k, v in good.items() if k != "eventType"} | {"uuid": "u3"}), "{not json", "42"]
    path.write_text("\n".join(lines) + "\n")
    f = load(db, path, source=sources.presets()["okta"]).files[0]
    assert f.inserted == 1 and dict(f.rejected_by_reason) == {
        "bad_timestamp": 1, "missing_field:action": 1, "malformed_json": 1, "not_an_object": 1}
    kept = dict(rows(db, "SELECT line_no, raw FROM rejects"))
    assert kept[2] == lines[1].encode() and kept[4] == b"{not json"


def test_google_activity_with_several_events_is_refused_and_counted(db: Path, tmp_path: Path) -> None:
    record = json.loads((SRC / "google_login.jsonl").read_text().splitlines()[2])
    record["events"] = record["events"] * 2
    path = tmp_path / "g.jsonl"
    path.write_text(json.dumps(record) + "\n")
    f = load(db, path, source=sources.presets()["google_workspace"]).files[0]
    assert dict(f.rejected_by_reason) == {"several_events:events": 1}


USER_SOURCE = """
[sources.acme_badges]
description = "ACME door badge log"
detect = ["ts", "who", "what", "evt"]
time = "ts"
time_zone = "Europe/Berlin"
id = "evt"
action = "what"
actor_email = "who"
signins = ["badge.login"]
entity = {type = {value = "door"}, id = "door"}
outcome = {path = "result", success = ["OK"], failure = ["DENIED"]}
"""


def test_user_source_from_config_with_zoneless_times(tmp_path: Path) -> None:
    config = owner_config(tmp_path, USER_SOURCE)
    db = tmp_path / "x.duckdb"
    run = cli("ingest", str(SRC / "acme_badges.jsonl"), "--db", str(db), "--format", "json",
              env={"FLUENTLOG_CONFIG": str(config), "TZ": "Asia/Tokyo"})
    doc = json.loads(run.stdout)["files"][0]
    assert run.code == 0 and doc["source"] == "acme_badges"
    assert (doc["inserted"], doc["rejected_by_reason"]) == (3, {"missing_field:time": 1})
    got = rows(db, "SELECT occurred_at, outcome FROM access_events ORDER BY occurred_at")
    assert got[0][0].isoformat() == "2026-03-08T08:30:00+00:00"  # 09:30 in Berlin (CET)
    assert [o for _, o in got] == ["success", "failure"]
    assert rows(db, "SELECT entity_type, entity_id FROM audit_events") == [("door", "north")]


@pytest.mark.parametrize(("body", "message"), [
    ('[sources.x]\ntime = "ts["\nid = "i"\naction = "a"\n', "[sources.x] time: cannot read path 'ts['"),
    ('[sources.x]\nid = "i"\naction = "a"\n', "[sources.x] has no `time`"),
    ('[sources.x]\ntime = "t"\nid = "i"\naction = "a"\nactor_emial = "e"\n', "did you mean `actor_email`?"),
    ('[sources.okta]\ntime = "t"\nid = "i"\naction = "a"\n', "name of a built-in source"),
    ('[sources.x]\ntime = "t"\nid = "i"\naction = "a"\ntime_format = "unix"\n', "time_format = 'unix'"),
    ('[sources.x]\ntime = "t"\nid = "i"\naction = "a"\noutcome = {path = "r"}\n', "needs success and/or failure"),
    ('[sources.x]\ntime = "t"\nid = "i"\naction = "a"\ntime_zone = "Mars/Base"\n', "not a known time zone"),
    ('[sources.x]\ntime = "t"\nid = "i"\naction = "a"\ntime_zone = "Europe"\n', "not a known time zone"),
])
def test_mapping_mistakes_name_source_key_and_path(tmp_path: Path, body: str, message: str) -> None:
    config = owner_config(tmp_path, body)
    import tomllib
    with pytest.raises(ConfigError) as caught:
        parse(tomllib.loads(config.read_text()), config)
    text = caught.value.message + " " + (caught.value.hint or "")
    assert message in text and str(config) in text
    run = cli("sources", env={"FLUENTLOG_CONFIG": str(config)})
    assert run.code == 4 and message.split(":")[0] in run.stderr and run.stdout == ""


def test_unknown_shape_lists_the_sources_and_how_to_map(tmp_path: Path) -> None:
    path = tmp_path / "mystery.jsonl"
    path.write_text('{"when": "2026-01-01", "what": "x"}\n')
    run = cli("ingest", str(path), "--db", str(tmp_path / "x.duckdb"))
    assert run.code == 4
    assert "match none of the known sources (its first record has: when, what)" in run.stderr
    assert "okta" in run.stderr and "[sources.NAME]" in run.stderr and "docs/sources.md" in run.stderr


def test_unknown_source_name_is_a_usage_error_with_suggestion(tmp_path: Path) -> None:
    run = cli("ingest", str(SRC / "slack_audit.jsonl"), "--source", "octa", "--db", str(tmp_path / "x.duckdb"))
    assert run.code == 2 and "unknown source 'octa'" in run.stderr and "did you mean 'okta'" in run.stderr
    assert not (tmp_path / "x.duckdb").exists()


def test_sources_list_and_show(tmp_path: Path) -> None:
    config = owner_config(tmp_path, USER_SOURCE)
    listed = json.loads(cli("sources", "--format", "json", env={"FLUENTLOG_CONFIG": str(config)}).stdout)
    names = [s["name"] for s in listed]
    assert names == ["fluent", "okta", "entra", "google_workspace", "github", "cloudtrail", "slack", "acme_badges"]
    assert listed[-1]["kind"] == "config"
    shown = cli("sources", "show", "okta", "--format", "json")
    assert shown.code == 0 and json.loads(shown.stdout)["mapping"]["time"] == "published"
    table = cli("sources", "show", "entra", "--format", "table", env={"COLUMNS": "250"})
    assert "50140" in table.stdout and "interrupted" in table.stdout
    missing = cli("sources", "show", "nope")
    assert missing.code == 2 and "known sources: fluent, okta" in missing.stderr


def test_signins_by_login_name_for_github(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    assert cli("ingest", str(SRC / "github_audit.json"), "--db", str(db)).code == 0
    run = cli("signins", "--user", "OCTO-LEE", "--db", str(db), "--format", "json")
    doc = json.loads(run.stdout)
    assert run.code == 0 and (doc["summary"]["failed"], doc["summary"]["succeeded"]) == (5, 1)
    assert {f["kind"] for f in doc["findings"]} == {"repeated_failures", "success_after_failures"}
    assert doc["events"][0]["login"] == "octo-lee" and doc["events"][0]["source"] == "github"
    table = cli("signins", "--user", "octo-lee", "--db", str(db), "--format", "table", env={"COLUMNS": "200"})
    assert "octo-lee" in table.stdout


def test_okta_brute_force_findings(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    cli("ingest", str(SRC / "okta_brute_force.yml"), "--db", str(db))
    doc = json.loads(cli("signins", "--email", "rita.gomez@clinic.example", "--db", str(db), "--format", "json").stdout)
    assert [e["outcome"] for e in doc["events"]] == ["failure"] * 9 + ["success"]
    assert {f["kind"] for f in doc["findings"]} >= {"repeated_failures", "success_after_failures"}


def test_workflows_show_the_source_where_sources_mix(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    fluent = tmp_path / "fluent.jsonl"
    fluent.write_text(json.dumps({
        "id": "aud_1", "occurred_at": "2026-03-03T11:00:00Z", "action": "user.role_changed",
        "actor": {"email": "owner@clinic.example"}, "entity": {"type": "User", "id": "00urita"}}) + "\n")
    assert cli("ingest", str(fluent), str(SRC / "okta_api.json"), "--db", str(db)).code == 0
    run = cli("who-changed", "User:00urita", "--db", str(db), "--format", "json")
    assert [e["source"] for e in json.loads(run.stdout)] == ["okta", "fluent"]
    table = cli("who-changed", "User:00urita", "--db", str(db), "--format", "table", env={"COLUMNS": "200"})
    assert "source" in table.stdout and "okta" in table.stdout
    alone = cli("who-changed", "User:00urita", "--until", "2026-03-03T10:30Z", "--db", str(db),
                "--format", "table", env={"COLUMNS": "200"})
    assert "source" not in alone.stdout


def test_outcome_rules() -> None:
    okta, entra, cloudtrail = (sources.presets()[n] for n in ("okta", "entra", "cloudtrail"))
    assert translate.outcome(okta, {"outcome": {"result": "DENY"}}) == "failure"
    assert translate.outcome(okta, {"outcome": {"result": "CHALLENGE"}}) == "unknown"
    assert translate.outcome(okta, {}) == "unknown"
    assert translate.outcome(entra, {"resultType": "0"}) == "success"
    assert translate.outcome(entra, {"properties": {"status": {"errorCode": 50140}}}) == "interrupted"
    assert translate.outcome(entra, {"status": {"errorCode": 50126}}) == "failure"
    assert translate.outcome(cloudtrail, {"errorCode": "AccessDenied"}) == "failure"
    assert translate.outcome(cloudtrail, {"eventName": "CreateUser"}) == "success"


@pytest.mark.parametrize(("path", "record", "expected"), [
    ("a.b", {"a": {"b": 1}}, 1),
    ("a[1].id", {"a": [{"id": "x"}, {"id": "y"}]}, "y"),
    ("a.b", {"a": [{"b": 2}]}, 2),  # a list of one stands for its element
    ("p[name=t].value", {"p": [{"name": "s", "value": 1}, {"name": "t", "value": 2}]}, 2),
    ("e.*.id", {"e": {"type": "file", "file": {"id": "F1"}}}, "F1"),
    ("a.c", {"a": {"b": 1}}, translate.MISSING),
])
def test_paths(path: str, record: dict, expected: object) -> None:
    assert translate.resolve(compile_path(path, "test"), record) == expected or (
        expected is translate.MISSING and translate.resolve(compile_path(path, "test"), record) is expected)


@pytest.mark.parametrize(("value", "fmt", "expected"), [
    (1711431195806, "auto", "2024-03-26T05:33:15.806000+00:00"),
    ("1521214343", "auto", "2018-03-16T15:32:23+00:00"),
    (1521214343, "epoch_ms", "1970-01-18T14:33:34.343000+00:00"),
    ("2019-10-18T04:45:48.0729893-05:00", "iso", "2019-10-18T09:45:48.072989+00:00"),
    ("2026-03-08 09:30:00", "auto", "2026-03-08T08:30:00+00:00"),
    ("20131102T010628Z", "auto", "2013-11-02T01:06:28+00:00"),
    ("yesterday", "auto", None),
    (True, "auto", None),
    (1521214343, "iso", None),
])
def test_times(value: object, fmt: str, expected: str | None) -> None:
    assert translate.to_iso(value, fmt, "Europe/Berlin") == expected


@pytest.mark.skipif(not REALDATA.is_dir(), reason="the shared real exports are not on this machine")
def test_real_exports_load_whole_with_right_outcomes(tmp_path: Path) -> None:
    db = tmp_path / "real.duckdb"
    files = sorted(p for p in REALDATA.rglob("*") if p.is_file() and p.suffix != ".md")
    report = load(db, *files)
    assert all(f.status == "ingested" and f.rejected == 0 and f.conflicts == 0 for f in report.files), [
        (f.path, f.error, dict(f.rejected_by_reason)) for f in report.files]
    assert report.totals()["inserted"] == 103
    okta = rows(db, "SELECT outcome FROM access_events WHERE source = 'okta' ORDER BY occurred_at")
    assert [o for (o,) in okta] == ["failure"] * 9 + ["success"]
    assert rows(db, "SELECT count(*) FROM access_events WHERE source = 'github' "
                    "AND event = 'signin.user.failed_login' AND outcome = 'failure'") == [(5,)]
    assert rows(db, "SELECT DISTINCT outcome FROM access_events WHERE source = 'entra'") == [("interrupted",)]


def test_docs_show_every_preset_as_it_is() -> None:
    from fluentlog.sources.describe import markdown_maps
    doc = (Path(__file__).resolve().parents[1] / "docs" / "sources.md").read_text()
    assert markdown_maps(sources.presets()) in doc


def test_a_wrong_source_rejects_every_record_and_says_so(tmp_path: Path) -> None:
    run = cli("ingest", str(SRC / "slack_audit.jsonl"), "--source", "github", "--db", str(tmp_path / "x.duckdb"),
              "--format", "table")
    assert run.code == 0 and "none of its records fit source github" in run.stderr


def test_large_jsonl_with_a_broken_first_record_is_not_read_as_one_document(db: Path, tmp_path: Path,
                                                                            monkeypatch) -> None:
    from fluentlog.sources import read
    monkeypatch.setattr(read, "MAX_DOCUMENT_BYTES", 10)  # any real file is "large" now
    path = tmp_path / "big.jsonl"
    good = {"id": "a1", "occurred_at": "2026-03-01T00:00:00Z", "action": "x.y",
            "actor": {"email": "a@b.example"}, "entity": {"type": "t", "id": "1"}}
    path.write_text('{"id": "a0", "occurred_at": \n' + json.dumps(good) + "\n")
    f = load(db, path).files[0]
    assert (f.status, f.source, f.inserted, f.rejected) == ("ingested", "fluent", 1, 1)


def test_folder_ingest_reads_yaml_exports_and_names_the_files_it_skips(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "okta.yml").write_bytes((SRC / "okta_brute_force.yml").read_bytes())
    (folder / "notes.txt").write_text("not a log\n")
    (folder / "cloudtrail.log").write_bytes((SRC / "cloudtrail_lines.jsonl").read_bytes())
    run = cli("ingest", str(folder), "--db", str(tmp_path / "x.duckdb"), "--format", "json")
    doc = json.loads(run.stdout)
    assert run.code == 0 and doc["totals"]["inserted"] == 10
    assert [Path(p).name for p in doc["skipped"]] == ["cloudtrail.log", "notes.txt"]
    assert "skipped 2 file(s)" in run.stderr and "cloudtrail.log" in run.stderr


def test_offboarding_catches_a_return_through_another_source(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    removal = tmp_path / "fluent.jsonl"
    removal.write_text(json.dumps({
        "id": "aud_rm", "occurred_at": "2026-03-01T12:00:00Z", "action": "user.removed",
        "actor": {"email": "owner@clinic.example", "role": "owner"},
        "entity": {"type": "user", "id": "usr_rita", "email": "rita.gomez@clinic.example"},
        "changes": {"status": {"from": "active", "to": "removed"}}}) + "\n")
    assert cli("ingest", str(removal), str(SRC / "okta_brute_force.yml"), "--db", str(db)).code == 0
    run = cli("offboarding", "--email", "rita.gomez@clinic.example", "--db", str(db), "--format", "json",
              "--exit-code")
    doc = json.loads(run.stdout)
    assert run.code == 1 and {a["source"] for a in doc["activity_after"]} == {"okta"}
    assert ("signin_after_removal", "high") in {(f["kind"], f["severity"]) for f in doc["findings"]}


OKTA_EVENT = {"uuid": "u1", "published": "2026-03-01T00:00:00Z", "eventType": "user.session.start",
              "actor": {"id": "a", "alternateId": "x@y.example"}, "outcome": {"result": "SUCCESS"}}


def test_a_wrapper_line_after_plain_records_is_one_rejected_record(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "okta.jsonl"
    lines = [json.dumps({**OKTA_EVENT, "uuid": "m4"}),
             json.dumps({"Logs": [{**OKTA_EVENT, "uuid": "m5"}, {**OKTA_EVENT, "uuid": "m6"}]}),
             json.dumps({**OKTA_EVENT, "uuid": "m7"})]
    path.write_text("\n".join(lines) + "\n")
    f = load(db, path, source=sources.presets()["okta"]).files[0]
    assert (f.records, f.inserted, f.rejected) == (3, 2, 1)
    for event_id, raw, line_no in rows(db, "SELECT event_id, raw, line_no FROM access_events"):
        assert json.loads(raw)["uuid"] == event_id.removeprefix("okta:") and line_no in (1, 3)


def test_record_fields_named_like_wrappers_are_fields(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "gh.jsonl"
    base = {"action": "hook.create", "actor": "octo", "actor_id": 7, "created_at": 1772900000000, "user": "octo"}
    path.write_text(json.dumps({**base, "_document_id": "g1", "events": ["push", "pull_request"]}) + "\n"
                    + json.dumps({**base, "_document_id": "g2", "data": []}) + "\n")
    f = load(db, path).files[0]
    assert (f.source, f.inserted, f.rejected) == ("github", 2, 0)


def test_google_records_with_an_events_list_are_detected(db: Path, tmp_path: Path) -> None:
    record = json.loads((SRC / "google_login.jsonl").read_text().splitlines()[0])
    record["events"] = [record["events"]]
    path = tmp_path / "g.jsonl"
    path.write_text(json.dumps(record) + "\n" + json.dumps({**record, "etag": "2"}) + "\n")
    f = load(db, path).files[0]
    assert (f.source, f.inserted) == ("google_workspace", 2)


def test_odd_values_are_rejected_or_loaded_never_a_traceback(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "okta.jsonl"
    lines = ["\ufeff" + json.dumps({**OKTA_EVENT, "uuid": "bom"}),
             json.dumps({**OKTA_EVENT, "uuid": "y1", "published": "0001-01-01T00:00:00+01:00"}),
             json.dumps({**OKTA_EVENT, "uuid": "y9", "published": "9999-12-31T23:59:59-01:00"}),
             '{"uuid": "big", "published": 1' + "0" * 400 + ', "eventType": "user.session.start"}']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    f = load(db, path, source=sources.presets()["okta"]).files[0]
    assert (f.status, f.inserted, dict(f.rejected_by_reason)) == ("ingested", 1, {"bad_timestamp": 3})


def test_yaml_native_times_dates_and_keys(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "okta.yml"
    path.write_text("Logs:\n"
                    "  - uuid: 2024-01-01\n    published: 2026-03-01T10:00:00Z\n    eventType: user.session.start\n"
                    "    actor: {id: a, alternateId: x@y.example}\n    outcome: {result: SUCCESS}\n    1: one\n")
    f = load(db, path, source=sources.presets()["okta"]).files[0]
    assert (f.status, f.inserted, f.rejected) == ("ingested", 1, 0), f.error
    assert rows(db, "SELECT event_id FROM access_events") == [("okta:2024-01-01",)]
