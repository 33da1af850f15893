"""Small fixture builders: access and audit records at given minutes, written as files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fluentlog import parquet_format

T0 = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
PLACES = {"nyc": ("US", "New York", 40.71, -74.01), "lon": ("GB", "London", 51.51, -0.13),
          "bos": ("US", "Boston", 42.36, -71.06), "par": ("FR", "Paris", 48.86, 2.35)}
_count = [0]


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def access(minutes: float, outcome: str = "success", email: str = "dana@x.example", ip: str | None = "198.51.100.1",
           place: str | None = "nyc", device: str | None = "dev_1", event: str | None = None,
           coords: bool = True) -> dict[str, Any]:
    _count[0] += 1
    record: dict[str, Any] = {
        "id": f"acc_{_count[0]:05d}", "occurred_at": at(minutes),
        "event": event or ("signin.succeeded" if outcome == "success" else "signin.failed"),
        "outcome": outcome, "user": {"id": "usr_" + email.split("@")[0], "email": email}}
    if ip:
        record["ip"] = ip
    if place:
        country, city, lat, lon = PLACES[place]
        record["location"] = {"country": country, "city": city, **({"lat": lat, "lon": lon} if coords else {})}
    if device:
        record["device"] = {"id": device, "user_agent": "UA"}
    return record


def audit(minutes: float, action: str, actor: str, entity: tuple[str, str], email: str | None = None,
          changes: dict | None = None, related: list | None = None) -> dict[str, Any]:
    _count[0] += 1
    record: dict[str, Any] = {
        "id": f"aud_{_count[0]:05d}", "occurred_at": at(minutes), "action": action,
        "actor": {"id": "usr_" + actor.split("@")[0], "email": actor, "name": actor.split("@")[0].title(),
                  "role": "admin"},
        "entity": {"type": entity[0], "id": entity[1], **({"email": email} if email else {})},
        "context": {"ip": "203.0.113.7"}}
    if changes:
        record["changes"] = changes
    if related:
        record["related"] = related
    return record


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def write_parquet(folder: Path, records: list[dict[str, Any]]) -> list[Path]:
    paths = []
    for stream, key in (("audit", "action"), ("access", "event")):
        chosen = [r for r in records if key in r]
        if chosen:
            paths.append(folder / f"{stream}.parquet")
            parquet_format.write(chosen, stream, paths[-1])
    return paths
