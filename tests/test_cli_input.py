"""Careless input at the command line, as a script or a hurried person types it: every case
ends in a clear one-line error naming the option (exit 2, or 4 for files and config), never in
exit 70 and never in a silently empty answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import write_jsonl
from conftest import cli, owner_config
from test_investigations import LEE, story


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("input")
    path = folder / "t.duckdb"
    assert cli("ingest", str(write_jsonl(folder / "s.jsonl", story())), "--db", str(path)).code == 0
    return path


def usage_error(run, option: str) -> None:
    assert run.code == 2 and run.stdout == "", run
    assert run.stderr.startswith("fluentlog: error: ") and option in run.stderr.splitlines()[0], run.stderr
    assert "internal error" not in run.stderr


@pytest.mark.parametrize("command", [["signins"], ["offboarding"], ["timeline"]])
def test_an_email_with_surrounding_spaces_finds_the_person(db: Path, command: list[str]) -> None:
    exact = cli(*command, "--email", LEE, "--db", str(db), "-f", "json")
    for padded in (f" {LEE}", f"{LEE} ", f"\t{LEE}  "):
        run = cli(*command, "--email", padded, "--db", str(db), "-f", "json")
        assert run.code == 0 and json.loads(run.stdout) == json.loads(exact.stdout)
    assert LEE in exact.stdout


@pytest.mark.parametrize("argv, option", [
    (["signins", "--email", ""], "--email"),
    (["offboarding", "--email", " "], "--email"),
    (["timeline", "--email", ""], "--email"),
    (["signins", "--ip", ""], "--ip"),
    (["who-changed", "APT-1042", "--actor", ""], "--actor"),
    (["export", "audit", "-o", "{folder}/x.csv", "--email", ""], "--email"),
    (["access-log", "--operator", ""], "--operator"),
])
def test_an_empty_email_or_filter_is_refused(db: Path, argv: list[str], option: str) -> None:
    usage_error(cli(*(a.format(folder=db.parent) for a in argv), "--db", str(db)), option)
    assert not (db.parent / "x.csv").exists()


@pytest.mark.parametrize("argv, option", [
    (["ingest", ""], "empty path"),
    (["ingest", "{folder}/s.jsonl", " "], "empty path"),
    (["verify", "--anchor", ""], "--anchor"),
    (["export", "audit", "-o", ""], "--output"),
    (["status", "--config", ""], "--config"),
    (["status", "--db", ""], "--db"),
])
def test_an_empty_path_is_refused_not_read_as_the_current_folder(db: Path, argv: list[str], option: str) -> None:
    """A script's unset variable gives ''; Path('') is the current folder: `ingest ''` loaded everything
    under it, `verify --anchor ''` read the folder as an anchor file."""
    before = sorted(db.parent.iterdir())
    command, *rest = (a.format(folder=db.parent) for a in argv)
    run = cli(command, "--db", str(db), *rest, cwd=db.parent)  # a later --db '' wins
    usage_error(run, option)
    assert "empty path" in run.stderr
    assert sorted(db.parent.iterdir()) == before


@pytest.mark.parametrize("argv, option", [
    (["who-changed", "APT-1042", "--until", "9999-12-31"], "--until"),
    (["who-changed", "APT-1042", "--since", "5000y"], "--since"),
    (["signins", "--email", "x@y", "--around", "2026-11-17T14:00", "--window", "100000y"], "--window"),
    (["signins", "--email", "x@y", "--around", "0001-01-02T01:00Z"], "--window"),
    (["retention", "--keep", "99999999999y"], "--keep"),
    (["access-log", "--since", "1000000d"], "--since"),
    (["offboarding", "--all", "--window", "99999999999y"], "--window"),
    (["timeline", "--email", LEE, "--since", "0001-01-01T00:00+05:00"], "--since"),
    (["export", "audit", "-o", "{folder}/x.csv", "--until", "10000-01-01"], "--until"),
])
def test_huge_times_and_durations_name_the_option(db: Path, argv: list[str], option: str) -> None:
    """Each of these ended in exit 70 (OverflowError or ValueError from Python's calendar)."""
    usage_error(cli(*(a.format(folder=db.parent) for a in argv), "--db", str(db)), option)


@pytest.mark.parametrize("argv", [
    ["signins", "--email", LEE, "--since", "0001-01-03", "-f", "table"],  # its history starts 90 days earlier
    ["offboarding", "--email", LEE, "--removed-at", "0001-01-02T12:00Z", "-f", "table"],  # a window 7 days earlier
    ["offboarding", "--all", "--window", "1000y", "--tz", "Pacific/Kiritimati", "-f", "table"],
    ["who-changed", LEE, "--since", "1000y", "--until", "9999-12-29", "--tz", "Etc/GMT+12", "-f", "table"],
])
def test_times_at_the_ends_of_the_calendar_still_answer(db: Path, argv: list[str]) -> None:
    run = cli(*argv, "--db", str(db))
    assert run.code == 0 and "error" not in run.stderr, run


def test_a_huge_retention_in_the_config_is_a_config_error(db: Path, tmp_path: Path) -> None:
    config = owner_config(tmp_path)
    config.write_text('retention = "99999999999y"\n' + config.read_text())  # `config check` accepted it
    for argv in (["config", "check"], ["retention", "--db", str(db)]):
        run = cli(*argv, "--config", str(config))
        assert run.code == 4 and run.stdout == ""
        assert "`retention` = '99999999999y' is longer than 1,000 years" in run.stderr


@pytest.mark.parametrize("limit", ["99999999999999999999", str(2**62 + 1), "0", "-3"])
def test_a_limit_out_of_range_names_the_option(db: Path, limit: str) -> None:
    """A limit past DuckDB's BIGINT was 'database error: Conversion Error' (exit 4)."""
    run = cli("who-changed", "appointment:APT-1042", "--limit", limit, "--db", str(db))
    usage_error(run, "--limit")
    assert "database error" not in run.stderr


def test_the_largest_limit_is_accepted(db: Path) -> None:
    run = cli("who-changed", "appointment:APT-1042", "--limit", str(2**62), "--db", str(db), "-f", "json")
    assert run.code == 0 and len(json.loads(run.stdout)) == 3


@pytest.mark.parametrize("removed_at", ["last tuesday", "9999-12-31T23:59:59.999999-05:00"])
def test_removed_at_errors_name_removed_at(db: Path, removed_at: str) -> None:
    """They said `--since: cannot read ...`, an option the user never gave."""
    run = cli("offboarding", "--email", LEE, "--removed-at", removed_at, "--db", str(db))
    usage_error(run, "--removed-at")
    assert "--since" not in run.stderr


@pytest.mark.parametrize("argv, option", [
    (["who-changed", "APT-1042", "--since", ""], "--since"),  # was: the whole history
    (["signins", "--email", LEE, "--until", " "], "--until"),
    (["signins", "--email", LEE, "--around", "14:00", "--window", ""], "--window"),  # was: the default 2h
    (["offboarding", "--email", LEE, "--removed-at", ""], "--removed-at"),  # was: no removal_not_logged check
    (["retention", "--keep", ""], "--keep"),  # was: the config's retention
    (["timeline", "--email", LEE, "--tz", ""], "--tz"),  # was: the config's timezone
])
def test_an_empty_time_or_zone_is_refused_not_read_as_the_default(db: Path, argv: list[str], option: str) -> None:
    usage_error(cli(*argv, "--db", str(db)), option)


def test_a_config_saved_by_notepad_with_a_byte_order_mark_works(db: Path, tmp_path: Path) -> None:
    config = owner_config(tmp_path)
    config.write_bytes(b"\xef\xbb\xbf" + config.read_bytes())
    run = cli("status", "--config", str(config), "--db", str(db), "-f", "json")
    assert run.code == 0 and json.loads(run.stdout)["audit"]["events"] > 0


def test_access_log_of_a_missing_database_or_log_is_an_error(db: Path, tmp_path: Path) -> None:
    """Both printed [] with exit 0, as if nobody had looked."""
    run = cli("access-log", "--db", str(tmp_path / "MISSPELLED.duckdb"))
    assert run.code == 4 and run.stdout == "" and "no database at" in run.stderr
    assert list(tmp_path.iterdir()) == []
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(db.read_bytes())
    run = cli("access-log", "--db", str(copy))
    assert run.code == 4 and run.stdout == "" and f"no access log at {copy}.access.jsonl" in run.stderr
    # That failed run, and any later one, begins a new log whose first entry records the gap:
    # the next access-log must not read as the whole history.
    assert cli("status", "--db", str(copy)).code == 0
    run = cli("access-log", "--db", str(copy), "-f", "json")
    assert run.code == 0 and "the access log was missing at" in run.stderr and "moved or deleted" in run.stderr
    outcomes = [e["outcome"] for e in json.loads(run.stdout)]
    assert outcomes[:2] == ["log_missing", "error"] and outcomes.count("log_missing") == 1
    run = cli("access-log", "--db", str(db), "-f", "json")
    assert run.code == 0 and any(e["command"] == "ingest" for e in json.loads(run.stdout))
