"""who-changed, offboarding and timeline on small fixtures with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import access, audit, write_jsonl, write_parquet
from conftest import cli

ADMIN, LEE = "admin@x.example", "lee@x.example"


def story() -> list[dict]:
    apt = ("appointment", "APT-1042")
    return [
        audit(0, "appointment.created", "priya@x.example", apt, changes={"start_time": {
            "from": None, "to": "2026-06-20T15:00:00Z"}}),
        audit(10, "interpreter.assigned", "priya@x.example", apt, related=[{"type": "interpreter", "id": "INT-553"}]),
        audit(20, "appointment.edited", "tom@x.example", ("appointment", "APT-10"), changes={"notes": {
            "from": "a", "to": "b"}}),
        audit(30, "appointment.edited", "tom@x.example", apt, changes={"start_time": {
            "from": "2026-06-20T15:00:00Z", "to": "2026-06-21T16:30:00Z"}}),
        audit(40, "interpreter.changed", "tom@x.example", ("interpreter", "INT-553")),
        audit(100, "user.role_changed", ADMIN, ("user", "usr_lee"), LEE,
              {"role": {"from": "admin", "to": "scheduler"}}),
        audit(120, "user.removed", ADMIN, ("user", "usr_lee"), LEE, {"status": {"from": "active", "to": "removed"}}),
        audit(130, "rate_rule.changed", "tom@x.example", ("rate_rule", "RR-1"), changes={"x": {"from": 1, "to": 2}}),
        audit(900, "template.changed", "tom@x.example", ("template", "T-1")),
        access(90, email=LEE),
        access(200, "failure", email=LEE),
        access(210, email=LEE, event="sso.succeeded"),
        audit(220, "appointment.edited", LEE, ("appointment", "APT-7")),
    ]


@pytest.fixture(params=["jsonl", "parquet"])
def db(request, tmp_path: Path) -> Path:
    files = ([write_jsonl(tmp_path / "s.jsonl", story())] if request.param == "jsonl"
             else write_parquet(tmp_path, story()))
    path = tmp_path / "t.duckdb"
    assert cli("ingest", *map(str, files), "--db", str(path)).code == 0
    return path


def run_json(*args: str) -> tuple[int, object, str]:
    done = cli(*args, "--format", "json")
    return done.code, json.loads(done.stdout) if done.stdout else None, done.stderr


def test_who_changed_type_id_oldest_first_with_related(db: Path) -> None:
    code, events, _ = run_json("who-changed", "appointment:APT-1042", "--db", str(db))
    assert code == 0
    assert [e["action"] for e in events] == ["appointment.created", "interpreter.assigned", "appointment.edited"]
    assert events[2]["changes"] == [{"field": "start_time", "from": "2026-06-20T15:00:00Z",
                                     "to": "2026-06-21T16:30:00Z"}]
    assert set(events[0]) == {"event_id", "occurred_at", "actor_email", "actor_name", "actor_role", "action",
                              "entity_type", "entity_id", "changes", "ip", "source"}


def test_bare_id_is_exact_never_a_prefix_and_matches_related(db: Path) -> None:
    _, events, _ = run_json("who-changed", "APT-10", "--db", str(db))
    assert [e["entity_id"] for e in events] == ["APT-10"]
    _, events, _ = run_json("who-changed", "INT-553", "--db", str(db))
    assert [e["action"] for e in events] == ["interpreter.assigned", "interpreter.changed"]


def test_email_target_actor_action_and_limit(db: Path) -> None:
    _, events, _ = run_json("who-changed", "LEE@x.example", "--db", str(db))
    assert [e["action"] for e in events] == ["user.role_changed", "user.removed"]
    _, events, _ = run_json("who-changed", "--id", "APT-1042", "--type", "appointment", "--actor", "TOM@x.example",
                            "--db", str(db))
    assert len(events) == 1
    _, events, _ = run_json("who-changed", "lee@x.example", "--action", "user.rem*", "--db", str(db))
    assert [e["action"] for e in events] == ["user.removed"]
    code, events, err = run_json("who-changed", "appointment:APT-1042", "--limit", "2", "--db", str(db))
    assert [e["action"] for e in events] == ["interpreter.assigned", "appointment.edited"]
    assert "1 older event(s) left out by --limit" in err


def test_no_match_is_an_empty_list_and_says_what_is_loaded(db: Path) -> None:
    code, events, _ = run_json("who-changed", "appointment:NOPE", "--db", str(db))
    assert (code, events) == (0, [])
    table = cli("who-changed", "appointment:NOPE", "--db", str(db), "--format", "table")
    assert "Nothing matched appointment:NOPE" in table.stderr and "2026-11-10 12:00" in table.stderr


def test_who_changed_usage_errors(db: Path) -> None:
    assert cli("who-changed", "--db", str(db)).code == 2
    assert cli("who-changed", "x:1", "--id", "2", "--db", str(db)).code == 2
    assert cli("who-changed", "x:1", "--limit", "0", "--db", str(db)).code == 2
    no_id = cli("who-changed", "appointment:", "--db", str(db))
    assert no_id.code == 2 and "appointment: names a type but no id" in no_id.stderr
    assert "--id 'appointment:'" in no_id.stderr
    assert run_json("who-changed", "--id", "appointment:", "--db", str(db))[:2] == (0, [])  # a literal id
    missing = cli("who-changed", "x:1", "--db", str(db.parent / "none.duckdb"))
    assert missing.code == 4 and "fluentlog ingest" in missing.stderr


def test_csv_flattens_changes(db: Path) -> None:
    out = cli("who-changed", "appointment:APT-1042", "--db", str(db), "--format", "csv").stdout.splitlines()
    assert out[0] == ("event_id,occurred_at,actor_email,actor_name,actor_role,action,entity_type,entity_id,"
                      "changes,ip,source")
    assert "start_time: 2026-06-20T15:00:00Z -> 2026-06-21T16:30:00Z" in out[3]


def test_offboarding_finds_the_return_and_the_window(db: Path) -> None:
    code, report, _ = run_json("offboarding", "--email", LEE, "--db", str(db), "--exit-code")
    assert code == 1
    assert report["removal"]["by_email"] == ADMIN
    assert report["role_changes"][0]["from"] == "admin" and report["role_changes"][0]["to"] == "scheduler"
    kinds = sorted((f["kind"], f["severity"], f["count"]) for f in report["findings"])
    assert kinds == [("activity_after_removal", "high", 1), ("signin_after_removal", "high", 1),
                     ("signin_after_removal", "low", 1)]
    assert [a["stream"] for a in report["activity_after"]] == ["access", "access", "audit"]
    assert [w["action"] for w in report["window_changes"]] == ["rate_rule.changed", "template.changed"]
    narrow = run_json("offboarding", "--email", LEE, "--window", "1h", "--db", str(db))[1]
    assert [w["action"] for w in narrow["window_changes"]] == ["rate_rule.changed"]


def test_removal_not_logged(db: Path) -> None:
    code, report, _ = run_json("offboarding", "--email", "ghost@x.example", "--removed-at", "2026-11-10T14:00Z",
                               "--db", str(db), "--exit-code")
    assert code == 1 and report["removal"] is None
    assert [f["kind"] for f in report["findings"]] == ["removal_not_logged"]
    ok = run_json("offboarding", "--email", LEE, "--removed-at", "2026-11-10T14:30Z", "--db", str(db))[1]
    assert "removal_not_logged" not in [f["kind"] for f in ok["findings"]]


def test_offboarding_all_in_range(db: Path) -> None:
    code, reports, _ = run_json("offboarding", "--all", "--since", "2026-11-10", "--until", "2026-11-10",
                                "--db", str(db))
    assert [r["email"] for r in reports] == [LEE]
    code, reports, _ = run_json("offboarding", "--all", "--since", "2026-11-11", "--db", str(db), "--exit-code")
    assert (code, reports) == (0, [])


def test_timeline_mixes_streams_in_order(db: Path) -> None:
    _, items, _ = run_json("timeline", "--email", LEE, "--db", str(db))
    assert [(i["stream"], i["role"], i["action"]) for i in items] == [
        ("access", "signin", "signin.succeeded"), ("audit", "subject", "user.role_changed"),
        ("audit", "subject", "user.removed"), ("access", "signin", "signin.failed"),
        ("access", "signin", "sso.succeeded"), ("audit", "actor", "appointment.edited")]
    _, items, _ = run_json("timeline", "--email", LEE, "--around", "2026-11-10T15:25Z", "--window", "10m",
                           "--db", str(db))
    assert [i["offset_seconds"] for i in items] == [-300, 300]
