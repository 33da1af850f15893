"""The installed CLI as a user runs it: exit codes, stdout and stderr apart, formats."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, FILES, ROOT, cli, owner_config

COMMANDS = ("ingest", "status", "who-changed", "signins", "offboarding", "timeline", "export", "retention",
            "verify", "access-log", "init", "demo")


def test_help_lists_commands_and_exit_codes() -> None:
    run = cli("--help")
    assert run.code == 0 and run.stderr == ""
    for command in COMMANDS:
        assert command in run.stdout
    assert "75 database busy" in " ".join(run.stdout.split())


@pytest.mark.parametrize("argv", [["--help", "who-changed"], ["-h", "config"], ["--debug", "--help", "sources"]])
def test_help_before_a_command_name_is_the_root_help_with_every_command(argv: list[str]) -> None:
    """A run builds only the command it names; the root's help must still list them all."""
    run = cli(*argv)
    assert run.code == 0
    for command in COMMANDS:
        assert command in run.stdout


def test_a_closed_stdout_is_not_a_crash(tmp_path: Path) -> None:
    """Cron may close stdout (`>&-`): the command still runs and exits 0; nothing is written."""
    db = tmp_path / "s.duckdb"
    assert cli("ingest", str(ROOT / "sample_data" / "audit.jsonl"), "--db", str(db)).code == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUENTLOG_")}
    env.update(PYTHONPATH=str(ROOT), FLUENTLOG_CONFIG=str(owner_config(tmp_path)))
    for fmt in ([], ["-f", "json"], ["-f", "table"]):
        args = shlex.join([sys.executable, "-m", "fluentlog", "who-changed", "APT-1042", "--db", str(db), *fmt])
        done = subprocess.run(["sh", "-c", f"{args} >&-"], env=env, capture_output=True, text=True)
        assert done.returncode == 0, (fmt, done.stderr)
        assert "internal error" not in done.stderr


