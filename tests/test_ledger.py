"""The evidence ledger: verify passes on an honest store and names what changed behind its back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import CORPUS, cli, load, owner_config

from fluentlog import ledger
from fluentlog.store import Store

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


@pytest.fixture(scope="module")
def honest(tmp_path_factory) -> Path:
    """A small store with two ledger entries, made once: each test tampers with a copy."""
    db = tmp_path_factory.mktemp("honest") / "h.duckdb"
    load(db, CORPUS / "clean.jsonl")
    load(db, SAMPLE / "access.jsonl")
    return db


def copy_of(honest: Path, tmp_path: Path) -> Path:
    db = tmp_path / "t.duckdb"
    shutil.copyfile(honest, db)
    return db


def verdict_of(db: Path, anchor: Path | None = None) -> ledger.Verdict:
    with Store.open(db, read_only=True) as store:
        verdict = ledger.verify(store, anchor)
    json.dumps(ledger.view(verdict).document)  # every value the report shows is JSON
    return verdict


def _rebuilt(columns: str) -> str:
    """The ledger table recreated with other column types (its constraints gone with it)."""
    return (f"CREATE TABLE l2 AS SELECT {columns} FROM ledger; DROP TABLE ledger; "
            "CREATE TABLE ledger AS SELECT * FROM l2; DROP TABLE l2")


_FORGED = "sha256(prev_hash || chr(10) || {body})"  # an entry rewritten with a matching hash


@pytest.mark.parametrize("sql, words", [
    ("UPDATE ledger SET body = 'x' WHERE seq = 1", "altered: its hash does not match"),
    ("""UPDATE ledger SET body = '{"files":{"x":1}}'""", "altered: its hash does not match"),
    ("UPDATE ledger SET body = '[1,2]'", "altered: its hash does not match"),
    ("UPDATE ledger SET body = 'null'", "altered: its hash does not match"),
    ("UPDATE ledger SET body = repeat('[', 100000)", "altered: its hash does not match"),
    ("""UPDATE ledger SET body = '{"files":{"1":{"audit":"x:y"}}}'""", "altered: its hash does not match"),
    ("""UPDATE ledger SET body = '{"files":{"1":{"audit":5}}}'""", "altered: its hash does not match"),
    ("""UPDATE ledger SET body = '{"files":{"1_0":{}}}'""", "altered: its hash does not match"),
    ("""UPDATE ledger SET body = '{"files":{"99999999999999999999":{}}}'""", "altered: its hash does not match"),
    ("ALTER TABLE ledger ALTER COLUMN body DROP NOT NULL; UPDATE ledger SET body = NULL",
     "altered: its hash does not match"),
    ("ALTER TABLE ledger ALTER COLUMN prev_hash DROP NOT NULL; ALTER TABLE ledger ALTER COLUMN entry_hash "
     "DROP NOT NULL; UPDATE ledger SET prev_hash = NULL, entry_hash = NULL", "the chain is broken"),
    ("ALTER TABLE ledger ALTER entry_hash TYPE BLOB USING entry_hash::BLOB", "altered: its hash does not match"),
    ("ALTER TABLE ledger ALTER body TYPE INTEGER USING 5", "altered: its hash does not match"),
    (_rebuilt("'a' || seq AS seq, kind, recorded_at, body::BLOB AS body, prev_hash, entry_hash"),
     "altered: its hash does not match"),
    (_rebuilt("[seq] AS seq, kind, recorded_at, {'a': body} AS body, 1.5 AS prev_hash, NULL AS entry_hash"),
     "the chain is broken"),
    ("UPDATE ledger SET body = '[1,2]', entry_hash = " + _FORGED.format(body="'[1,2]'") + " WHERE seq = 2",
     "altered: its body is not a JSON object"),
    ("UPDATE ledger SET body = 'x', entry_hash = " + _FORGED.format(body="'x'") + " WHERE seq = 2",
     "altered: its body is not JSON"),
    ("""UPDATE ledger SET body = '{"files":{"2":[]}}', entry_hash = """
     + _FORGED.format(body="""'{"files":{"2":[]}}'""") + " WHERE seq = 2",
     "altered: its record of file '2' is not a file id and event digests"),
    ("""UPDATE ledger SET body = '{"files":["2"]}', entry_hash = """
     + _FORGED.format(body="""'{"files":["2"]}'""") + " WHERE seq = 2", "altered: its `files` is not a JSON object"),
    ("INSERT INTO audit_events (event_id) VALUES (NULL)", "events stored for no file"),
    ("UPDATE ledger SET seq = seq + 10", "altered: its number is not the one its body records (1)"),
])
def test_any_value_written_into_the_ledger_is_a_finding_not_a_crash(honest, tmp_path: Path, sql: str,
                                                                    words: str) -> None:
    db = copy_of(honest, tmp_path)
    tamper(db, sql)
    verdict = verdict_of(db)
    assert not verdict.ok
    assert any(words in p["problem"] for p in verdict.problems), verdict.problems


def test_an_unreadable_entry_leaves_its_files_vouched_for_by_none(honest, tmp_path: Path) -> None:
    db = copy_of(honest, tmp_path)
    tamper(db, "UPDATE ledger SET body = 'x' WHERE seq = 1")
    problems = verdict_of(db).problems
    assert [p.get("entry") for p in problems][:1] == [1]
    assert any("no readable ledger entry vouches for" in p["problem"] and p["file_id"] == 1 for p in problems)


def test_a_tampered_ledger_body_is_exit_1_not_an_internal_error(store) -> None:
    db, env = store
    tamper(db, "UPDATE ledger SET body = 'x' WHERE seq = 1")
    run = cli("verify", "--db", str(db), "--format", "json", env=env)
    assert run.code == 1, run.stderr
    assert "internal error" not in run.stderr
    assert json.loads(run.stdout)["problems"][0] == {"entry": 1,
                                                     "problem": "the entry was altered: its hash does not match"}


@pytest.mark.parametrize("text", ["", "\n  \n\t\n"])
def test_an_empty_anchor_file_is_a_finding(store, text: str) -> None:
    db, env = store
    anchor = db.parent / "empty-anchor.txt"
    anchor.write_text(text)
    run = cli("verify", "--db", str(db), "--format", "json", "--anchor", str(anchor), env=env)
    assert run.code == 1, run.stderr
    assert any("holds no ledger head (it is empty)" in p["problem"] for p in json.loads(run.stdout)["problems"])


def test_an_anchor_file_that_is_not_text_is_a_finding(honest, tmp_path: Path) -> None:
    anchor = tmp_path / "anchor.bin"
    anchor.write_bytes(b"\xff\xfe\x00garbage")
    assert any("is not text" in p["problem"] for p in verdict_of(honest, anchor).problems)


@pytest.mark.parametrize("sql", [
    "ALTER TABLE ledger ALTER entry_hash TYPE BLOB USING entry_hash::BLOB",
    _rebuilt("'a' || seq AS seq, kind, recorded_at, body, prev_hash, entry_hash"),
])
def test_status_and_a_new_ingest_on_a_rewritten_ledger_say_so_without_crashing(honest, tmp_path: Path,
                                                                               sql: str) -> None:
    db = copy_of(honest, tmp_path)
    tamper(db, sql)
    status = cli("status", "--db", str(db), "--format", "json")
    assert status.code == 0 and isinstance(json.loads(status.stdout)["ledger_head"], str), status.stderr
    ingest = cli("ingest", str(SAMPLE / "audit.jsonl"), "--db", str(db), "--format", "json")
    assert ingest.code == 4 and "internal error" not in ingest.stderr
    assert "the ledger was altered behind fluentlog's back" in json.loads(ingest.stdout)["files"][0]["error"]
    assert verdict_of(db).problems
