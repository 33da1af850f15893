"""The entity index behind who-changed: it may only make answers faster, never different."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

import pytest
from builders import audit, write_jsonl
from conftest import cli, load, owner_config, rows

from fluentlog import entity_index
from fluentlog.ingest import files as ingest_files
from fluentlog.ingest import load as ingest_load
from fluentlog.store import Store
from fluentlog.timeparse import TimeRange
from fluentlog.workflows import retention, who_changed

EVENTS = 40_000  # three blocks of 16,384 events and more, over two files
ODD_RELATED = [  # shapes `related` may take: the index must hold what the filters can match
    [{"type": "interpreter", "id": "INT-7"}, {"type": "user", "id": "usr_x"}],
    [{"type": "invoice", "id": 42}],
    ["INT-7", None, {"id": "NO-TYPE"}],
    {"type": "interpreter", "id": "INT-7"},
    [{"type": "template", "id": "TPL-\"quoted\""}],
]


def _records(start: int, count: int) -> list[dict]:
    out = []
    for i in range(start, start + count):
        entity = ("appointment", f"APT-{i % 5000:05d}")
        email = None
        if i % 97 == 0:
            entity, email = ("user", f"usr_{i % 7}"), ["Ana.Ruiz@X.example", "ana.ruiz@x.example",
                                                        "ÖZGE@x.example", "zoë@x.example"][i % 4]
        related = ODD_RELATED[i % len(ODD_RELATED)] if i % 3 == 0 else None
        if i % 1001 == 0:
            related = [{"type": "user", "id": f"usr_{i % 7}"}]
        out.append(audit(i / 10, "appointment.edited", f"actor{i % 50}@x.example", entity, email=email,
                         related=related))
    return out


TARGETS = ["appointment:APT-00001", "APT-00002", "appointment:APT-04999", "interpreter:INT-7", "INT-7",
           "invoice:42", "NO-TYPE", 'template:TPL-"quoted"', "ana.ruiz@x.example", "ANA.RUIZ@X.EXAMPLE",
           "özge@x.example", "Zoë@X.example", "user:usr_3", "usr_3", "appointment:NOPE", "nobody@x.example"]


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("index")
    first = _records(0, EVENTS // 2)
    later = _records(EVENTS // 2, EVENTS // 2) + first[:500]  # the repeats are duplicates, taken out again
    db = folder / "index.duckdb"
    report = load(db, write_jsonl(folder / "a.jsonl", first), write_jsonl(folder / "b.jsonl", later))
    assert report.totals()["inserted"] == EVENTS and report.totals()["duplicates"] == 500
    return db


@pytest.fixture(scope="module")
def small_units_path(tmp_path_factory) -> Path:
    """The same events in many chunks and sort units, whose edges fall inside index blocks."""
    folder = tmp_path_factory.mktemp("units")
    db = folder / "units.duckdb"
    with pytest.MonkeyPatch.context() as m:
        m.setattr(ingest_files, "CHUNK_BYTES", 1 << 20)
        m.setattr(ingest_load, "SORT_UNIT_ROWS", 7_000)
        report = load(db, write_jsonl(folder / "a.jsonl", _records(0, EVENTS // 2)),
                      write_jsonl(folder / "b.jsonl", _records(EVENTS // 2, EVENTS // 2)))
    assert report.totals()["inserted"] == EVENTS
    return db


def _both(store: Store, params: who_changed.Params, monkeypatch) -> tuple[who_changed.Result, who_changed.Result]:
    indexed = who_changed.run(store, params)
    with monkeypatch.context() as m:
        m.setattr(entity_index, "usable", lambda _store: False)
        plain = who_changed.run(store, params)
    return indexed, plain


def _same(a: who_changed.Result, b: who_changed.Result) -> None:
    assert [e["event_id"] for e in a.events] == [e["event_id"] for e in b.events]
    assert a.events == b.events and a.left_out == b.left_out


@pytest.mark.parametrize("layout", ["one unit per file", "small units"])
@pytest.mark.parametrize("target", TARGETS)
def test_answers_with_and_without_the_index_agree(store_path: Path, small_units_path: Path, target: str,
                                                  layout: str, monkeypatch) -> None:
    with Store.open(store_path if layout == "one unit per file" else small_units_path, read_only=True) as store:
        assert entity_index.usable(store)
        for params in (who_changed.Params(target), who_changed.Params(target, limit=2),
                       who_changed.Params(target, actor="ACTOR3@x.example"),
                       who_changed.Params(target, range=TimeRange(since=None, until=None))):
            _same(*_both(store, params, monkeypatch))


def test_the_index_narrows_the_scan_and_the_answers_are_not_empty(store_path: Path) -> None:
    with Store.open(store_path, read_only=True) as store:
        blocks = entity_index.blocks(store, ["APT-00001"], [])
        total = store.scalar("SELECT count(DISTINCT seq >> $b) FROM audit_events", {"b": entity_index.BLOCK_BITS})
        assert 0 < len(blocks) < total
        assert entity_index.prefilter(blocks) is not None
        assert len(who_changed.run(store, who_changed.Params("appointment:APT-00001")).events) == 8
        assert len(who_changed.run(store, who_changed.Params("ANA.RUIZ@x.example")).events) > 20
        assert entity_index.blocks(store, ["appointment-that-is-not-there"], []) == []


def test_entities_in_many_runs_of_blocks_are_found_by_the_plain_scan(store_path: Path, monkeypatch) -> None:
    """Past MAX_RANGES runs of blocks the index does not narrow the scan; answers stay the same."""
    monkeypatch.setattr(entity_index, "MAX_RANGES", 0)
    with Store.open(store_path, read_only=True) as store:
        assert entity_index.prefilter(entity_index.blocks(store, ["INT-7"], [])) is None
        for target in ("INT-7", "appointment:APT-00001", "ana.ruiz@x.example"):
            _same(*_both(store, who_changed.Params(target), monkeypatch))


def test_blocks_of_many_ids_and_emails_at_once(store_path: Path) -> None:
    with Store.open(store_path, read_only=True) as store:
        one = set(entity_index.blocks(store, ["APT-00001"], []))
        other = set(entity_index.blocks(store, [], ["ANA.RUIZ@x.example"]))
        many = [f"APT-{i:05d}" for i in range(3000)]
        assert set(entity_index.blocks(store, ["APT-00001", "nope"], ["ana.ruiz@X.example"])) == one | other
        assert set(entity_index.blocks(store, many, [])) >= one
        assert entity_index.blocks(store, [], []) == []


def test_every_audit_event_has_a_seq_rising_in_storage_order(store_path: Path) -> None:
    (count, numbered, distinct, falls), = rows(store_path, """
        SELECT count(*), count(seq), count(DISTINCT seq), count(*) FILTER (WHERE seq < prev)
        FROM (SELECT seq, lag(seq) OVER (ORDER BY rowid) AS prev FROM audit_events)""")
    assert count == numbered == distinct == EVENTS and falls == 0


def test_a_purge_rebuilds_the_index(tmp_path: Path, store_path: Path, monkeypatch) -> None:
    db = tmp_path / "purged.duckdb"
    db.write_bytes(store_path.read_bytes())
    with Store.open(db) as store:
        cutoff = store.scalar("SELECT min(occurred_at) + INTERVAL 30 MINUTE FROM audit_events")
        before = store.scalar("SELECT count(*) FROM audit_refs")
        retention.run(store, retention.Params(keep="test", cutoff=cutoff, apply=True))
        assert store.scalar("SELECT count(*) FROM audit_refs") < before
        for target in TARGETS:
            _same(*_both(store, who_changed.Params(target), monkeypatch))


def _as_format_2(db: Path) -> None:
    """What a store made by the fluentlog before the index looks like."""
    with Store.open(db) as store:
        for statement in ("ALTER TABLE audit_events DROP COLUMN seq", "DROP TABLE audit_refs",
                          "DELETE FROM meta WHERE key = 'entity_index'",
                          "UPDATE meta SET value = '2' WHERE key = 'schema_version'"):
            store.execute(statement)


def test_a_format_2_store_is_read_as_it_is_and_upgraded_by_the_next_write(tmp_path: Path, store_path: Path,
                                                                           monkeypatch) -> None:
    db = tmp_path / "old.duckdb"
    db.write_bytes(store_path.read_bytes())
    with Store.open(store_path, read_only=True) as store:
        expected = {t: who_changed.run(store, who_changed.Params(t)).events for t in TARGETS}
    _as_format_2(db)
    with Store.open(db, read_only=True) as store:  # read-only: no upgrade, no index, same answers
        assert not entity_index.usable(store)
        assert {t: who_changed.run(store, who_changed.Params(t)).events for t in TARGETS} == expected
    shown = cli("who-changed", "appointment:APT-00001", "--db", str(db), "--format", "json")
    assert shown.code == 0 and len(json.loads(shown.stdout)) == 8
    with Store.open(db) as store:  # the next write upgrades it in place
        assert store.scalar("SELECT value FROM meta WHERE key = 'schema_version'") == "3"
        assert entity_index.usable(store)
        assert store.scalar("SELECT count(*) - count(seq) FROM audit_events") == 0
        assert {t: who_changed.run(store, who_changed.Params(t)).events for t in TARGETS} == expected
    assert cli("verify", "--db", str(db)).code == 0  # the upgrade changed no event


@pytest.mark.parametrize("built_with", ["another-sql", "hash"])
def test_an_index_built_another_way_is_not_used_but_rebuilt(tmp_path: Path, store_path: Path,
                                                            built_with: str) -> None:
    """Another block size or key set (another fluentlog), or another DuckDB's hash(): the
    fingerprint stored with the index says so, and the index is not trusted."""
    db = tmp_path / "moved.duckdb"
    db.write_bytes(store_path.read_bytes())
    with Store.open(db) as store:
        stored = store.scalar("SELECT value FROM meta WHERE key = 'entity_index'")
        assert stored == store.scalar(entity_index.FINGERPRINT)
        sql, version, probe = stored.split(" ")
        changed = f"x{sql} {version} {probe}" if built_with == "another-sql" else f"{sql} {version} 1{probe}"
        store.execute("UPDATE meta SET value = $v WHERE key = 'entity_index'", {"v": changed})
        store.execute("UPDATE audit_refs SET v = v * 8 + 1, h = h + 1")
    with Store.open(db, read_only=True) as store:
        assert not entity_index.usable(store)
        assert len(who_changed.run(store, who_changed.Params("appointment:APT-00001")).events) == 8
    with Store.open(db) as store:
        assert entity_index.usable(store)
        assert len(who_changed.run(store, who_changed.Params("appointment:APT-00001")).events) == 8


def test_a_new_store_has_an_empty_complete_index(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    with Store.open(db) as store:
        assert entity_index.usable(store)
        result = who_changed.run(store, who_changed.Params("appointment:APT-1"))
        assert result.events == []


@pytest.mark.parametrize("tamper", ["DELETE FROM audit_refs WHERE h % 7 = 0", "UPDATE audit_refs SET h = h + 1"])
def test_verify_finds_an_index_altered_behind_fluentlogs_back(tmp_path: Path, store_path: Path, tamper: str) -> None:
    """Entries removed from the index would hide events from who-changed without touching them."""
    db = tmp_path / "tampered.duckdb"
    db.write_bytes(store_path.read_bytes())
    assert cli("verify", "--db", str(db)).code == 0
    with Store.open(db) as store:
        store.execute(tamper)
    done = cli("verify", "--db", str(db), "--format", "json")
    assert done.code == 1
    problems = [p["problem"] for p in json.loads(done.stdout)["problems"]]
    assert len(problems) == 1 and problems[0].startswith("the entity index was altered behind fluentlog's back")
    assert "fluentlog verify --rebuild-index" in problems[0]
    config = owner_config(tmp_path)
    config.write_text(f'anchor_file = "{tmp_path / "anchor.txt"}"\n' + config.read_text())
    repaired = cli("verify", "--rebuild-index", "--db", str(db), "--format", "json",
                   env={"FLUENTLOG_CONFIG": str(config)})
    assert repaired.code == 0, repaired.stderr
    doc = json.loads(repaired.stdout)
    assert doc["ok"] and doc["problems"] == [] and doc["index_rebuilt"]["missing"] + doc["index_rebuilt"]["extra"] > 0
    assert cli("verify", "--db", str(db)).code == 0  # the ledger entry of the rebuild verifies too
    with Store.open(db, read_only=True) as store:
        assert entity_index.usable(store)
        assert who_changed.run(store, who_changed.Params("appointment:APT-00001")).events == _answers(store_path)
        kind, head = store.rows("SELECT kind, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1")[0]
    assert kind == "index-rebuilt"
    assert (tmp_path / "anchor.txt").read_text().split()[-1] == head  # anchored like an ingest's head


def _answers(db: Path) -> list[dict]:
    with Store.open(db, read_only=True) as store:
        return who_changed.run(store, who_changed.Params("appointment:APT-00001")).events


def test_rebuilding_an_index_that_was_not_usable_says_so(tmp_path: Path, store_path: Path) -> None:
    """Opening the store for writing already rebuilds an index built another way; the rebuild
    must not then report that the old index matched."""
    db = tmp_path / "moved.duckdb"
    db.write_bytes(store_path.read_bytes())
    with Store.open(db) as store:
        store.execute("UPDATE meta SET value = 'x' || value WHERE key = 'entity_index'")
    done = cli("verify", "--rebuild-index", "--db", str(db), "--format", "json")
    assert done.code == 0 and json.loads(done.stdout)["index_rebuilt"] is None
    table = cli("verify", "--rebuild-index", "--db", str(db), "--format", "table")
    assert "lacked 0 entries" in table.stderr  # a usable index now: compared, and it matched


def test_rebuilding_the_index_needs_the_right_to_ingest(tmp_path: Path, store_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    db.write_bytes(store_path.read_bytes())
    config = tmp_path / "compliance.toml"
    config.write_text(f'[operators]\n"{pwd.getpwuid(os.geteuid()).pw_name}" = "compliance"\n')
    config.chmod(0o600)
    env = {"FLUENTLOG_CONFIG": str(config)}
    denied = cli("verify", "--rebuild-index", "--db", str(db), env=env)
    assert denied.code == 3 and "`verify --rebuild-index` needs a role with the right `ingest`" in denied.stderr
    assert cli("verify", "--db", str(db), env=env).code == 0
