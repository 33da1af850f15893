"""Config discovery and strict validation into a frozen dataclass.

Every error names the file and the key; unknown keys are refused with a
did-you-mean, because a misspelt key silently ignored is a setting not applied.
"""

from __future__ import annotations

import codecs
import difflib
import os
import pwd
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fluentlog.access import BUILT_IN, MASKABLE, RIGHTS, Role
from fluentlog.errors import ConfigError, UsageError

if TYPE_CHECKING:  # the mappings are parsed only when a config defines [sources.NAME]
    from fluentlog.sources import mapping as source_mapping

CONFIG_ENV = "FLUENTLOG_CONFIG"
DB_ENV = "FLUENTLOG_DB"
LOCAL_CONFIG = Path("fluentlog.toml")
DEFAULT_DB = Path("fluentlog.duckdb")

TOP_KEYS = ("database", "timezone", "source_timezone", "retention", "anchor_file", "operators", "detect", "roles",
            "redact", "sources")
DEFAULT_RETENTION = "6y"  # HIPAA's documentation retention period
ROLE_KEYS = ("can", "reveal", "mask")
DEFAULT_PHI = ("patient*", "*dob*", "date_of_birth", "*birth*", "diagnosis*", "medical*", "mrn", "ssn", "insurance*",
               "notes")


@dataclass(frozen=True)
class Detect:
    """Thresholds of the sign-in findings (`[detect]` in the config)."""

    failures: int = 5  # repeated_failures: at least this many failures of one account ...
    failures_window_minutes: int = 15  # ... within this many minutes
    success_after_minutes: int = 60  # success_after_failures: a success this soon after a burst
    baseline_days: int = 90  # new_country/new_ip/new_device: look back this far ...
    baseline_successes: int = 3  # ... and only when there were this many earlier successes
    travel_kmh: int = 1000  # impossible_travel: faster than this between two successes
    travel_country_hours: int = 2  # without coordinates: other country sooner than this
    spray_accounts: int = 5  # password_spray: failures against this many accounts ...
    spray_window_minutes: int = 60  # ... from one IP within this many minutes


DETECT_KEYS = tuple(Detect.__dataclass_fields__)
# Far above any useful threshold, and low enough that a span of this many days stays a timedelta.
DETECT_MAX = 1_000_000


@dataclass(frozen=True)
class Config:
    path: Path | None = None  # None: no config file found, defaults in force
    database: Path | None = None
    timezone: str = "UTC"
    source_timezone: str = "UTC"
    operators: Mapping[str, str] = field(default_factory=dict)
    detect: Detect = field(default_factory=Detect)
    roles: Mapping[str, Role] = field(default_factory=lambda: dict(BUILT_IN))
    phi_fields: tuple[str, ...] = DEFAULT_PHI  # glob patterns of change fields shown as [redacted]
    retention: str = DEFAULT_RETENTION  # how long events are kept (fluentlog retention)
    anchor_file: Path | None = None  # where each ingest appends the ledger head, outside the database
    sources: Mapping[str, source_mapping.Source] = field(default_factory=dict)  # [sources.NAME]


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "fluentlog" / "config.toml"


def discover(explicit: Path | None) -> Path | None:
    """--config, else $FLUENTLOG_CONFIG, else ./fluentlog.toml, else the user config dir."""
    if explicit is not None:
        return explicit
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    for candidate in (LOCAL_CONFIG, user_config_path()):
        if candidate.is_file():
            return candidate
    return None


def load(explicit: Path | None = None) -> Config:
    path = discover(explicit)
    if path is None:
        return Config()
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist",
                          hint="create one with `fluentlog init`, or drop --config / $FLUENTLOG_CONFIG")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None
    try:
        # Windows Notepad starts a UTF-8 file with a byte-order mark, which TOML does not allow.
        text = raw.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: not UTF-8 text (line {line})",
                          hint="save the file as UTF-8 (in Notepad: Save as, Encoding: UTF-8)") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse(data, path)


