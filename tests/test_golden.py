"""Golden files: each investigation in each format on the sample workspace, so that any
change of output shows up in review. Regenerate with FLUENTLOG_UPDATE_GOLDEN=1 pytest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import ROOT, cli

GOLDEN = ROOT / "tests" / "golden"
SAMPLE = ROOT / "sample_data"
CASES = {
    "who_changed": ("who-changed", "appointment:APT-1042"),
    "signins": ("signins", "--email", "nina.patel@northside.example", "--since", "2026-11-16",
                "--until", "2026-11-17"),
    "offboarding": ("offboarding", "--all", "--since", "2026-11-01", "--until", "2026-11-30"),
    "timeline": ("timeline", "--email", "lee.park@northside.example", "--since", "2026-11-01"),
}
FORMATS = ("json", "jsonl", "csv", "table")


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("golden") / "sample.duckdb"
    assert cli("ingest", str(SAMPLE / "audit.jsonl"), str(SAMPLE / "access.jsonl"), "--db", str(db)).code == 0
    return db


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(sample_db: Path, name: str, fmt: str) -> None:
    run = cli(*CASES[name], "--db", str(sample_db), "--format", fmt, "--tz", "UTC", env={"COLUMNS": "160"})
    assert run.code == 0, run.stderr
    path = GOLDEN / f"{name}.{fmt}"
    if os.environ.get("FLUENTLOG_UPDATE_GOLDEN"):
        path.write_text(run.stdout)
    assert path.exists(), f"{path} is missing: run FLUENTLOG_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py"
    assert run.stdout == path.read_text(), f"{name} --format {fmt} differs from {path}"
