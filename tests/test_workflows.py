"""Core workflows on a real DuckDB loaded from the bundled sample workspace."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from conftest import ROOT, load

from fluentlog.store import Store
from fluentlog.workflows import status, who_changed

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
