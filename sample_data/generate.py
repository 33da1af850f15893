"""Regenerate the sample workspace: `python sample_data/generate.py` (deterministic).

Northside Interpreting, 60 days of audit and access events ending 2026-11-20,
written as JSON Lines and as Parquet (the same events). It holds one story for
each canned investigation:

- APT-1042, an appointment with a contested history (rescheduled twice, the
  interpreter swapped, canceled, then reinstated);
- nina.patel@northside.example: nine failed password sign-ins from an unfamiliar
  IP abroad, then a success from it (brute force, then success);
- lee.park@northside.example, an interpreter removed on 2026-11-02 who signs in
  again through SSO on 2026-11-09 and accepts an assignment (comes back);
- olivia.grant@northside.example, demoted then removed on 2026-11-12 with no
  activity afterwards (a clean offboarding);
- no events at all on 2026-10-14 and 2026-10-15 (an export that never arrived).
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, too
from fluentlog import parquet_format  # noqa: E402

HERE = Path(__file__).resolve().parent
END = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
START = END - timedelta(days=60)
DOMAIN = "northside.example"
UA = {
    "mac": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Safari/605.1.15",
    "win": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36",
    "ios": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "curl": "python-requests/2.32",
}
PLACES = {
    "nyc": {"country": "US", "region": "NY", "city": "New York", "lat": 40.71, "lon": -74.01},
    "bos": {"country": "US", "region": "MA", "city": "Boston", "lat": 42.36, "lon": -71.06},
    "phl": {"country": "US", "region": "PA", "city": "Philadelphia", "lat": 39.95, "lon": -75.17},
    "lag": {"country": "NG", "region": "LA", "city": "Lagos", "lat": 6.52, "lon": 3.38},
}
# id, name, role, home place, device kind, home ip
PEOPLE = [
    ("usr_0001", "Dana Ruiz", "owner", "nyc", "mac", "203.0.113.7"),
    ("usr_0002", "Marcus Chen", "admin", "nyc", "win", "203.0.113.12"),
    ("usr_0003", "Olivia Grant", "admin", "bos", "mac", "198.51.100.40"),
    ("usr_0004", "Priya Shah", "scheduler", "nyc", "win", "203.0.113.21"),
    ("usr_0005", "Tom Becker", "scheduler", "phl", "win", "198.51.100.77"),
    ("usr_0006", "Nina Patel", "compliance", "nyc", "mac", "203.0.113.33"),
    ("usr_0101", "Lee Park", "interpreter", "bos", "ios", "198.51.100.91"),
    ("usr_0102", "Ana Souza", "interpreter", "nyc", "ios", "203.0.113.45"),
    ("usr_0103", "Omar Haddad", "interpreter", "phl", "ios", "198.51.100.15"),
    ("usr_0104", "Sofia Rossi", "interpreter", "nyc", "ios", "203.0.113.58"),
]
ATTACKER_IP = "102.89.4.17"
LEE_REMOVED = datetime(2026, 11, 2, 16, 30, tzinfo=UTC)
# Two days whose export "went missing": `fluentlog status` shows them as a gap.
MISSING_EXPORT = (datetime(2026, 10, 14).date(), datetime(2026, 10, 15).date())


def email(name: str) -> str:
    return name.lower().replace(" ", ".") + "@" + DOMAIN


def stamp(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Workspace:
    def __init__(self, seed: int = 20261120) -> None:
        self.rnd = random.Random(seed)
        self.audit: list[dict] = []
        self.access: list[dict] = []
        self.people = {p[0]: p for p in PEOPLE}

    def person(self, user_id: str) -> tuple:
        return self.people[user_id]

    def audit_event(self, t: datetime, actor_id: str, action: str, entity: dict, changes=None,
                    related=None) -> None:
        uid, name, role, _, device, ip = self.person(actor_id)
        record = {"id": f"aud_{len(self.audit) + 1:06d}", "occurred_at": stamp(t), "action": action,
                  "actor": {"id": uid, "email": email(name), "name": name, "role": role},
                  "entity": entity}
        if related:
            record["related"] = related
        if changes:
            record["changes"] = changes
        record["context"] = {"ip": ip, "user_agent": UA[device], "request_id": f"req_{self.rnd.getrandbits(40):010x}"}
        self.audit.append(record)

    def access_event(self, t: datetime, user_id: str, event: str, outcome: str, *, method="password",
                     reason=None, ip=None, place=None, device=None, captured=True) -> None:
        uid, name, _, home, kind, home_ip = self.person(user_id)
        record = {"id": f"acc_{len(self.access) + 1:06d}", "occurred_at": stamp(t), "event": event,
                  "outcome": outcome, "user": {"id": uid, "email": email(name)}, "method": method}
        if reason:
            record["reason"] = reason
        if captured:  # some sign-ins come from a workspace with IP/location capture turned off
            record["ip"] = ip or home_ip
            record["location"] = PLACES[place or home]
            record["device"] = device or {"id": f"dev_{uid[-3:]}{kind}", "user_agent": UA[kind]}
        self.access.append(record)

    def routine(self) -> None:
        """Ordinary days: sign-ins, appointments, assignments, invoices."""
        staff = ["usr_0001", "usr_0002", "usr_0003", "usr_0004", "usr_0005", "usr_0006"]
        interpreters = ["usr_0101", "usr_0102", "usr_0103", "usr_0104"]
        for day in range(60):
            base = START + timedelta(days=day)
            if MISSING_EXPORT[0] <= base.date() <= MISSING_EXPORT[1]:
                continue
            weekend = base.weekday() >= 5
            for uid in (staff[:2] if weekend else staff + interpreters):
                if uid == "usr_0101" and base > LEE_REMOVED:
                    continue
                if uid == "usr_0003" and base > datetime(2026, 11, 12, tzinfo=UTC):
                    continue
                t = base + timedelta(hours=self.rnd.uniform(-4, 1))
                self.access_event(t, uid, "signin.succeeded", "success", captured=self.rnd.random() > 0.08)
                if self.rnd.random() < 0.05:
                    self.access_event(t - timedelta(minutes=2), uid, "signin.failed", "failure",
                                      reason="invalid_password")
            for _ in range(self.rnd.randint(1, 2) if weekend else self.rnd.randint(4, 9)):
                self.appointment(base - timedelta(minutes=self.rnd.randint(0, 480)), interpreters)
            if day % 7 == 3:
                self.audit_event(base + timedelta(hours=3), "usr_0002", "invoice.updated",
                                 {"type": "invoice", "id": f"INV-{2000 + day}"},
                                 {"status": {"from": "draft", "to": "sent"},
                                  "total_cents": {"from": 41250, "to": 43900}})
        self.audit_event(START + timedelta(days=20, hours=2), "usr_0001", "rate_rule.changed",
                         {"type": "rate_rule", "id": "RR-ASL-AFTERHOURS"},
                         {"multiplier": {"from": 1.5, "to": 1.75}})
        self.audit_event(START + timedelta(days=33, hours=5), "usr_0002", "template.changed",
                         {"type": "template", "id": "TPL-CONFIRMATION"},
                         {"body": {"from": "Your interpreter is confirmed.",
                                   "to": "Your interpreter {name} is confirmed."}})
        self.audit_event(START + timedelta(days=41, hours=1), "usr_0006", "compliance_document.uploaded",
                         {"type": "compliance_document", "id": "DOC-HIPAA-2026"},
                         related=[{"type": "interpreter", "id": "INT-0102"}])

    def appointment(self, t: datetime, interpreters: list[str]) -> None:
        apt = f"APT-{self.rnd.randint(1100, 1999)}"
        scheduler = self.rnd.choice(["usr_0004", "usr_0005"])
        start = (t + timedelta(days=self.rnd.randint(2, 20))).replace(minute=0, second=0, microsecond=0)
        self.audit_event(t, scheduler, "appointment.created", {"type": "appointment", "id": apt},
                         {"start_time": {"from": None, "to": stamp(start)},
                          "language": {"from": None, "to": self.rnd.choice(["ASL", "Spanish", "Arabic"])}})
        who = self.rnd.choice([i for i in interpreters if i != "usr_0101" or t < LEE_REMOVED])
        self.audit_event(t + timedelta(minutes=7), scheduler, "interpreter.assigned",
                         {"type": "appointment", "id": apt},
                         related=[{"type": "interpreter", "id": "INT-" + who[-4:]}])

    def contested_appointment(self) -> None:
        apt = {"type": "appointment", "id": "APT-1042"}
        t = datetime(2026, 11, 3, 15, 4, tzinfo=UTC)
        self.audit_event(t, "usr_0004", "appointment.created", apt,
                         {"start_time": {"from": None, "to": "2026-11-20T15:00:00Z"},
                          "location": {"from": None, "to": "Mercy General, Clinic 4"},
                          "patient_ref": {"from": None, "to": "PT-88213"}})
        self.audit_event(t + timedelta(minutes=9), "usr_0004", "interpreter.assigned", apt,
                         related=[{"type": "interpreter", "id": "INT-0102"}])
        self.audit_event(datetime(2026, 11, 10, 9, 12, tzinfo=UTC), "usr_0005", "appointment.edited", apt,
                         {"start_time": {"from": "2026-11-20T15:00:00Z", "to": "2026-11-21T16:30:00Z"}})
        self.audit_event(datetime(2026, 11, 10, 9, 14, tzinfo=UTC), "usr_0005", "interpreter.unassigned",
                         apt, related=[{"type": "interpreter", "id": "INT-0102"}])
        self.audit_event(datetime(2026, 11, 10, 9, 15, tzinfo=UTC), "usr_0005", "interpreter.assigned",
                         apt, related=[{"type": "interpreter", "id": "INT-0103"}])
        self.audit_event(datetime(2026, 11, 12, 17, 40, tzinfo=UTC), "usr_0002", "appointment.canceled", apt,
                         {"status": {"from": "scheduled", "to": "canceled"},
                          "cancel_reason": {"from": None, "to": "client request by phone"}})
        self.audit_event(datetime(2026, 11, 13, 8, 2, tzinfo=UTC), "usr_0004", "appointment.edited", apt,
                         {"status": {"from": "canceled", "to": "scheduled"},
                          "start_time": {"from": "2026-11-21T16:30:00Z", "to": "2026-11-20T15:00:00Z"}})

    def brute_force(self) -> None:
        t = datetime(2026, 11, 17, 3, 12, tzinfo=UTC)
        bot = {"id": "dev_unknown_9f", "user_agent": UA["curl"]}
        for i in range(9):
            self.access_event(t + timedelta(seconds=41 * i), "usr_0006", "signin.failed", "failure",
                              reason="invalid_password", ip=ATTACKER_IP, place="lag", device=bot)
        self.access_event(t + timedelta(minutes=7), "usr_0006", "signin.succeeded", "success",
                          ip=ATTACKER_IP, place="lag", device=bot)
        self.access_event(datetime(2026, 11, 17, 14, 5, tzinfo=UTC), "usr_0006",
                          "password_reset.requested", "success")
        self.access_event(datetime(2026, 11, 17, 14, 9, tzinfo=UTC), "usr_0006",
                          "password_reset.completed", "success")

    def returning_interpreter(self) -> None:
        lee = {"type": "user", "id": "usr_0101", "email": email("Lee Park")}
        self.audit_event(LEE_REMOVED, "usr_0002", "user.removed", lee,
                         {"status": {"from": "active", "to": "removed"}})
        self.access_event(datetime(2026, 11, 9, 13, 55, tzinfo=UTC), "usr_0101", "signin.failed",
                          "failure", reason="account_disabled")
        self.access_event(datetime(2026, 11, 9, 13, 57, tzinfo=UTC), "usr_0101", "sso.succeeded",
                          "success", method="sso")
        self.audit_event(datetime(2026, 11, 9, 14, 3, tzinfo=UTC), "usr_0101", "interpreter.assigned",
                         {"type": "appointment", "id": "APT-1877"},
                         related=[{"type": "interpreter", "id": "INT-0101"}])

    def clean_offboarding(self) -> None:
        olivia = {"type": "user", "id": "usr_0003", "email": email("Olivia Grant")}
        self.audit_event(datetime(2026, 11, 12, 15, 0, tzinfo=UTC), "usr_0001", "user.role_changed",
                         olivia, {"role": {"from": "admin", "to": "scheduler"}})
        self.audit_event(datetime(2026, 11, 12, 15, 20, tzinfo=UTC), "usr_0001", "user.removed",
                         olivia, {"status": {"from": "active", "to": "removed"}})
        self.audit_event(datetime(2026, 11, 14, 10, 0, tzinfo=UTC), "usr_0001", "user.invited",
                         {"type": "user", "id": "usr_0007", "email": "jordan.lee@" + DOMAIN},
                         {"role": {"from": None, "to": "admin"}})


def build() -> Workspace:
    ws = Workspace()
    ws.routine()
    ws.contested_appointment()
    ws.brute_force()
    ws.returning_interpreter()
    ws.clean_offboarding()
    for records in (ws.audit, ws.access):
        records.sort(key=lambda r: (r["occurred_at"], r["id"]))
    return ws


def write(ws: Workspace, folder: Path) -> None:
    for name, records in (("audit", ws.audit), ("access", ws.access)):
        with (folder / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        parquet_format.write(records, name, folder / f"{name}.parquet")


if __name__ == "__main__":
    workspace = build()
    write(workspace, HERE)
    print(f"wrote {len(workspace.audit)} audit and {len(workspace.access)} access events to {HERE}")