def parse(data: Mapping[str, Any], path: Path) -> Config:
    _refuse_unknown(data, TOP_KEYS, path, "")
    roles = _roles(data.get("roles", {}), path)
    database = data.get("database")
    if database is not None:
        database = Path(_string(data, "database", path)).expanduser()
        if not database.is_absolute():
            database = path.parent / database
    return Config(
        path=path,
        database=database,
        timezone=_zone(data, "timezone", path),
        source_timezone=_zone(data, "source_timezone", path),
        operators=_operators(data.get("operators", {}), path, roles),
        detect=_detect(data.get("detect", {}), path),
        roles=roles,
        phi_fields=_redact(data.get("redact", {}), path),
        retention=_retention(data, path),
        anchor_file=_path(data, "anchor_file", path),
        sources=_sources(data.get("sources", {}), path),
    )


def resolve_database(cli_db: Path | None, config: Config) -> Path:
    """--db, else $FLUENTLOG_DB, else `database` in the config, else ./fluentlog.duckdb."""
    env = os.environ.get(DB_ENV)
    if cli_db is not None:
        path, named_by, error = cli_db, "--db", UsageError
    elif env:
        path, named_by, error = Path(env), f"${DB_ENV}", ConfigError
    elif config.database:
        path, named_by, error = config.database, f"`database` in {config.path}", ConfigError
    else:
        return DEFAULT_DB
    if "?" in str(path):  # DuckDB would name the write-ahead log X.wal?... and fail at the first commit
        raise error(f"the database path {path} (from {named_by}) contains '?', which DuckDB reads as the "
                    "start of connection options", hint="choose a database file name without '?'")
    return path


def current_operator() -> str:
    """The effective OS account; USER and LOGNAME are never trusted."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid:{os.geteuid()}"


def starter_config(operator: str) -> str:
    return (
        "# fluentlog configuration (see README.md, section Configuration)\n"
        '# database = "fluentlog.duckdb"   # default: ./fluentlog.duckdb\n'
        'timezone = "UTC"          # zone for displayed times and zone-less --since/--until\n'
        'source_timezone = "UTC"   # zone for export timestamps that carry none\n'
        "\n"
        "[operators]\n"
        "# OS account = role (owner, admin or compliance)\n"
        f'"{operator}" = "owner"\n'
    )


def _refuse_unknown(data: Mapping[str, Any], allowed: tuple[str, ...], path: Path, prefix: str) -> None:
    for key in data:
        if key not in allowed:
            near = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean `{prefix}{near[0]}`?" if near else f"known keys: {', '.join(allowed)}"
            raise ConfigError(f"{path}: unknown key `{prefix}{key}`", hint=hint)


def _string(data: Mapping[str, Any], key: str, path: Path) -> str:
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: `{key}` must be a non-empty string, got {value!r}")
    return value


def _zone(data: Mapping[str, Any], key: str, path: Path) -> str:
    if key not in data:
        return "UTC"
    name = _string(data, key, path)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(f"{path}: `{key}` = {name!r} is not a known time zone",
                          hint='use an IANA name such as "UTC" or "America/New_York"') from None
    return name


def _operators(table: Any, path: Path, roles: Mapping[str, Role]) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: `operators` must be a table of account = role")
    result = {}
    for account, role in table.items():
        if not isinstance(role, str) or not role.strip():
            raise ConfigError(f"{path}: `operators.{account}` must be a role name, got {role!r}",
                              hint=f"roles: {', '.join(roles)}")
        role = role.strip().lower()
        if role not in roles:
            near = difflib.get_close_matches(role, list(roles), n=1)
            raise ConfigError(f"{path}: `operators.{account}` names unknown role {role!r}",
                              hint=f"did you mean {near[0]!r}?" if near else
                              f"roles: {', '.join(roles)} (define others under [roles.NAME])")
        result[account] = role
    return result


def _detect(table: Any, path: Path) -> Detect:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: `detect` must be a table of thresholds")
    _refuse_unknown(table, DETECT_KEYS, path, "detect.")
    for key, value in table.items():
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= DETECT_MAX:
            raise ConfigError(f"{path}: `detect.{key}` must be a whole number from 1 to {DETECT_MAX:,}, got {value!r}")
    return Detect(**table)


def _roles(table: Any, path: Path) -> dict[str, Role]:
    """Built-in roles, overridden or extended by [roles.NAME] tables."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: `roles` must hold tables such as [roles.auditor]")
    roles = dict(BUILT_IN)
    for name, spec in table.items():
        key = f"roles.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{path}: `{key}` must be a table with can, reveal, mask")
        _refuse_unknown(spec, ROLE_KEYS, path, key + ".")
        base = BUILT_IN.get(name.lower(), Role(name.lower(), frozenset()))
        can = spec.get("can", sorted(base.can))
        if not isinstance(can, list) or not all(isinstance(c, str) for c in can):
            raise ConfigError(f"{path}: `{key}.can` must be a list of rights", hint=f"rights: {', '.join(RIGHTS)}")
        for right in can:
            if right not in RIGHTS:
                near = difflib.get_close_matches(right, RIGHTS, n=1)
                raise ConfigError(f"{path}: `{key}.can` names unknown right {right!r}",
                                  hint=f"did you mean {near[0]!r}?" if near else f"rights: {', '.join(RIGHTS)}")
        reveal = spec.get("reveal", base.reveal)
        if not isinstance(reveal, bool):
            raise ConfigError(f"{path}: `{key}.reveal` must be true or false")
        mask = spec.get("mask", list(base.mask))
        if not isinstance(mask, list) or any(m not in MASKABLE for m in mask):
            raise ConfigError(f"{path}: `{key}.mask` must be a list drawn from {', '.join(MASKABLE)}")
        roles[name.lower()] = Role(name.lower(), frozenset(can), reveal, tuple(mask))
    return roles


