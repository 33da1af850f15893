"""Config discovery and strict validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluentlog import config
from fluentlog.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fluentlog.toml"
    path.write_text(text)
    return path


def test_defaults_without_any_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(config.CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    cfg = config.load(None)
    assert cfg.path is None and cfg.timezone == "UTC" and cfg.source_timezone == "UTC"
    assert config.resolve_database(None, cfg) == Path("fluentlog.duckdb")


def test_discovery_order(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    user = tmp_path / "xdg" / "fluentlog" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('timezone = "Europe/Berlin"\n')
    monkeypatch.delenv(config.CONFIG_ENV, raising=False)
    assert config.load(None).timezone == "Europe/Berlin"
    write(tmp_path, 'timezone = "Asia/Tokyo"\n')
    assert config.load(None).timezone == "Asia/Tokyo"
    other = tmp_path / "other.toml"
    other.write_text('timezone = "America/Chicago"\n')
    monkeypatch.setenv(config.CONFIG_ENV, str(other))
    assert config.load(None).timezone == "America/Chicago"
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('timezone = "UTC"\n')
    assert config.load(explicit).timezone == "UTC"


def test_database_relative_to_config_and_precedence(tmp_path: Path, monkeypatch) -> None:
    cfg = config.load(write(tmp_path, 'database = "data/logs.duckdb"\n'))
    assert cfg.database == tmp_path / "data" / "logs.duckdb"
    monkeypatch.delenv(config.DB_ENV, raising=False)
    assert config.resolve_database(None, cfg) == tmp_path / "data" / "logs.duckdb"
    monkeypatch.setenv(config.DB_ENV, "/env.duckdb")
    assert config.resolve_database(None, cfg) == Path("/env.duckdb")
    assert config.resolve_database(Path("cli.duckdb"), cfg) == Path("cli.duckdb")


@pytest.mark.parametrize("text, message, hint", [
    ('timezon = "UTC"\n', "unknown key `timezon`", "did you mean `timezone`?"),
    ('timezone = "Mars/Olympus"\n', "`timezone` = 'Mars/Olympus' is not a known time zone", "IANA"),
    ('source_timezone = 5\n', "`source_timezone` must be a non-empty string", None),
    ('[operators]\ndana = "ownr"\n', "`operators.dana` names unknown role 'ownr'", "did you mean 'owner'?"),
    ('operators = "dana"\n', "`operators` must be a table", None),
    ('database = \n', "not valid TOML", None),
    ('retention = "99999999999y"\n', "`retention` = '99999999999y' is longer than 1,000 years", '"6y"'),
    ('retention = "six years"\n', "`retention` = 'six years' is not a duration", '"6y"'),
    ('[detect]\nbaseline_days = 99999999999\n', "`detect.baseline_days` must be a whole number from 1 to 1,000,000",
     None),
])
def test_errors_name_file_and_key(tmp_path: Path, text: str, message: str, hint: str | None) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert str(path) in info.value.message and message in info.value.message
    if hint:
        assert hint in (info.value.hint or "")


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(tmp_path / "absent.toml")


def test_operators_are_parsed(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, '[operators]\ndana = "Owner"\n"svc-cron" = "admin"\n'))
    assert dict(cfg.operators) == {"dana": "owner", "svc-cron": "admin"}


def test_starter_config_is_valid(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, config.starter_config("someone")))
    assert dict(cfg.operators) == {"someone": "owner"}


def test_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parent.parent / "sample_data" / "fluentlog.example.toml"
    assert config.load(example).timezone == "America/New_York"


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    """Windows Notepad saves UTF-8 with one; tomllib refused it at line 1, column 1."""
    path = tmp_path / "bom.toml"
    path.write_bytes(b'\xef\xbb\xbf[operators]\n"dana" = "owner"\n')
    assert dict(config.load(path).operators) == {"dana": "owner"}


def test_a_config_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('timezone = "UTC"\n[operators]\n"jos\u00e9" = "owner"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1.toml: not UTF-8 text \(line 3\)"):
        config.load(path)
