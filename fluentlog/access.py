"""Who may do what: built-in roles, roles from the config, and the one check.

`decide()` is a pure function called once per command, before any data is read. Deny
by default: an unmapped operator, or a role without the right, is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The rights, and the command (or mode of a command) that needs each.
RIGHTS = ("ingest", "status", "init", "config", "investigate", "export", "reveal", "access-log",
          "retention", "retention-apply", "verify")
COMMAND_RIGHTS = {
    "ingest": "ingest", "status": "status", "init": "init", "config": "config",
    "who-changed": "investigate", "signins": "investigate", "offboarding": "investigate",
    "timeline": "investigate", "export": "export", "access-log": "access-log",
    "retention": "retention", "retention --apply": "retention-apply", "verify": "verify",
    "verify --rebuild-index": "ingest",  # a write of derived data: whoever may ingest
}
MASKABLE = ("ip", "user_agent")


@dataclass(frozen=True)
class Role:
    name: str
    can: frozenset[str]
    reveal: bool = False  # may pass --reveal --reason to see PHI
    mask: tuple[str, ...] = ()  # columns always masked for this role (ip -> /24, user_agent)


BUILT_IN = {
    "owner": Role("owner", frozenset(RIGHTS), reveal=True),
    "admin": Role("admin", frozenset({"ingest", "status", "init", "config", "investigate", "export", "verify"})),
    "compliance": Role("compliance", frozenset({"status", "investigate", "export", "reveal", "access-log",
                                                "retention", "verify"}), reveal=True),
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    operator: str
    role: str | None
    message: str | None = None
    hint: str | None = None


def decide(operator: str, command: str, operators: Mapping[str, str], roles: Mapping[str, Role],
           config_path: str | None) -> Decision:
    right = COMMAND_RIGHTS[command]
    role_name = operators.get(operator)
    role = roles.get(role_name) if role_name else None
    if role is not None and right in role.can:
        return Decision(True, operator, role_name)
    able = sorted(name for name, r in roles.items() if right in r.can)
    who = f"role {role_name!r}" if role_name else "no role"
    where = config_path or "a config file (fluentlog init writes one)"
    return Decision(
        False, operator, role_name,
        message=f"access denied: operator {operator!r} has {who}; `{command}` needs a role with the right "
                f"`{right}` ({', '.join(able) or 'none defined'})",
        hint=f"an owner can map {operator!r} to one of those roles under [operators] in {where}")


def may_reveal(role_name: str | None, roles: Mapping[str, Role]) -> bool:
    role = roles.get(role_name) if role_name else None
    return bool(role and role.reveal and "reveal" in role.can)
