"""signins findings on small fixtures with known answers, edges included."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from builders import T0, access, write_jsonl, write_parquet
from conftest import cli, load

from fluentlog.config import Detect
from fluentlog.store import Store
from fluentlog.timeparse import TimeRange
from fluentlog.workflows import signins


def check(tmp_path: Path, records: list[dict], email: str | None = "dana@x.example", ip: str | None = None,
          since_minutes: float | None = None, parquet: bool = False, detect: Detect = Detect()) -> dict:
    db = tmp_path / ("p.duckdb" if parquet else "j.duckdb")
    files = write_parquet(tmp_path, records) if parquet else [write_jsonl(tmp_path / "f.jsonl", records)]
    assert load(db, *files).totals()["rejected"] == 0
    since = T0 + timedelta(minutes=since_minutes) if since_minutes is not None else None
    with Store.open(db, read_only=True) as store:
        result = signins.run(store, signins.Params(email=email if not ip else None, ip=ip,
                                                   range=TimeRange(since=since), detect=detect))
    return signins.document(result)


def kinds(doc: dict) -> list[str]:
    return sorted(f["kind"] for f in doc["findings"])


def baseline() -> list[dict]:
    """Three ordinary successes from New York, days before the action."""
    return [access(-3000 + i * 60) for i in range(3)]


def test_exactly_five_failures_in_fifteen_minutes_is_a_burst(tmp_path: Path) -> None:
    doc = check(tmp_path, [access(m, "failure", ip="203.0.113.9") for m in (0, 3, 6, 10, 15)])
    (f,) = doc["findings"]
    assert (f["kind"], f["severity"], f["count"], f["ip"]) == ("repeated_failures", "medium", 5, "203.0.113.9")
    assert f["first_at"].isoformat().startswith("2026-11-10T12:00") and f["last_at"].minute == 15


def test_four_failures_or_five_spread_over_sixteen_minutes_are_not(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert check(tmp_path / "a", [access(m, "failure") for m in (0, 3, 6, 9)])["findings"] == []
    assert check(tmp_path / "b", [access(m, "failure") for m in (0, 4, 8, 12, 16)])["findings"] == []


def test_success_within_an_hour_after_a_burst(tmp_path: Path) -> None:
    failures = [access(m, "failure", ip="203.0.113.9") for m in range(5)]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    hit = check(tmp_path / "a", [*failures, access(4 + 60, ip="203.0.113.9")])
    assert kinds(hit) == ["repeated_failures", "success_after_failures"]
    assert hit["findings"][0]["kind"] == "success_after_failures" and hit["findings"][0]["severity"] == "high"
    miss = check(tmp_path / "b", [*(dict(f, id=f["id"] + "b") for f in failures), access(4 + 61)])
    assert kinds(miss) == ["repeated_failures"]


def test_new_country_ip_device_need_a_baseline_of_three(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    odd = access(0, ip="192.0.2.50", place="par", device="dev_9")
    found = check(tmp_path / "a", [*baseline(), odd])
    assert kinds(found) == ["new_country", "new_device", "new_ip"]
    severities = {f["kind"]: f["severity"] for f in found["findings"]}
    assert severities == {"new_country": "medium", "new_ip": "low", "new_device": "low"}
    assert "FR" in next(f["detail"] for f in found["findings"] if f["kind"] == "new_country")
    two = check(tmp_path / "b", [*baseline()[:2], dict(odd, id="x1")])
    assert kinds(two) == []


def test_failed_attempts_do_not_make_a_place_familiar(tmp_path: Path) -> None:
    attack = [access(m, "failure", ip="192.0.2.50", place="par") for m in range(3)]
    doc = check(tmp_path, [*baseline(), *attack, access(30, ip="192.0.2.50", place="par")])
    assert "new_country" in kinds(doc) and "new_ip" in kinds(doc)


def test_impossible_travel_by_distance_and_by_country(tmp_path: Path) -> None:
    for name, records, expected in [
        ("fast", [access(0, place="nyc"), access(60, place="lon", ip="192.0.2.1")], True),
        ("slow", [access(0, place="nyc"), access(600, place="lon", ip="192.0.2.1")], False),
        ("near", [access(0, place="nyc"), access(30, place="bos", ip="192.0.2.1")], False),
        ("countries", [access(0, place="nyc", coords=False), access(90, place="lon", coords=False)], True),
        ("countries_late", [access(0, place="nyc", coords=False), access(150, place="lon", coords=False)], False),
        ("no_location", [access(0, place=None), access(5, place=None)], False),
    ]:
        (tmp_path / name).mkdir()
        doc = check(tmp_path / name, records)
        assert ("impossible_travel" in kinds(doc)) is expected, name
        if expected:
            detail = next(f["detail"] for f in doc["findings"] if f["kind"] == "impossible_travel")
            assert "London" in detail and "New York" in detail


def test_password_spray_from_one_ip(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    spray = [access(m * 5, "failure", email=f"u{m}@x.example", ip="192.0.2.66") for m in range(5)]
    doc = check(tmp_path / "a", spray, ip="192.0.2.66")
    (f,) = [f for f in doc["findings"] if f["kind"] == "password_spray"]
    assert (f["severity"], f["count"], f["ip"]) == ("high", 5, "192.0.2.66")
    assert check(tmp_path / "b", spray[:4], ip="192.0.2.66")["findings"] == []


def test_burst_before_the_range_is_history_not_a_finding(tmp_path: Path) -> None:
    records = [access(m, "failure") for m in range(5)] + [access(30)]
    doc = check(tmp_path, records, since_minutes=20)
    assert kinds(doc) == ["success_after_failures"]  # the success falls in the range
    assert doc["summary"]["total"] == 1 and doc["summary"]["failed"] == 0


def test_missing_ip_location_device_are_fine(tmp_path: Path) -> None:
    records = [access(m, "failure", ip=None, place=None, device=None) for m in range(6)]
    doc = check(tmp_path, records)
    assert kinds(doc) == ["repeated_failures"] and doc["findings"][0]["ip"] is None
    s = doc["summary"]
    assert (s["total"], s["failed"], s["distinct_ips"], s["distinct_countries"], s["distinct_devices"]) == \
        (6, 6, 0, 0, 0)


def test_thresholds_come_from_detect(tmp_path: Path) -> None:
    doc = check(tmp_path, [access(m, "failure") for m in range(3)], detect=Detect(failures=3))
    assert kinds(doc) == ["repeated_failures"]


@pytest.mark.parametrize("parquet", [False, True])
def test_parquet_and_jsonl_give_the_same_answer(tmp_path: Path, parquet: bool) -> None:
    records = [*baseline(), *(access(m, "failure", ip="192.0.2.5", place="par") for m in range(5)),
               access(10, ip="192.0.2.5", place="par")]
    doc = check(tmp_path, records, parquet=parquet)
    assert kinds(doc) == ["new_country", "new_ip", "repeated_failures", "success_after_failures"]
    assert doc["summary"]["total"] == 9


def test_cli_exit_code_around_and_zoneless_since(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    write_jsonl(tmp_path / "a.jsonl", [access(m, "failure") for m in range(5)] + [access(120)])
    assert cli("ingest", str(tmp_path / "a.jsonl"), "--db", str(db)).code == 0
    run = cli("signins", "--email", "DANA@x.example", "--db", str(db), "--format", "json", "--exit-code")
    assert run.code == 1 and len(json.loads(run.stdout)["findings"]) == 1
    # 07:01 in New York is 12:01 UTC: the range then holds the last four failures and the success.
    run = cli("signins", "--email", "dana@x.example", "--since", "2026-11-10T07:01", "--tz", "America/New_York",
              "--db", str(db), "--format", "json", "--exit-code")
    doc = json.loads(run.stdout)
    assert doc["summary"]["total"] == 5 and doc["query"]["since"] == "2026-11-10T12:01:00.000Z"
    run = cli("signins", "--email", "dana@x.example", "--around", "2026-11-10T12:02Z", "--window", "1m",
              "--db", str(db), "--format", "json")
    assert [e["offset_seconds"] for e in json.loads(run.stdout)["events"]] == [-60, 0, 60]
    quiet = cli("signins", "--email", "nobody@x.example", "--db", str(db), "--format", "json", "--exit-code")
    assert quiet.code == 0 and json.loads(quiet.stdout)["events"] == []
    bad = cli("signins", "--email", "dana@x.example", "--since", "someday", "--db", str(db))
    assert bad.code == 2 and "cannot read 'someday'" in bad.stderr and "2026-11-20" in bad.stderr
    both = cli("signins", "--db", str(db))
    assert both.code == 2 and "--email, --user or --ip" in both.stderr
