"""Who may see the logs: the role table, denials, file permissions, the tool's own access log."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

import pytest
from conftest import CORPUS, cli, owner_config

from fluentlog.access import BUILT_IN, COMMAND_RIGHTS, Role, decide

ME = pwd.getpwuid(os.geteuid()).pw_name
# (role, command) -> allowed, as the table says; any other role or none: nothing.
ALLOWED = {
    "owner": set(COMMAND_RIGHTS),
    "admin": {"ingest", "status", "init", "config", "who-changed", "signins", "offboarding", "timeline",
              "export", "verify", "verify --rebuild-index"},
    "compliance": {"status", "who-changed", "signins", "offboarding", "timeline", "export", "access-log",
                   "retention", "verify"},
    None: set(),
    "intern": set(),
}


@pytest.mark.parametrize("role", list(ALLOWED))
@pytest.mark.parametrize("command", sorted(COMMAND_RIGHTS))
def test_role_table(role: str | None, command: str) -> None:
    roles = {**BUILT_IN, "intern": Role("intern", frozenset())}
    operators = {"someone": role} if role else {}
    decision = decide("someone", command, operators, roles, "/etc/fluentlog.toml")
    assert decision.allowed is (command in ALLOWED[role])
    if not decision.allowed:
        assert "'someone'" in decision.message and command in decision.message
        assert "owner" in decision.message  # the roles that could


def config_for(tmp_path: Path, role: str, extra: str = "") -> dict:
    path = tmp_path / "cfg.toml"
    path.write_text(f'[operators]\n"{ME}" = "{role}"\n{extra}')
    path.chmod(0o600)
    return {"FLUENTLOG_CONFIG": str(path)}


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    db = tmp_path / "t.duckdb"
    assert cli("ingest", str(CORPUS / "clean.jsonl"), "--db", str(db)).code == 0
    return db


def log_of(db: Path) -> list[dict]:
    return [json.loads(line) for line in Path(str(db) + ".access.jsonl").read_text().splitlines()]


def test_denial_exits_3_with_nothing_on_stdout_and_is_recorded(tmp_path: Path, loaded: Path) -> None:
    env = config_for(tmp_path, "admin")
    run = cli("access-log", "--db", str(loaded), env=env)
    assert run.code == 3 and run.stdout == ""
    assert f"operator '{ME}' has role 'admin'" in run.stderr and "compliance, owner" in run.stderr
    last = log_of(loaded)[-1]
    assert (last["operator"], last["role"], last["command"], last["outcome"]) == (ME, "admin", "access-log", "denied")


def test_unmapped_operator_and_a_spoofed_USER_are_denied(tmp_path: Path, loaded: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text('[operators]\n"mallory" = "owner"\n')
    path.chmod(0o600)
    run = cli("who-changed", "x:1", "--db", str(loaded),
              env={"FLUENTLOG_CONFIG": str(path), "USER": "mallory", "LOGNAME": "mallory"})
    assert run.code == 3 and run.stdout == "" and f"operator '{ME}' has no role" in run.stderr
    assert log_of(loaded)[-1]["operator"] == ME


def test_without_any_config_everything_but_demo_and_help_is_denied(tmp_path: Path, loaded: Path) -> None:
    env = {"FLUENTLOG_CONFIG": "", "XDG_CONFIG_HOME": str(tmp_path / "none")}
    assert cli("status", "--db", str(loaded), env=env, cwd=tmp_path).code == 3
    assert cli("--help", env=env).code == 0


@pytest.mark.parametrize("mode, complaint", [(0o620, "writable by group or others"), (0o604, "readable by others"),
                                             (0o602, "writable by group or others")])
def test_config_others_can_touch_is_refused(tmp_path: Path, loaded: Path, mode: int, complaint: str) -> None:
    env = config_for(tmp_path, "owner")
    Path(env["FLUENTLOG_CONFIG"]).chmod(mode)
    run = cli("status", "--db", str(loaded), env=env)
    assert run.code == 4 and run.stdout == "" and complaint in run.stderr
    assert f"chmod 600 {env['FLUENTLOG_CONFIG']}" in run.stderr


def test_group_writable_database_is_refused(loaded: Path) -> None:
    loaded.chmod(0o660)
    run = cli("status", "--db", str(loaded))
    assert run.code == 4 and "writable by group or others" in run.stderr and f"chmod 600 {loaded}" in run.stderr


def test_files_written_are_private(loaded: Path) -> None:
    assert (loaded.stat().st_mode & 0o777, Path(str(loaded) + ".access.jsonl").stat().st_mode & 0o777) == \
        (0o600, 0o600)


def test_access_log_records_every_look_with_filters_and_rows(tmp_path: Path, loaded: Path) -> None:
    cli("who-changed", "appointment:APT-1042", "--actor", "dana.ruiz@northside.example", "--db", str(loaded))
    cli("status", "--db", str(loaded))
    entries = log_of(loaded)
    assert [e["command"] for e in entries] == ["ingest", "who-changed", "status"]
    who = entries[1]
    assert who["filters"] == {"target": "appointment:APT-1042", "actor": "dana.ruiz@northside.example"}
    assert (who["rows"], who["outcome"], who["role"]) == (4, "ok", "owner")
    run = cli("access-log", "--command", "who-changed", "--db", str(loaded), "--format", "json")
    assert [e["command"] for e in json.loads(run.stdout)] == ["who-changed"]
    compliance = cli("access-log", "--db", str(loaded), "--format", "json", env=config_for(tmp_path, "compliance"))
    assert compliance.code == 0 and len(json.loads(compliance.stdout)) == 4


def test_errors_are_recorded_too(loaded: Path) -> None:
    run = cli("ingest", str(CORPUS / "clean.jsonl"), "/nonexistent.jsonl", "--db", str(loaded))
    assert run.code == 4
    assert log_of(loaded)[-1]["outcome"] == "error"


def test_custom_roles_from_the_config(tmp_path: Path, loaded: Path) -> None:
    env = config_for(tmp_path, "auditor", '[roles.auditor]\ncan = ["investigate"]\n')
    assert cli("who-changed", "x:1", "--db", str(loaded), env=env).code == 0
    assert cli("status", "--db", str(loaded), env=env).code == 3
    bad = config_for(tmp_path, "auditor", '[roles.auditor]\ncan = ["investigat"]\n')
    run = cli("status", "--db", str(loaded), env=bad)
    assert run.code == 4 and "did you mean 'investigate'" in run.stderr


def test_init_force_needs_the_init_right(tmp_path: Path) -> None:
    path = tmp_path / "fluentlog.toml"
    path.write_text('[operators]\n"someone-else" = "owner"\n')
    path.chmod(0o600)
    run = cli("init", "--force", "--config", str(path))
    assert run.code == 3 and "has no role" in run.stderr
    owner_config(tmp_path)
    assert cli("init", "--force", "--config", str(path)).code == 0


SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    db = tmp_path / "s.duckdb"
    assert cli("ingest", str(SAMPLE / "audit.jsonl"), str(SAMPLE / "access.jsonl"), "--db", str(db)).code == 0
    return db


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "table"])
def test_phi_is_redacted_in_every_format(sample: Path, fmt: str) -> None:
    run = cli("who-changed", "appointment:APT-1042", "--db", str(sample), "--format", fmt, env={"COLUMNS": "200"})
    assert run.code == 0
    assert "PT-88213" not in run.stdout and "[redacted]" in run.stdout and "patient_ref" in run.stdout
    timeline = cli("timeline", "--email", "priya.shah@northside.example", "--db", str(sample), "--format", fmt)
    assert "PT-88213" not in timeline.stdout


def test_reveal_needs_a_reason_and_a_role_that_may(tmp_path: Path, sample: Path) -> None:
    assert cli("who-changed", "appointment:APT-1042", "--reveal", "--db", str(sample)).code == 2
    admin = cli("who-changed", "appointment:APT-1042", "--reveal", "--reason", "x", "--db", str(sample),
                env=config_for(tmp_path, "admin"))
    assert admin.code == 3 and admin.stdout == "" and "may not --reveal" in admin.stderr
    shown = cli("who-changed", "appointment:APT-1042", "--reveal", "--reason", "ticket 42", "--db", str(sample),
                "--format", "json", env=config_for(tmp_path, "compliance"))
    assert shown.code == 0 and "PT-88213" in shown.stdout
    entries = log_of(sample)
    assert (entries[-2]["outcome"], entries[-2]["role"]) == ("denied", "admin")
    assert (entries[-1]["outcome"], entries[-1]["reason"], entries[-1]["role"]) == ("ok", "ticket 42", "compliance")


def test_a_role_mask_hides_ips_and_user_agents(tmp_path: Path, sample: Path) -> None:
    env = config_for(tmp_path, "helpdesk", '[roles.helpdesk]\ncan = ["investigate"]\nmask = ["ip", "user_agent"]\n')
    run = cli("signins", "--email", "nina.patel@northside.example", "--since", "2026-11-15", "--db", str(sample),
              "--format", "json", env=env)
    doc = json.loads(run.stdout)
    assert {e["ip"] for e in doc["events"]} == {"102.89.4.0/24", "203.0.113.0/24"}
    assert {e["user_agent"] for e in doc["events"]} == {"[masked]"}
    assert "102.89.4.17" not in run.stdout
    who = cli("who-changed", "appointment:APT-1042", "--db", str(sample), "--format", "csv", env=env)
    assert "203.0.113.21" not in who.stdout and "203.0.113.0/24" in who.stdout


def test_retention_dry_run_then_apply_by_an_owner_only(tmp_path: Path, sample: Path) -> None:
    dry = cli("retention", "--keep", "60d", "--db", str(sample), "--format", "json",
              env=config_for(tmp_path, "compliance"))
    assert dry.code == 0
    doc = json.loads(dry.stdout)
    would = doc["streams"]["audit"]["events"] + doc["streams"]["access"]["events"]
    assert would > 0 and doc["applied"] is False
    for role in ("compliance", "admin"):
        denied = cli("retention", "--keep", "60d", "--apply", "--db", str(sample), env=config_for(tmp_path, role))
        assert denied.code == 3 and denied.stdout == ""
    status = json.loads(cli("status", "--db", str(sample), "--format", "json").stdout)
    before = status["audit"]["events"] + status["access"]["events"]
    applied = cli("retention", "--keep", "60d", "--apply", "--db", str(sample), "--format", "json")
    assert applied.code == 0 and json.loads(applied.stdout)["applied"] is True
    status = json.loads(cli("status", "--db", str(sample), "--format", "json").stdout)
    assert status["audit"]["events"] + status["access"]["events"] == before - would
    entry = log_of(sample)[-2]
    assert (entry["command"], entry["rows"], entry["filters"]["keep"]) == ("retention --apply", would, "60d")
    assert "cutoff" in entry["filters"]


def test_retention_policy_from_the_config_and_config_check(tmp_path: Path, sample: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(f'retention = "18mo"\n[operators]\n"{ME}" = "owner"\n')
    path.chmod(0o600)
    env = {"FLUENTLOG_CONFIG": str(path)}
    run = cli("retention", "--db", str(sample), "--format", "json", env=env)
    assert json.loads(run.stdout)["keep"] == "18mo"
    check = cli("config", "check", "--db", str(sample), "--format", "json", env=env)
    assert check.code == 0 and json.loads(check.stdout)["retention"] == "18mo"
    path.write_text(f'retention = "forever"\n[operators]\n"{ME}" = "owner"\n')
    bad = cli("config", "check", env=env)
    assert bad.code == 4 and "`retention` = 'forever' is not a duration" in bad.stderr
    assert cli("config", "check", env=config_for(tmp_path, "compliance")).code == 3
