"""Write N audit and N access events in the Fluent v1 format as JSON Lines.

    python benchmarks/generate.py 1000000 benchmarks/data

Deterministic for a given N. Records look like real exports: nested actor, entity,
changes and context objects, ~570 bytes per event (audit ~660, access ~480), ids unique,
300 days of times.
A larger N means more people and more appointments, not busier ones: N / 500 users (at
least 2,000), each with ~500 events per stream, and N / 4 appointments.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ACTIONS = ["appointment.created", "appointment.edited", "appointment.canceled", "interpreter.assigned",
           "interpreter.unassigned", "invoice.updated", "rate_rule.changed", "template.changed"]
EVENTS = [("signin.succeeded", "success"), ("signin.failed", "failure"), ("signout", "success"),
          ("sso.succeeded", "success"), ("password_reset.requested", "success")]
CITIES = [("US", "NY", "New York", 40.71, -74.01), ("US", "MA", "Boston", 42.36, -71.06),
          ("US", "PA", "Philadelphia", 39.95, -75.17), ("CA", "ON", "Toronto", 43.65, -79.38)]
UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15"
START = datetime(2026, 1, 1, tzinfo=UTC)


def stamp(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def users(n: int) -> int:
    return max(2000, n // 500)


def audit_lines(n: int, rnd: random.Random):
    span = 300 * 86400
    for i in range(n):
        user = rnd.randrange(users(n))
        if i % 20000 == 7:  # now and then a user is removed or changes role (offboarding)
            yield user_event(i, stamp(i * span / n), rnd, users(n))
            continue
        yield json.dumps({
            "id": f"aud_{i:012d}", "occurred_at": stamp(i * span / n), "action": rnd.choice(ACTIONS),
            "actor": {"id": f"usr_{user:05d}", "email": f"user{user}@northside.example", "name": f"User {user}",
                      "role": "scheduler"},
            "entity": {"type": "appointment", "id": f"APT-{rnd.randrange(n // 4 + 1):07d}"},
            "related": [{"type": "interpreter", "id": f"INT-{rnd.randrange(5000):05d}"}],
            "changes": {"start_time": {"from": stamp(rnd.randrange(span)), "to": stamp(rnd.randrange(span))},
                        "status": {"from": "scheduled", "to": "confirmed"}},
            "context": {"ip": f"203.0.{rnd.randrange(256)}.{rnd.randrange(256)}", "user_agent": UA,
                        "request_id": f"req_{rnd.getrandbits(48):012x}"},
        }) + "\n"


def user_event(i: int, when: str, rnd: random.Random, people: int) -> str:
    admin, target = rnd.randrange(people), rnd.randrange(people)
    removed = rnd.random() < 0.5
    return json.dumps({
        "id": f"aud_{i:012d}", "occurred_at": when, "action": "user.removed" if removed else "user.role_changed",
        "actor": {"id": f"usr_{admin:05d}", "email": f"user{admin}@northside.example", "name": f"User {admin}",
                  "role": "admin"},
        "entity": {"type": "user", "id": f"usr_{target:05d}", "email": f"user{target}@northside.example"},
        "changes": {"status": {"from": "active", "to": "removed"}} if removed
        else {"role": {"from": "admin", "to": "scheduler"}},
        "context": {"ip": "203.0.113.7", "user_agent": UA, "request_id": f"req_{rnd.getrandbits(48):012x}"},
    }) + "\n"


def access_lines(n: int, rnd: random.Random):
    span = 300 * 86400
    for i in range(n):
        user = rnd.randrange(users(n))
        event, outcome = rnd.choice(EVENTS)
        country, region, city, lat, lon = rnd.choice(CITIES)
        record = {"id": f"acc_{i:012d}", "occurred_at": stamp(i * span / n), "event": event, "outcome": outcome,
                  "user": {"id": f"usr_{user:05d}", "email": f"user{user}@northside.example"},
                  "method": "password", "ip": f"198.51.{rnd.randrange(256)}.{rnd.randrange(256)}",
                  "location": {"country": country, "region": region, "city": city, "lat": lat, "lon": lon},
                  "device": {"id": f"dev_{user:05d}", "user_agent": UA}}
        if outcome == "failure":
            record["reason"] = "invalid_password"
        yield json.dumps(record) + "\n"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).parent / "data"
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in (("audit", audit_lines), ("access", access_lines)):
        path = folder / f"{name}_{n}.jsonl"
        if path.exists():
            print(f"{path} exists, kept")
            continue
        rnd = random.Random(f"{name}-{n}")
        with path.open("w") as fh:
            fh.writelines(lines(n, rnd))
        print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
