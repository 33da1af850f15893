"""The evidence ledger: verify passes on an honest store and names what changed behind its back."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from conftest import CORPUS, cli, owner_config

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, dict]:
    config = owner_config(tmp_path)
    config.write_text('anchor_file = "anchor.txt"\n' + config.read_text())
    env = {"FLUENTLOG_CONFIG": str(config)}
    db = tmp_path / "t.duckdb"
    run = cli("ingest", str(SAMPLE / "audit.jsonl"), str(SAMPLE / "access.jsonl"), "--db", str(db),
              "--format", "json", env=env)
    assert run.code == 0, run.stderr
    assert len(json.loads(run.stdout)["ledger_head"]) == 64
    return db, env


def verify(db: Path, env: dict, *extra: str) -> tuple[int, dict]:
    run = cli("verify", "--db", str(db), "--format", "json", *extra, env=env)
    return run.code, json.loads(run.stdout)


def tamper(db: Path, sql: str) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute(sql)


def test_honest_store_verifies_and_heads_are_anchored(store) -> None:
    db, env = store
    code, doc = verify(db, env)
    assert (code, doc["ok"], doc["entries"], doc["files"]) == (0, True, 2, 2)
    anchored = (db.parent / "anchor.txt").read_text().split()[-1]
    assert anchored == doc["head"]
    assert cli("ingest", str(CORPUS / "clean.jsonl"), "--db", str(db), env=env).code == 0
    assert verify(db, env)[1]["entries"] == 3


@pytest.mark.parametrize("sql, words", [
    ("UPDATE audit_events SET actor_email = 'x@y.example' WHERE event_id = 'aud_000553'", "events altered"),
    ("DELETE FROM access_events WHERE event_id IN (SELECT event_id FROM access_events LIMIT 3)",
     "3 event(s) deleted"),
    ("INSERT INTO audit_events SELECT * REPLACE ('forged' AS event_id) FROM audit_events LIMIT 1",
     "1 event(s) added"),
    ("INSERT INTO audit_events SELECT * REPLACE ('forged' AS event_id, 99 AS file_id) FROM audit_events LIMIT 1",
     "the ledger does not know"),
])
def test_changes_behind_fluentlogs_back_are_named(store, sql: str, words: str) -> None:
    db, env = store
    tamper(db, sql)
    code, doc = verify(db, env)
    assert code == 1 and not doc["ok"]
    assert any(words in p["problem"] for p in doc["problems"]), doc["problems"]
    if "does not know" in words:
        assert doc["problems"][0]["event_ids"] == ["forged"]


def test_an_altered_or_removed_ledger_entry_breaks_the_chain(store) -> None:
    db, env = store
    tamper(db, "UPDATE ledger SET body = replace(body, '\"inserted\":559', '\"inserted\":558') WHERE seq = 1")
    assert any("altered" in p["problem"] for p in verify(db, env)[1]["problems"])


def test_rewriting_the_ledger_is_caught_by_the_anchor(store) -> None:
    db, env = store
    tamper(db, "DELETE FROM ledger WHERE seq = 2")
    tamper(db, "DELETE FROM access_events")
    code, doc = verify(db, env)
    assert code == 1 and any("not in the ledger" in p["problem"] for p in doc["problems"])


def test_retention_is_not_tampering_and_its_head_is_anchored(store) -> None:
    db, env = store
    assert cli("retention", "--keep", "60d", "--apply", "--db", str(db), env=env).code == 0
    code, doc = verify(db, env)
    assert (code, doc["ok"], doc["entries"]) == (0, True, 3)
    assert (db.parent / "anchor.txt").read_text().split()[-1] == doc["head"]  # the purge's entry


@pytest.mark.parametrize("command", [("ingest", str(CORPUS / "clean.jsonl")), ("verify", "--rebuild-index")])
def test_an_anchor_file_that_cannot_be_written_is_an_error_that_says_what_to_append(
        store, tmp_path: Path, command: tuple[str, ...]) -> None:
    """The data is committed before the head is anchored: the message says so, and gives the
    line to append by hand, instead of an internal error."""
    db, env = store
    config = Path(env["FLUENTLOG_CONFIG"])
    config.write_text(config.read_text().replace('anchor_file = "anchor.txt"', 'anchor_file = "no/such/dir/a.txt"'))
    run = cli(*command, "--db", str(db), env=env)
    assert run.code == 4 and "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert "the data is stored, but the ledger head could not be appended to the anchor file" in run.stderr
    head = run.stderr.split("append this line to it: ")[1].split()[1]
    assert cli("verify", "--db", str(db), "--anchor", str(db.parent / "anchor.txt"), env=env).code == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT entry_hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()[0] == head
