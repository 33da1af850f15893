"""Careless input at the command line, as a script or a hurried person types it: every case
ends in a clear one-line error naming the option (exit 2, or 4 for files and config), never in
exit 70 and never in a silently empty answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import write_jsonl
from conftest import cli
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
