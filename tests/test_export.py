"""fluentlog export: atomic, private, no accidental overwrite, redacted, spreadsheet-safe, logged."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from builders import audit, write_jsonl
from conftest import cli, load

from fluentlog import export as exporter
from fluentlog.redact import Redactor
from fluentlog.store import Store

EVIL = "=HYPERLINK(\"http://x.example\",\"click\")"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    records = [
        audit(0, "appointment.edited", "dana@x.example", ("appointment", "APT-1"),
              changes={"patient_name": {"from": "Ann Lee", "to": "Ann Li"}, "room": {"from": EVIL, "to": "+2"}}),
        audit(5, "user.removed", "dana@x.example", ("user", "usr_9"), "lee@x.example"),
    ]
    path = tmp_path / "t.duckdb"
    assert cli("ingest", str(write_jsonl(tmp_path / "a.jsonl", records)), "--db", str(path)).code == 0
    return path


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_export_is_private_redacted_and_logged(tmp_path: Path, db: Path, fmt: str) -> None:
    out = tmp_path / f"out.{fmt}"
    run = cli("export", "audit", "--output", str(out), "--format", fmt, "--db", str(db), "--format", fmt)
    assert run.code == 0, run.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    body = out.read_bytes()
    assert b"Ann Lee" not in body and b"[redacted]" in body
    summary = json.loads(cli("access-log", "--db", str(db), "--format", "json").stdout)[-1]
    assert summary["export_path"] == str(out) and summary["rows"] == 2
    assert summary["export_sha256"] == hashlib.sha256(body).hexdigest()
    assert not list(tmp_path.glob(".out.*"))  # no temporary file left behind
    if fmt == "parquet":
        assert pq.read_table(out).num_rows == 2


def test_csv_cells_that_look_like_formulas_are_neutralised(tmp_path: Path, db: Path) -> None:
    out = tmp_path / "out.csv"
    cli("export", "audit", "--output", str(out), "--db", str(db))
    rows = list(csv.DictReader(out.open()))
    changes = rows[0]["changes"]
    assert json.loads(changes)["room"]["from"] == EVIL  # inside JSON text: not a cell of its own
    tricky = tmp_path / "t2.duckdb"
    write_jsonl(tmp_path / "b.jsonl", [audit(0, "=cmd|' /C calc'!A0", "@evil@x.example", ("t", "-1"))])
    cli("ingest", str(tmp_path / "b.jsonl"), "--db", str(tricky))
    cli("export", "audit", "--output", str(tmp_path / "t.csv"), "--db", str(tricky))
    row = next(csv.DictReader((tmp_path / "t.csv").open()))
    assert row["action"] == "'=cmd|' /C calc'!A0" and row["actor_email"] == "'@evil@x.example"
    assert row["entity_id"] == "'-1"


def test_no_overwrite_without_force_and_filters(tmp_path: Path, db: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("keep me")
    run = cli("export", "audit", "--output", str(out), "--format", "jsonl", "--db", str(db))
    assert run.code == 4 and "--force" in run.stderr and out.read_text() == "keep me"
    run = cli("export", "audit", "--output", str(out), "--format", "jsonl", "--force", "--action", "user.*",
              "--db", str(db))
    assert run.code == 0 and [json.loads(line)["action"] for line in out.read_text().splitlines()] == ["user.removed"]
    assert cli("export", "access", "--output", str(tmp_path / "x"), "--actor", "a", "--db", str(db)).code == 2
    assert cli("export", "both", "--output", str(tmp_path / "x"), "--db", str(db)).code == 2


def test_a_failure_mid_export_leaves_nothing_under_the_final_name(tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "t.duckdb"
    load(db, write_jsonl(tmp_path / "a.jsonl", [audit(i, "x.y", "a@b", ("t", str(i))) for i in range(10)]))

    def broken(path, batches, names, progress):
        path.write_text("half")
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(exporter._WRITERS, "csv", broken)
    out = tmp_path / "out.csv"
    with Store.open(db, read_only=True) as store, pytest.raises(Exception, match="No space left"):
        exporter.run(store, exporter.Params("audit", out), Redactor())
    assert not out.exists() and list(tmp_path.glob(".out.csv.*")) == []


def test_a_folder_as_output_is_named_as_a_folder(tmp_path: Path, db: Path) -> None:
    """It said 'exists; not overwritten, hint: pass --force', and with --force 'Is a directory ... free some space'."""
    folder = tmp_path / "exports"
    folder.mkdir()
    for force in ([], ["--force"]):
        run = cli("export", "audit", "-o", str(folder), *force, "--db", str(db))
        assert run.code == 4 and run.stdout == ""
        assert f"{folder} is a folder; --output names the file to write" in run.stderr
        assert f"--output {folder}/audit.csv" in run.stderr and "space" not in run.stderr
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("name, fmt", [("out.parquet", "parquet"), ("out.jsonl", "jsonl"), ("out.ndjson", "jsonl"),
                                       ("out.json", "json"), ("OUT.CSV", "csv"), ("out.txt", "csv"), ("out", "csv")])
def test_the_file_name_extension_chooses_the_format(tmp_path: Path, db: Path, name: str, fmt: str) -> None:
    """`-o out.parquet` wrote CSV into it (the default format), exit 0."""
    out = tmp_path / name
    run = cli("export", "audit", "-o", str(out), "--db", str(db))  # the summary: JSON Lines when piped
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["format"] == fmt
    if fmt == "parquet":
        assert pq.read_table(out).num_rows == 2
    elif fmt == "json":
        assert [e["action"] for e in json.loads(out.read_text())] == ["appointment.edited", "user.removed"]
    elif fmt == "jsonl":
        assert len([json.loads(line) for line in out.read_text().splitlines()]) == 2
    else:
        assert len(list(csv.DictReader(out.open()))) == 2


def test_a_format_that_contradicts_the_extension_is_refused(tmp_path: Path, db: Path) -> None:
    run = cli("export", "audit", "-o", str(tmp_path / "out.parquet"), "--format", "csv", "--db", str(db))
    assert run.code == 2 and run.stdout == ""
    assert "--format csv does not match the file name out.parquet (.parquet is parquet)" in run.stderr
    assert "out.csv" in run.stderr and not (tmp_path / "out.parquet").exists()
    run = cli("export", "audit", "-o", str(tmp_path / "out.txt"), "--format", "parquet", "--db", str(db))
    assert run.code == 0 and pq.read_table(tmp_path / "out.txt").num_rows == 2  # no format named: --format rules


@pytest.mark.parametrize("name", ["out.csv.gz", "out.jsonl.GZ", "out.zip"])
def test_a_compressed_name_is_refused_rather_than_filled_with_plain_text(tmp_path: Path, db: Path, name: str) -> None:
    run = cli("export", "audit", "-o", str(tmp_path / name), "--db", str(db))
    assert run.code == 2 and run.stdout == "" and "does not compress exports" in run.stderr
    assert f"gzip {Path(name).stem}" in run.stderr and not (tmp_path / name).exists()


def test_an_empty_json_export_is_an_empty_array(tmp_path: Path, db: Path) -> None:
    out = tmp_path / "none.json"
    assert cli("export", "audit", "-o", str(out), "--action", "nothing.*", "--db", str(db)).code == 0
    assert json.loads(out.read_text()) == []
