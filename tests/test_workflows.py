"""Core workflows on a real DuckDB loaded from the bundled sample workspace."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import builders
import pytest
from conftest import ROOT, load

from fluentlog import entity_index
from fluentlog.store import Store
from fluentlog.workflows import common, signins, status, timeline, who_changed

SAMPLE = ROOT / "sample_data"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    report = load(db, SAMPLE / "audit.jsonl", SAMPLE / "access.jsonl")
    assert report.totals()["rejected"] == 0
    return db


def test_history_is_oldest_first_and_includes_related_mentions(sample_db: Path) -> None:
    with Store.open(sample_db, read_only=True) as store:
        view = who_changed.view(who_changed.run(store, who_changed.Params("appointment:APT-1042")))
    actions = [e["action"] for e in view.document]
    assert actions == ["appointment.created", "interpreter.assigned", "appointment.edited",
                       "interpreter.unassigned", "interpreter.assigned", "appointment.canceled",
                       "appointment.edited"]
    times = [e["occurred_at"] for e in view.document]
    assert times == sorted(times)
    assert view.document[5]["changes"][0] == {"field": "status", "from": "scheduled", "to": "canceled"}
    assert view.document[5]["actor_email"] == "marcus.chen@northside.example"


def test_history_matches_an_entity_named_only_as_related(sample_db: Path) -> None:
    with Store.open(sample_db, read_only=True) as store:
        result = who_changed.run(store, who_changed.Params("interpreter:INT-0103"))
    assert "APT-1042" in [e["entity_id"] for e in result.events]


def test_status_counts_and_the_missing_export(sample_db: Path) -> None:
    with Store.open(sample_db, read_only=True) as store:
        result = status.run(store, status.Params())
    assert result.streams["audit"]["events"] == 559 and result.streams["access"]["events"] == 462
    assert result.files == 2 and result.rejected == 0 and result.conflicts == 0
    assert {(g["stream"], g["from"], g["to"]) for g in result.gaps} == {
        ("audit", date(2026, 10, 14), date(2026, 10, 15)), ("access", date(2026, 10, 14), date(2026, 10, 15))}


def test_gap_days_follow_the_display_timezone(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    path = tmp_path / "edge.jsonl"
    # 2026-11-02T03:00Z is still Nov 1 in New York: no gap there, one in UTC.
    path.write_text("\n".join(
        f'{{"id": "a{i}", "occurred_at": "{t}", "action": "x", "actor": {{"email": "a@b"}}, '
        f'"entity": {{"type": "t", "id": "1"}}}}' for i, t in
        enumerate(["2026-11-01T03:00:00Z", "2026-11-02T03:00:00Z", "2026-11-03T12:00:00Z"])) + "\n")
    load(db, path)
    with Store.open(db, read_only=True) as store:
        utc = status.run(store, status.Params("UTC")).gaps
        ny = status.run(store, status.Params("America/New_York")).gaps
    assert utc == []
    assert ny == [{"stream": "audit", "from": date(2026, 11, 2), "to": date(2026, 11, 2)}]


def test_duckdb_lowers_only_i_and_k_into_ascii_from_elsewhere() -> None:
    """common.email_bounds rests on this: which characters DuckDB's lower() turns into ASCII.
    Asked of the installed DuckDB, for every code point."""
    import duckdb
    with duckdb.connect() as con:
        found = con.execute(
            "SELECT i, lower(chr(i::INTEGER)) FROM range(128, 1114112) t(i) "
            "WHERE (i < 55296 OR i > 57343) AND lower(chr(i::INTEGER)) < chr(128)").fetchall()
        ascii_lowered = con.execute("SELECT string_agg(lower(chr(i::INTEGER)), '' ORDER BY i) FROM range(0, 128) t(i)"
                                    ).fetchone()[0]
    assert sorted({low for _, low in found}) == sorted(common._LOWERED_INTO_ASCII)
    assert ascii_lowered == "".join(chr(i) for i in range(128)).lower()


SPELLINGS = {  # an ASCII email asked for, and stored spellings DuckDB lowers to the same
    "kit.ng@x.example": ["Kit.Ng@X.example", "KIT.NG@X.EXAMPLE", "\u212ait.ng@x.example", "k\u0130t.ng@x.example",
                         "kit.ng@x.example"],
    "Ana@X.example": ["ana@x.example", "ANA@X.EXAMPLE", "aNa@x.EXAMPLE"],
    "zoe+1@x.example": ["ZOE+1@X.EXAMPLE", "zoe+1@x.example"],
}


@pytest.mark.parametrize("email", sorted(SPELLINGS))
def test_email_bounds_hold_every_spelling_that_lowers_alike(email: str) -> None:
    import duckdb
    lo, hi = common.email_bounds(email)
    with duckdb.connect() as con:
        for spelling in SPELLINGS[email]:
            assert con.execute("SELECT lower($a) = lower($b)", {"a": spelling, "b": email}).fetchone()[0]
            # Python orders str by code point, as DuckDB orders UTF-8 by byte
            assert con.execute("SELECT $v BETWEEN $lo AND $hi", {"v": spelling, "lo": lo, "hi": hi}).fetchone()[0]
            assert lo <= spelling <= hi
    assert common.email_bounds("zoë@x.example") is None  # not ASCII: no bounds, the scan is as before


def test_signins_and_timeline_find_every_spelling_with_and_without_bounds(tmp_path: Path, monkeypatch) -> None:
    crowd = [f"p{i:03d}@x.example" for i in range(300)]  # others around them, in several row groups
    records = []
    for n, email in enumerate([*crowd, *(s for spellings in SPELLINGS.values() for s in spellings)] * 3):
        records.append(builders.access(5000 - n, email=email))
        records.append(builders.audit(5000 - n, "user.updated", email, ("user", f"u{n}"), email=email))
    db = tmp_path / "spellings.duckdb"
    load(db, builders.write_jsonl(tmp_path / "events.jsonl", records))
    for email, spellings in SPELLINGS.items():
        with Store.open(db, read_only=True) as store:
            bounded = (signins.run(store, signins.Params(email=email)), timeline.run(store, timeline.Params(email)))
            with monkeypatch.context() as m:
                m.setattr(signins, "email_bounds", lambda _e: None)
                m.setattr(timeline, "email_bounds", lambda _e: None)
                m.setattr(entity_index, "usable", lambda _s: False)
                plain = (signins.run(store, signins.Params(email=email)), timeline.run(store, timeline.Params(email)))
        assert sorted(e["email"] for e in bounded[0].events) == sorted(spellings * 3)
        assert bounded[0].events == plain[0].events
        assert len(bounded[1]) == 3 * len(spellings) * 2  # each sign-in, and each change they made to themselves
        assert bounded[1] == plain[1]