def _redact(table: Any, path: Path) -> tuple[str, ...]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: `redact` must be a table")
    _refuse_unknown(table, ("fields",), path, "redact.")
    fields = table.get("fields", list(DEFAULT_PHI))
    if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
        raise ConfigError(f"{path}: `redact.fields` must be a list of field-name patterns such as \"patient*\"")
    return tuple(f.lower() for f in fields)


def check_private(path: Path, what: str, readable_by_others: bool) -> None:
    """Refuse a file others could change (or, for the config, read): exit 4 with the fix."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return
    bad = mode & 0o022 or (not readable_by_others and mode & 0o004)
    if bad:
        who = "writable by group or others" if mode & 0o022 else "readable by others"
        raise ConfigError(f"{what} {path} is {who} (mode {mode:04o}): fluentlog refuses to trust it",
                          hint=f"chmod 600 {path}")


def _path(data: Mapping[str, Any], key: str, path: Path) -> Path | None:
    if key not in data:
        return None
    value = Path(_string(data, key, path)).expanduser()
    return value if value.is_absolute() else path.parent / value


def _retention(data: Mapping[str, Any], path: Path) -> str:
    if "retention" not in data:
        return DEFAULT_RETENTION
    value = _string(data, "retention", path)
    from fluentlog.timeparse import duration_problem
    problem = duration_problem(value)
    if problem:
        raise ConfigError(f"{path}: `retention` = {value!r} {problem}", hint='e.g. "6y", "18mo" or "400d"')
    return value


def _sources(table: Any, path: Path) -> dict[str, source_mapping.Source]:
    from fluentlog.sources import mapping as source_mapping
    from fluentlog.sources import presets
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: `sources` must hold tables: [sources.NAME]")
    result = {}
    for name, body in table.items():
        if name in presets():
            raise ConfigError(f"{path}: [sources.{name}] has the name of a built-in source",
                              hint=f"give yours another name, e.g. [sources.my_{name}]")
        result[name] = source_mapping.parse(name, body, str(path))
    return result
