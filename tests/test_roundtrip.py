"""Property: valid records written as JSON Lines and as Parquet come back field for field."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from builders import write_jsonl, write_parquet
from conftest import load, rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

text = st.text(max_size=20)
ident = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12).filter(
    lambda s: s.strip() != "" and s[0] not in "[{")
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)
instant = st.datetimes(min_value=datetime(1991, 1, 1), max_value=datetime(2099, 12, 31),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)),
                                                  timezone(timedelta(hours=-5, minutes=-30))]))


def stamp(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def maybe(strategy):
    return st.none() | strategy


@st.composite
def audit_record(draw, n: int) -> dict:
    record = {"id": f"aud_{n}_{draw(ident)}", "occurred_at": stamp(draw(instant)), "action": draw(ident),
              "actor": {"id": draw(ident), "email": draw(text), "name": draw(text), "role": draw(text)},
              "entity": {"type": draw(ident), "id": draw(ident)}}
    if draw(st.booleans()):
        record["entity"]["email"] = draw(text)
    if draw(st.booleans()):
        record["related"] = draw(st.lists(st.fixed_dictionaries({"type": ident, "id": ident}), max_size=3))
    if draw(st.booleans()):
        record["changes"] = draw(st.dictionaries(
            st.text(min_size=1, max_size=8), st.fixed_dictionaries({"from": json_value, "to": json_value}), max_size=3))
    if draw(st.booleans()):
        record["context"] = {"ip": draw(text), "user_agent": draw(text), "request_id": draw(text)}
    return record


@st.composite
def access_record(draw, n: int) -> dict:
    record = {"id": f"acc_{n}_{draw(ident)}", "occurred_at": stamp(draw(instant)), "event": draw(ident),
              "outcome": draw(st.sampled_from(["success", "failure"])),
              "user": {"id": draw(ident), "email": draw(text)}}
    for key in ("method", "reason", "ip"):
        if draw(st.booleans()):
            record[key] = draw(text)
    if draw(st.booleans()):
        record["location"] = {"country": draw(text), "region": draw(text), "city": draw(text),
                              "lat": draw(st.floats(-90, 90)), "lon": draw(st.floats(-180, 180))}
    if draw(st.booleans()):
        record["device"] = {"id": draw(text), "user_agent": draw(text)}
    return record


@st.composite
def workspace(draw) -> list[dict]:
    count = draw(st.integers(1, 6))
    return [draw(audit_record(i) if draw(st.booleans()) else access_record(i)) for i in range(count)]


def expected_audit(r: dict) -> tuple:
    return (r["id"], datetime.fromisoformat(r["occurred_at"]), r["action"], r["actor"]["id"], r["actor"]["email"],
            r["actor"]["name"], r["actor"]["role"], r["entity"]["type"], r["entity"]["id"], r["entity"].get("email"),
            r.get("related"), r.get("changes"),
            *(r.get("context", {}).get(k) for k in ("ip", "user_agent", "request_id")))


def expected_access(r: dict) -> tuple:
    loc, dev = r.get("location", {}), r.get("device", {})
    return (r["id"], datetime.fromisoformat(r["occurred_at"]), r["event"], r["outcome"], r["user"]["id"],
            r["user"]["email"], r.get("method"), r.get("reason"), r.get("ip"),
            *(loc.get(k) for k in ("country", "region", "city", "lat", "lon")), dev.get("id"), dev.get("user_agent"))


def stored(db: Path) -> tuple[dict, dict]:
    audit = {r[0]: (*r[:10], json.loads(r[10]) if r[10] is not None else None,
                    json.loads(r[11]) if r[11] is not None else None, *r[12:15])
             for r in rows(db, "SELECT * EXCLUDE (raw, file_id, line_no, source) FROM audit_events")}
    access = {r[0]: r for r in rows(db, "SELECT * EXCLUDE (raw, file_id, line_no, source, user_name) "
                                        "FROM access_events")}
    sources = rows(db, "SELECT DISTINCT source FROM audit_events UNION SELECT DISTINCT source FROM access_events")
    assert sources in ([("fluent",)], [])
    return audit, access


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workspace())
def test_jsonl_and_parquet_round_trip(records: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_jsonl(folder / "all.jsonl", records)
        parquet_files = write_parquet(folder, records)
        for db, files in ((folder / "j.duckdb", [folder / "all.jsonl"]), (folder / "p.duckdb", parquet_files)):
            report = load(db, *files)
            assert report.totals()["rejected"] == 0, [dict(f.rejected_by_reason) for f in report.files]
            assert report.totals()["inserted"] == len(records)
            audit, access = stored(db)
            for r in records:
                if "action" in r:
                    assert audit[r["id"]] == expected_audit(r)
                else:
                    assert access[r["id"]] == expected_access(r)
            assert rows(db, "SELECT count(*) FROM audit_events WHERE raw IS NOT NULL") == [(0,)]
