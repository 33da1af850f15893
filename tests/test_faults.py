"""A killed or interrupted ingest leaves each file wholly in or wholly out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import _DEFAULT_CONFIG as DEFAULT_CONFIG
from conftest import ROOT, cli, rows

# Runs the CLI with tiny chunks so a 20k-line file takes many transactions' worth of work.
SLOW_CLI = ("import sys; import fluentlog.ingest.files as f; f.CHUNK_BYTES = 16384; "
            "from fluentlog.cli import main; sys.argv[0] = 'fluentlog'; main()")


def big_file(path: Path, n: int = 20000) -> Path:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"a{i}", "occurred_at": "2026-11-20T10:00:00Z", "action": "x.y",
                                 "actor": {"email": "a@b.example"}, "entity": {"type": "t", "id": str(i)}}) + "\n")
    return path


def start(db: Path, *paths: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FLUENTLOG_CONFIG": str(DEFAULT_CONFIG)}
    # A shell runs background jobs with SIGINT ignored, and children inherit that (Python then
    # keeps ignoring it): the tests must not depend on how the suite itself was started.
    return subprocess.Popen([sys.executable, "-c", SLOW_CLI, "ingest", *map(str, paths), "--db", str(db),
                             "--format", "json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def state(db: Path) -> tuple[int, int]:
    files = rows(db, "SELECT count(*) FROM files")[0][0] if db.exists() else 0
    events = rows(db, "SELECT count(*) FROM audit_events")[0][0] if db.exists() else 0
    return files, events


@pytest.mark.parametrize("delay", [0.3, 0.8, 1.5])
def test_sigkill_leaves_file_all_or_nothing_and_rerun_completes(tmp_path: Path, delay: float) -> None:
    data, db = big_file(tmp_path / "big.jsonl"), tmp_path / "t.duckdb"
    proc = start(db, data)
    time.sleep(delay)
    finished = proc.poll() is not None
    if finished:  # a fast machine: it must then have finished properly
        assert proc.returncode == 0, proc.communicate()
    proc.kill()
    proc.wait()
    files, events = state(db)
    assert (files, events) in ((0, 0), (1, 20000))
    run = cli("ingest", str(data), "--db", str(db), "--format", "json")
    assert run.code == 0, run.stderr
    assert state(db) == (1, 20000)
    status = json.loads(run.stdout)["files"][0]["status"]
    assert status == ("already_ingested" if files else "ingested")
    verified = cli("verify", "--db", str(db), "--format", "json")
    assert verified.code == 0 and json.loads(verified.stdout)["ok"] is True


def test_ctrl_c_rolls_back_and_exits_130(tmp_path: Path) -> None:
    data, db = big_file(tmp_path / "big.jsonl", 40000), tmp_path / "t.duckdb"
    proc = start(db, data)
    deadline = time.monotonic() + 30
    while not db.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # wait until the ingest is under way, not still starting Python
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the ingest finished before the signal arrived")
    assert proc.returncode == 130 and out == ""
    assert "interrupted" in err and "Traceback" not in err
    assert state(db) == (0, 0)


def test_ctrl_c_while_duckdb_reads_a_registered_table_is_an_interrupt(tmp_path: Path) -> None:
    """DuckDB wraps a KeyboardInterrupt raised in the Python it calls (the registered chunk)
    in an ordinary error; it must still stop the run (it once failed the file with exit 4)."""
    import pyarrow as pa

    from fluentlog.store import Store

    class Interrupted:
        def __arrow_c_stream__(self, requested_schema=None):
            raise KeyboardInterrupt

    with Store.open(tmp_path / "t.duckdb") as store:
        store.register("chunk", pa.table({"x": [1]}))
        store._scans["chunk"].table = Interrupted()
        with pytest.raises(KeyboardInterrupt):
            store.rows("SELECT count(*) FROM chunk")


def test_busy_names_the_fluentlog_command_that_holds_the_lock(tmp_path: Path) -> None:
    data, db = big_file(tmp_path / "big.jsonl", 40000), tmp_path / "t.duckdb"
    proc = start(db, data)
    try:
        deadline = time.monotonic() + 30
        while not Path(str(db) + ".lock.json").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is not None:
            pytest.skip("the ingest finished before it could be observed")
        run = cli("status", "--db", str(db), "--wait", "0.3")
        if run.code == 0:
            pytest.skip("the ingest finished first")
        assert run.code == 75 and run.stdout == ""
        assert "fluentlog ingest, process" in run.stderr and "since" in run.stderr
    finally:
        proc.kill()
        proc.wait()


def test_duckdb_may_read_only_the_files_named(tmp_path: Path) -> None:
    from fluentlog.errors import StoreError
    from fluentlog.store import Store
    named = tmp_path / "named.csv"
    named.write_text("a\n1\n")
    other = tmp_path / "other.csv"
    other.write_text("a\n2\n")
    with Store.open(tmp_path / "t.duckdb", readable=[named]) as store:
        assert store.rows("SELECT a FROM read_csv($p)", {"p": str(named)}) == [(1,)]
        with pytest.raises(StoreError):
            store.rows("SELECT a FROM read_csv($p)", {"p": str(other)})
        with pytest.raises(StoreError):
            store.execute("SET enable_external_access = true")  # locked


def test_disk_full_during_ingest_rolls_the_file_back(tmp_path: Path, monkeypatch) -> None:
    from conftest import CORPUS, load

    from fluentlog.errors import StoreError
    from fluentlog.ingest import load as ingest_load

    def full(*args, **kwargs):
        raise StoreError("cannot use database: IO Error: No space left on device")

    db = tmp_path / "t.duckdb"
    monkeypatch.setattr(ingest_load.ledger, "append", full)
    report = load(db, CORPUS / "clean.jsonl")
    (f,) = report.files
    assert f.status == "failed" and "No space left on device" in f.error and f.inserted == 0
    monkeypatch.undo()
    assert rows(db, "SELECT (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM files)") == [(0,)]
    assert load(db, CORPUS / "clean.jsonl").files[0].inserted == 4  # and a later run completes it


def test_registered_tables_are_swapped_and_survive_rollback(tmp_path: Path) -> None:
    """Store.register keeps one DuckDB registration per name (a view dropped inside a
    transaction would keep its table in memory until the commit)."""
    import pyarrow as pa

    from fluentlog.store import Store
    with Store.open(tmp_path / "s.duckdb") as store:
        with store.transaction():
            store.register("t", pa.table({"a": [1, 2]}))
            store.register("t", pa.table({"a": [5]}))
            assert store.scalar("SELECT sum(a) FROM t") == 5
            store.unregister("t")
            assert store.scalar("SELECT count(*) FROM t") == 0
            store.register("t", pa.table({"a": ["x"]}))  # another schema: registered anew
            assert store.scalar("SELECT a FROM t") == "x"
        try:
            with store.transaction():
                store.register("u", pa.table({"b": [1]}))
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        store.register("u", pa.table({"b": [7]}))  # its registration went with the rollback
        assert store.scalar("SELECT b FROM u") == 7


def test_a_failed_commit_forgets_registrations_made_in_it(tmp_path: Path) -> None:
    import pyarrow as pa

    from fluentlog.errors import FluentlogError
    from fluentlog.store import Store
    with Store.open(tmp_path / "s.duckdb") as store:
        store.execute("CREATE TABLE k (id INTEGER PRIMARY KEY)")
        other = store._con.cursor()
        try:
            with store.transaction():
                store.register("d", pa.table({"a": [1]}))
                store.execute("INSERT INTO k VALUES (1)")
                other.execute("INSERT INTO k VALUES (1)")  # commits first: ours then fails at COMMIT
        except FluentlogError:
            pass
        store.register("d", pa.table({"a": [3]}))
        assert store.scalar("SELECT a FROM d") == 3


def test_ctrl_c_while_the_modules_load_is_a_message_not_a_traceback() -> None:
    code = ("import builtins, sys\n"
            "real = builtins.__import__\n"
            "def interrupted(name, *args, **kwargs):\n"
            "    if name == 'fluentlog.cli.boundary':\n"
            "        raise KeyboardInterrupt\n"
            "    return real(name, *args, **kwargs)\n"
            "builtins.__import__ = interrupted\n"
            "from fluentlog.cli import main\n"
            "sys.argv = ['fluentlog', '--version']\n"
            "main()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 130
    assert done.stderr == "fluentlog: error: interrupted before anything was read or written\n"


def test_a_link_or_file_in_the_spill_folders_place_is_refused_and_left_alone(tmp_path: Path) -> None:
    """The spill folder beside the database holds event data: a link planted there (to a
    folder others can read) is not followed, and nothing behind it is written or deleted."""
    from conftest import CORPUS
    elsewhere = tmp_path / "shared"
    elsewhere.mkdir()
    (elsewhere / "keep.parquet").write_bytes(b"someone else's")
    db = tmp_path / "t.duckdb"
    (tmp_path / "t.duckdb.sort.tmp").symlink_to(elsewhere)
    run = cli("ingest", str(CORPUS / "clean.jsonl"), "--db", str(db))
    assert run.code == 4 and "is in the way" in run.stderr and "Traceback" not in run.stderr
    assert [p.name for p in elsewhere.iterdir()] == ["keep.parquet"]
    assert not db.exists()  # refused before the database is made
    (tmp_path / "t.duckdb.sort.tmp").unlink()
    (tmp_path / "t.duckdb.sort.tmp").write_text("a file")
    assert cli("ingest", str(CORPUS / "clean.jsonl"), "--db", str(db)).code == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared", "t.duckdb.sort.tmp"]
    (tmp_path / "t.duckdb.sort.tmp").unlink()
    assert cli("ingest", str(CORPUS / "clean.jsonl"), "--db", str(db)).code == 0


def test_a_spill_folder_that_cannot_be_made_is_named(tmp_path: Path, monkeypatch) -> None:
    from conftest import CORPUS, load

    from fluentlog.errors import StoreError

    def refused(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refused)
    with pytest.raises(StoreError) as caught:
        load(tmp_path / "t.duckdb", CORPUS / "clean.jsonl")
    assert "cannot create" in caught.value.message and "t.duckdb.sort.tmp" in caught.value.message
    assert "Permission denied" in caught.value.message
