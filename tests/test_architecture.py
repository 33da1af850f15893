"""The promises of the layout: the core imports without the CLI stack, DuckDB behind one door."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _loaded_after(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", code + "; import sys; print(' '.join(sys.modules))"],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    return set(done.stdout.split())


def test_core_imports_without_typer_or_rich() -> None:
    loaded = _loaded_after("import fluentlog.store, fluentlog.ingest, fluentlog.config, fluentlog.timeparse, "
                           "fluentlog.workflows.status, fluentlog.workflows.who_changed, fluentlog.workflows.signins, "
                           "fluentlog.workflows.offboarding, fluentlog.workflows.timeline, fluentlog.demo")
    assert "typer" not in loaded and "rich" not in loaded


def test_help_path_does_not_import_duckdb_or_pyarrow() -> None:
    loaded = _loaded_after("from fluentlog import cli; import fluentlog.cli.commands")
    assert "duckdb" not in loaded and "pyarrow" not in loaded


@pytest.mark.parametrize("command", [["who-changed", "appointment:APT-1042"],
                                     ["signins", "--email", "dana.ruiz@northside.example"],
                                     ["timeline", "--email", "dana.ruiz@northside.example"]])
def test_answers_in_json_import_neither_pyarrow_nor_rich(tmp_path: Path, command: list[str]) -> None:
    """A short answer in JSON needs no Arrow and no Rich: importing them costs ~35 ms a run."""
    from conftest import load, owner_config
    db = tmp_path / "s.duckdb"
    load(db, ROOT / "sample_data" / "audit.jsonl", ROOT / "sample_data" / "access.jsonl")
    code = ("import sys\nfrom fluentlog.cli.boundary import main\n"
            f"sys.argv = ['fluentlog', *{command!r}, '--db', {str(db)!r}, '--format', 'json']\n"
            "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code, done.code\n"
            "print(' '.join(sys.modules), file=sys.stderr)")
    env = {**os.environ, "FLUENTLOG_CONFIG": str(owner_config(tmp_path)), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert '"event_id"' in done.stdout
    loaded = set(done.stderr.split())
    assert "duckdb" in loaded and "pyarrow" not in loaded and "rich" not in loaded


def test_only_store_imports_duckdb() -> None:
    offenders = [p.relative_to(ROOT) for p in (ROOT / "fluentlog").rglob("*.py")
                 if p.name != "store.py" and "import duckdb" in p.read_text()]
    assert offenders == []


def test_ruff_is_clean() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed in this environment (pip install '.[test]')")
    done = subprocess.run([str(ruff), "check", "fluentlog", "tests", "sample_data", "benchmarks"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout


def test_sample_data_is_reproducible(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "sample_data"))
    try:
        import generate
    finally:
        sys.path.pop(0)
    generate.write(generate.build(), tmp_path)
    for name in ("audit.jsonl", "access.jsonl"):
        assert (tmp_path / name).read_bytes() == (ROOT / "sample_data" / name).read_bytes()


def test_every_package_is_installed() -> None:
    """pyproject lists packages explicitly (sample_data is mapped in): a new folder must be listed."""
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "fluentlog").rglob("__init__.py")}
    assert found <= listed, f"add to pyproject [tool.setuptools] packages: {sorted(found - listed)}"


def test_the_installed_package_runs_the_demo(tmp_path: Path) -> None:
    """CI installs fluentlog with pip: the installed copy (not this source tree) must work."""
    import os
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run([sys.executable, "-c", "import importlib.util as u; s = u.find_spec('fluentlog'); "
                            "print(s.origin if s else '')"], capture_output=True, text=True, cwd=tmp_path, env=env)
    origin = where.stdout.strip()
    if not origin or Path(origin).resolve().is_relative_to(ROOT / "fluentlog"):
        pytest.skip("fluentlog is not installed in this environment (pip install '.[test]')")
    done = subprocess.run([sys.executable, "-m", "fluentlog", "demo", "--format", "jsonl"], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) > 5 and list(tmp_path.iterdir()) == []