def _to(target: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """fluentlog ARGS with stdout redirected by the shell (`> /dev/full`, `>&-`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUENTLOG_")}
    env.update(PYTHONPATH=str(ROOT), FLUENTLOG_CONFIG=str(owner_config(tmp_path)))
    command = shlex.join([sys.executable, "-m", "fluentlog", *args])
    return subprocess.run(["sh", "-c", f"{command} {target}"], env=env, capture_output=True, text=True)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_for_the_output_is_a_clear_error_exit_4(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    audit = str(ROOT / "sample_data" / "audit.jsonl")
    assert cli("ingest", str(ROOT / "sample_data" / "access.jsonl"), "--db", str(db)).code == 0
    runs = [_to("> /dev/full", tmp_path, *args) for args in (
        ["status", "--db", str(db), "-f", "json"], ["status", "--db", str(db), "-f", "table"],
        ["status", "--db", str(db), "-f", "csv"], ["--help"], ["--version"], ["who-changed", "--help"])]
    ingest = _to("> /dev/full", tmp_path, "ingest", audit, "--db", str(db), "-f", "json")
    for run in [*runs, ingest]:
        assert run.returncode == 4, (run.args, run.stderr)
        assert run.stderr.startswith("fluentlog: error: cannot write the output: No space left on device\nhint: ")
        assert "internal error" not in run.stderr and "Exception ignored" not in run.stderr
    assert "what the ingest stored is kept all the same" in ingest.stderr
    again = cli("ingest", audit, "--db", str(db), "-f", "json")
    assert json.loads(again.stdout)["files"][0]["status"] == "already_ingested"


def _reader_gone(tmp_path: Path, *args: str) -> tuple[int, str]:
    """fluentlog ARGS writing into a pipe whose reader has gone (as `| head -1` once it has its line)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUENTLOG_")}
    env.update(PYTHONPATH=str(ROOT), FLUENTLOG_CONFIG=str(owner_config(tmp_path)))
    done = subprocess.Popen([sys.executable, "-m", "fluentlog", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    done.stdout.close()  # long before Python has started and written anything
    stderr = done.stderr.read()
    done.stderr.close()
    return done.wait(timeout=120), stderr


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "table"])
def test_a_reader_that_has_gone_ends_quietly(tmp_path: Path, fmt: str) -> None:
    """`| head -1` and a closed stdout stay exit 0 (cron reads 1 as findings), whatever else
    stdout errors become; tables (Rich) and help (Click) exited 1."""
    db = tmp_path / "s.duckdb"
    assert cli("ingest", str(ROOT / "sample_data" / "audit.jsonl"), "--db", str(db)).code == 0
    for args in (["status", "--db", str(db), "-f", fmt], ["who-changed", "APT-1042", "--db", str(db), "-f", fmt],
                 ["--help"], ["demo"]):
        closed = _to(">&-", tmp_path, *args)
        for code, stderr in (_reader_gone(tmp_path, *args), (closed.returncode, closed.stderr)):
            assert code == 0 and "error" not in stderr and "Traceback" not in stderr, (args, stderr)  # notes may be
    # A command with findings keeps its exit code 1: `verify | head` must not read as clean.
    import duckdb
    assert cli("ingest", str(ROOT / "sample_data" / "access.jsonl"), "--db", str(db)).code == 0
    with duckdb.connect(str(db)) as con:
        con.execute("DELETE FROM audit_events WHERE event_id = (SELECT min(event_id) FROM audit_events)")
    for args in (["verify", "--db", str(db), "-f", fmt],
                 ["signins", "--email", "nina.patel@northside.example", "--exit-code", "--db", str(db), "-f", fmt]):
        assert cli(*args).code == 1, args
        code, stderr = _reader_gone(tmp_path, *args)
        assert code == 1 and "Traceback" not in stderr, (args, stderr)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help_with_an_example(command: str) -> None:
    run = cli(command, "--help")
    assert run.code == 0
    assert "Example: fluentlog " + command in run.stdout


def test_readme_names_every_command_and_exit_code() -> None:
    readme = (ROOT / "README.md").read_text()
    for command in COMMANDS:
        assert f"fluentlog {command}" in readme
    for code in (0, 1, 2, 3, 4, 70, 75, 130):
        assert f"| {code} |" in readme


def test_version() -> None:
    run = cli("--version")
    assert run.code == 0 and re.fullmatch(r"fluentlog \d+\.\d+\.\d+\n", run.stdout)


def test_usage_error_exits_2_with_one_line_and_hint() -> None:
    run = cli("ingest", "--bogus")
    assert run.code == 2 and run.stdout == ""
    assert run.stderr.startswith("fluentlog: error: No such option: --bogus")
    assert "hint: see `fluentlog ingest --help`" in run.stderr


def test_bad_kind_is_a_usage_error(tmp_path: Path) -> None:
    run = cli("ingest", "--kind", "both", str(CORPUS / "clean.jsonl"), "--db", str(tmp_path / "x.duckdb"))
    assert run.code == 2 and "--kind" in run.stderr
    assert not (tmp_path / "x.duckdb").exists()


def test_missing_path_exits_4_and_creates_no_database(tmp_path: Path) -> None:
    run = cli("ingest", str(tmp_path / "nope.jsonl"), cwd=tmp_path)
    assert run.code == 4 and run.stdout == ""
    assert run.stderr == f"fluentlog: error: {tmp_path / 'nope.jsonl'}: no such file or directory\n"
    assert list(tmp_path.iterdir()) == []


def test_an_empty_or_already_ingested_file_says_so_in_json_too(tmp_path: Path) -> None:
    """Scripts and cron read JSON: the '0 records' and 'already ingested' notes were in tables only."""
    db, empty = tmp_path / "t.duckdb", tmp_path / "empty.jsonl"
    empty.write_text("")
    cli("ingest", str(CORPUS / "clean.jsonl"), "--db", str(db))
    run = cli("ingest", str(empty), str(CORPUS / "clean.jsonl"), "--db", str(db), "--format", "json")
    assert run.code == 0, run.stderr
    notes = [f["note"] for f in json.loads(run.stdout)["files"]]
    assert notes[0].startswith("0 records") and notes[1].startswith("already ingested at ")


def test_ingest_json_report_shape(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    run = cli("ingest", str(CORPUS / "malformed_json_line_2.jsonl"), str(CORPUS / "clean.jsonl"),
              "--db", str(db), "--format", "json")
    assert run.code == 0, run.stderr
    doc = json.loads(run.stdout)
    assert set(doc) == {"files", "totals", "ledger_head", "skipped"} and len(doc["ledger_head"]) == 64
    first = doc["files"][0]
    assert set(first) >= {"path", "sha256", "status", "source", "records", "inserted", "duplicates", "conflicts",
                          "rejected", "rejected_by_reason", "error", "note"}
    assert first["rejected_by_reason"] == {"malformed_json": 1}
    assert doc["totals"] == {"records": 8, "inserted": 4, "duplicates": 3, "conflicts": 0, "rejected": 1}
    assert "{\"id\": \"aud_9\"" not in run.stdout + run.stderr  # rejected text is never printed


def test_failed_file_gives_exit_4_but_others_load(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    run = cli("ingest", str(FILES / "crc_mismatch.jsonl.gz"), str(CORPUS / "clean.jsonl"), "--db", str(db),
              "--format", "jsonl")
    assert run.code == 4
    doc = json.loads(run.stdout)
    assert [f["status"] for f in doc["files"]] == ["failed", "ingested"]
    assert "CRC check failed" in doc["files"][0]["error"]


def test_piped_default_is_jsonl_and_terminal_table_notes_go_to_stderr(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    run = cli("ingest", str(CORPUS / "unknown_fields.jsonl"), "--db", str(db))
    assert len(run.stdout.splitlines()) == 1 and json.loads(run.stdout)["totals"]["inserted"] == 3
    assert "actor.team" not in run.stderr  # notes are for people: only in table view
    db2, wide = tmp_path / "t2.duckdb", {"COLUMNS": "200"}
    table = cli("ingest", str(CORPUS / "unknown_fields.jsonl"), "--db", str(db2), "--format", "table", env=wide)
    assert "inserted" in table.stdout and "actor.team" not in table.stdout
    assert "fields fluentlog does not know, kept with the record: actor.team (1), department (1)" in table.stderr
    again = cli("ingest", str(CORPUS / "unknown_fields.jsonl"), "--db", str(db2), "--format", "table", env=wide)
    assert "already_ingested" in again.stdout and "already ingested at" in again.stderr


def test_csv_neutralises_formulas(tmp_path: Path) -> None:
    path = tmp_path / "=cmd.jsonl"
    path.write_text((CORPUS / "clean.jsonl").read_text())
    run = cli("ingest", str(path), "--db", str(tmp_path / "t.duckdb"), "--format", "csv")
    assert run.code == 0
    assert run.stdout.splitlines()[0] == "file,records,inserted,duplicates,conflicts,rejected,status"
    assert "'=cmd.jsonl" in run.stdout


@pytest.mark.parametrize("args", [("who-changed", "u2"), ("timeline", "--email", "a@x.example")])
def test_csv_quotes_a_value_holding_a_bare_carriage_return(tmp_path: Path, args: tuple[str, ...]) -> None:
    """Unquoted, a spreadsheet reads the CR as a new row whose first cell is `=2+5`."""
    path = tmp_path / "cr.jsonl"
    path.write_text(json.dumps({"id": "c1", "occurred_at": "2026-11-01T10:00:00Z", "action": "user.updated\r-9",
                                "actor": {"email": "a@x.example", "name": "Ann\r=2+5"},
                                "entity": {"type": "user", "id": "u2"}}) + "\n")
    db = tmp_path / "t.duckdb"
    assert cli("ingest", str(path), "--db", str(db)).code == 0
    run = cli(*args, "--db", str(db), "--format", "csv", exact=True)
    rows = list(csv.reader(io.StringIO(run.stdout, newline="")))
    assert run.code == 0 and len(rows) == 2, rows
    assert not any(cell.startswith(("=", "-")) for row in rows for cell in row)
    assert rows[1][rows[0].index("action")] == "user.updated\r-9"
    if args[0] == "who-changed":
        assert rows[1][rows[0].index("actor_name")] == "Ann\r=2+5"


def test_status_on_a_new_database_suggests_ingest(tmp_path: Path) -> None:
    """Not an error (a first run starts here), but said plainly in every format: a misspelt --db
    must not read as an empty store."""
    missing = tmp_path / "none.duckdb"
    run = cli("status", "--db", str(missing), "--format", "table")
    assert run.code == 0
    assert f"no database exists at {missing}" in run.stderr and "fluentlog ingest" in run.stderr
    assert run.stdout.startswith("No database at")
    assert not missing.exists()
    run = cli("status", "--db", str(missing), "--format", "json")
    assert run.code == 0 and f"no database exists at {missing}" in run.stderr
    doc = json.loads(run.stdout)
    assert (doc["database"], doc["exists"]) == (str(missing), False)
    assert doc["audit"] == {"events": 0, "first_at": None, "last_at": None} and doc["gaps"] == []


def test_status_json_shape_and_gaps(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    records = [{"id": f"a{d}", "occurred_at": f"2026-11-{d:02d}T12:00:00Z", "action": "x",
                "actor": {"email": "a@b"}, "entity": {"type": "t", "id": "1"}} for d in (1, 2, 5, 9)]
    path = tmp_path / "gappy.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "{bad\n")
    cli("ingest", str(path), "--db", str(db))
    doc = json.loads(cli("status", "--db", str(db), "--format", "json").stdout)
    assert (doc["database"], doc["exists"]) == (str(db), True)
    assert doc["audit"] == {"events": 4, "first_at": "2026-11-01T12:00:00.000Z", "last_at": "2026-11-09T12:00:00.000Z"}
    assert doc["access"]["events"] == 0
    assert (doc["files"], doc["rejected"], doc["conflicts"]) == (1, 1, 0)
    assert len(doc["ledger_head"]) == 64
    assert doc["gaps"] == [{"stream": "audit", "from": "2026-11-03", "to": "2026-11-04"},
                           {"stream": "audit", "from": "2026-11-06", "to": "2026-11-08"}]


def test_database_env_and_config(tmp_path: Path) -> None:
    env_db = tmp_path / "env.duckdb"
    cli("ingest", str(CORPUS / "clean.jsonl"), env={"FLUENTLOG_DB": str(env_db)}, cwd=tmp_path)
    assert env_db.exists()
    owner_config(tmp_path)
    path = tmp_path / "fluentlog.toml"
    path.write_text('database = "cfg.duckdb"\n' + path.read_text())
    cli("ingest", str(CORPUS / "overlap_a.jsonl"), cwd=tmp_path, env={"FLUENTLOG_CONFIG": ""})
    assert (tmp_path / "cfg.duckdb").exists()


@pytest.mark.parametrize("name", [":memory:", "md:audit.duckdb"])
def test_a_database_name_duckdb_would_read_specially_is_a_plain_file(tmp_path: Path, name: str) -> None:
    """":memory:" was an in-memory database: the ingest said 559 inserted, exit 0, and kept nothing."""
    ingest = cli("ingest", str(CORPUS / "clean.jsonl"), "--db", name, "--format", "json", cwd=tmp_path)
    assert ingest.code == 0, ingest.stderr
    assert (tmp_path / name).is_file()
    status = cli("status", "--db", name, "--format", "json", cwd=tmp_path)
    assert status.code == 0, status.stderr
    doc = json.loads(status.stdout)
    assert (doc["audit"]["events"] + doc["access"]["events"], doc["files"]) == (4, 1)


def test_a_question_mark_in_the_database_path_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    """DuckDB reads '?' as the start of options: the first commit failed on X.wal?...; the
    empty database and the access log were left behind."""
    flag = cli("ingest", str(CORPUS / "clean.jsonl"), "--db", "what?.duckdb", cwd=tmp_path)
    assert flag.code == 2 and flag.stdout == ""
    assert "what?.duckdb (from --db) contains '?'" in flag.stderr and "without '?'" in flag.stderr
    env = cli("status", env={"FLUENTLOG_DB": str(tmp_path / "a?b.duckdb")}, cwd=tmp_path)
    assert env.code == 4 and "(from $FLUENTLOG_DB) contains '?'" in env.stderr
    assert list(tmp_path.iterdir()) == []


def test_bad_config_names_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "fluentlog.toml").write_text('timezon = "UTC"\n')
    (tmp_path / "fluentlog.toml").chmod(0o600)
    run = cli("status", cwd=tmp_path, env={"FLUENTLOG_CONFIG": ""})
    assert run.code == 4 and run.stdout == ""
    assert "fluentlog.toml: unknown key `timezon`" in run.stderr and "did you mean `timezone`?" in run.stderr


def test_files_are_private(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    cli("ingest", str(CORPUS / "clean.jsonl"), "--db", str(db))
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_init_writes_private_starter_config(tmp_path: Path) -> None:
    run = cli("init", cwd=tmp_path, env={"FLUENTLOG_CONFIG": ""})
    assert run.code == 0, run.stderr
    path = tmp_path / "fluentlog.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    import pwd
    assert f'"{pwd.getpwuid(os.geteuid()).pw_name}" = "owner"' in path.read_text()
    again = cli("init", cwd=tmp_path, env={"FLUENTLOG_CONFIG": ""})
    assert again.code == 4 and "already exists" in again.stderr and "--force" in again.stderr
    assert cli("status", cwd=tmp_path, env={"FLUENTLOG_CONFIG": ""}).code == 0  # the starter config is valid


def test_operator_is_the_os_account_not_USER(tmp_path: Path) -> None:
    import pwd
    db = tmp_path / "t.duckdb"
    cli("ingest", str(CORPUS / "clean.jsonl"), "--db", str(db), env={"USER": "mallory", "LOGNAME": "mallory"})
    import duckdb
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT operator FROM files").fetchall() == [(pwd.getpwuid(os.geteuid()).pw_name,)]


def test_zoneless_times_do_not_depend_on_TZ(tmp_path: Path) -> None:
    results = []
    for tz in ("UTC", "Asia/Tokyo", "America/Los_Angeles"):
        db = tmp_path / f"{tz.replace('/', '_')}.duckdb"
        cli("ingest", str(CORPUS / "timestamp_zoneless.jsonl"), "--db", str(db), env={"TZ": tz})
        results.append(json.loads(cli("status", "--db", str(db), "--format", "json", env={"TZ": tz}).stdout))
    assert results[0]["audit"] == results[1]["audit"] == results[2]["audit"]


def test_pipe_to_head_is_quiet(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(f"{sys.executable} -m fluentlog demo --format jsonl | head -c 10", shell=True,
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.stderr == ""
    assert len(done.stdout) == 10


def test_demo_runs_from_anywhere_and_leaves_no_files(tmp_path: Path) -> None:
    run = cli("demo", "--format", "table", cwd=tmp_path, env={"COLUMNS": "160"})
    assert run.code == 0, run.stderr
    assert "APT-1042" in run.stdout and "Marcus Chen" in run.stdout and "2026-10-14" in run.stdout
    assert list(tmp_path.iterdir()) == []
    docs = [json.loads(line) for line in cli("demo", "--format", "jsonl", cwd=tmp_path).stdout.splitlines()]
    assert docs[0]["totals"]["duplicates"] == docs[0]["totals"]["inserted"] > 500
    assert docs[0]["totals"]["rejected"] == 0


def test_busy_database_waits_then_exits_75(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    cli("ingest", str(CORPUS / "clean.jsonl"), "--db", str(db))
    script = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); time.sleep(30)"
    holder = subprocess.Popen([sys.executable, "-c", script, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        run = cli("ingest", str(CORPUS / "overlap_a.jsonl"), "--db", str(db), "--wait", "0.5")
        assert run.code == 75 and run.stdout == ""
        assert "database" in run.stderr and "busy" in run.stderr and "Traceback" not in run.stderr
    finally:
        holder.kill()
        holder.wait()


def test_corrupt_database_gets_recovery_advice_and_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    db.write_bytes(b"\x00garbage" * 5000)
    before = db.read_bytes()
    for args in (("status",), ("ingest", str(CORPUS / "clean.jsonl"))):
        run = cli(*args, "--db", str(db))
        assert run.code == 4 and run.stdout == ""
        assert "looks corrupt" in run.stderr and "restore it from a backup" in run.stderr
    assert db.read_bytes() == before


def test_foreign_duckdb_database_is_refused(tmp_path: Path) -> None:
    import duckdb
    db = tmp_path / "other.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE x (a INTEGER)")
    run = cli("ingest", str(CORPUS / "clean.jsonl"), "--db", str(db))
    assert run.code == 4 and "not one made by fluentlog" in run.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (1,)


@pytest.mark.parametrize("command", [("verify",), ("verify", "--rebuild-index"), ("retention", "--apply"),
                                     ("who-changed", "x:1")])
def test_an_empty_duckdb_file_is_not_made_a_store_by_a_command_that_reads_one(tmp_path: Path,
                                                                            command: tuple[str, ...]) -> None:
    """Only ingest and init create a store; a write such as retention --apply or verify
    --rebuild-index on an empty database would otherwise have made it one and verified it."""
    import duckdb
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    run = cli(*command, "--db", str(db))
    assert run.code == 4 and "holds no fluentlog data yet" in run.stderr and "fluentlog ingest" in run.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (0,)
