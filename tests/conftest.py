"""Shared fixtures: a real DuckDB store on disk, ingest helpers, and the CLI as a subprocess."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from fluentlog.ingest import IngestOptions, LoadReport, ingest
from fluentlog.store import Store

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CORPUS = DATA / "jsonl"
FILES = DATA / "files"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


def load(db: Path, *paths: Path, **options) -> LoadReport:
    opts = IngestOptions(operator="tester", **options)
    with Store.open(db) as store:
        return ingest(store, [Path(p) for p in paths], opts)


def rows(db: Path, sql: str, params: dict | None = None) -> list[tuple]:
    with Store.open(db, read_only=True) as store:
        return store.rows(sql, params)


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def owner_config(folder: Path, extra: str = "") -> Path:
    """A private config making the current OS account an owner."""
    path = folder / "fluentlog.toml"
    path.write_text(f'[operators]\n"{pwd.getpwuid(os.geteuid()).pw_name}" = "owner"\n{extra}')
    path.chmod(0o600)
    return path


_DEFAULT_CONFIG = owner_config(Path(tempfile.mkdtemp(prefix="fluentlog-test-config-")))


def cli(*args: str, cwd: Path | None = None, env: dict | None = None, stdin: str | None = None,
        exact: bool = False) -> Run:
    """Run `python -m fluentlog` as a user would: a separate process, stdout and stderr apart.
    Unless `env` names FLUENTLOG_CONFIG (even as ""), a config making this account an owner is used.
    `exact`: the output as written, line ends included (else a CR or CR LF reads as LF)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("FLUENTLOG_", "COLUMNS"))}
    full_env["PYTHONPATH"] = str(ROOT)
    full_env["FLUENTLOG_CONFIG"] = str(_DEFAULT_CONFIG)
    full_env.update(env or {})
    done = subprocess.run([sys.executable, "-m", "fluentlog", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=not exact, timeout=300,
                          input=stdin.encode() if exact and stdin is not None else stdin)
    if exact:
        return Run(done.returncode, done.stdout.decode(), done.stderr.decode())
    return Run(done.returncode, done.stdout, done.stderr)
