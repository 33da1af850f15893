"""Sign-in findings, as pure functions over one account's (or one IP's) events in time order.

Each event is a dict with occurred_at, email, event, outcome, ip, country, city, lat, lon,
device_id. Thresholds come from config.Detect. A finding is reported when its last event
falls in the selected range; earlier events serve as history (baseline, bursts).
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fluentlog.config import Detect

Event = dict[str, Any]
Finding = dict[str, Any]
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def is_signin(e: Event) -> bool:
    return (e.get("event") or "").startswith(("signin.", "sso."))


def succeeded(e: Event) -> bool:
    return is_signin(e) and (e.get("outcome") or "").lower() == "success"


def failed(e: Event) -> bool:
    return is_signin(e) and (e.get("outcome") or "").lower() == "failure"


def finding(kind: str, severity: str, events: list[Event], detail: str, count: int | None = None,
            ip: str | None = None, country: str | None = None) -> Finding:
    return {"kind": kind, "severity": severity, "first_at": events[0]["occurred_at"],
            "last_at": events[-1]["occurred_at"], "count": count if count is not None else len(events),
            "ip": ip, "country": country, "detail": detail}


def _most_common(values: list[Any]) -> Any:
    present = [v for v in values if v]
    return Counter(present).most_common(1)[0][0] if present else None


def _clusters(events: list[Event], window: timedelta, enough: Callable[[list[Event]], bool]) -> list[list[Event]]:
    """Runs of events no more than `window` apart that hold, within some span of `window`,
    enough events (as `enough` judges): the bursts."""
    runs: list[list[Event]] = []
    for e in events:
        if runs and e["occurred_at"] - runs[-1][-1]["occurred_at"] <= window:
            runs[-1].append(e)
        else:
            runs.append([e])
    bursts = []
    for run in runs:
        start = 0
        for end in range(len(run)):
            while run[end]["occurred_at"] - run[start]["occurred_at"] > window:
                start += 1
            if enough(run[start:end + 1]):
                bursts.append(run)
                break
    return bursts


def repeated_failures(events: list[Event], d: Detect) -> list[tuple[list[Event], Finding]]:
    bursts = []
    by_account: dict[str, list[Event]] = {}
    for e in events:
        if failed(e):
            by_account.setdefault((e.get("email") or "").lower(), []).append(e)
    for account, failures in by_account.items():
        window = timedelta(minutes=d.failures_window_minutes)
        for burst in _clusters(failures, window, lambda span: len(span) >= d.failures):
            ip = _most_common([e.get("ip") for e in burst])
            country = _most_common([e.get("country") for e in burst])
            minutes = (burst[-1]["occurred_at"] - burst[0]["occurred_at"]).total_seconds() / 60
            where = f" from {ip}" + (f" ({country})" if country else "") if ip else ""
            detail = f"{len(burst)} failed sign-ins of {account} within {minutes:.0f} min{where}."
            bursts.append((burst, finding("repeated_failures", "medium", burst, detail, ip=ip, country=country)))
    return bursts


def success_after_failures(events: list[Event], bursts: list[tuple[list[Event], Finding]],
                           d: Detect) -> list[Finding]:
    found = []
    for burst, _ in bursts:
        account, end = (burst[0].get("email") or "").lower(), burst[-1]["occurred_at"]
        after = [e for e in events if succeeded(e) and (e.get("email") or "").lower() == account
                 and end < e["occurred_at"] <= end + timedelta(minutes=d.success_after_minutes)]
        if after:
            ok = after[0]
            gap = (ok["occurred_at"] - end).total_seconds() / 60
            detail = (f"Successful sign-in {gap:.0f} min after {len(burst)} failures"
                      + (f", from {ok['ip']}" if ok.get("ip") else "")
                      + (" (the same IP as the failures)." if ok.get("ip") and
                         ok.get("ip") == _most_common([e.get("ip") for e in burst]) else "."))
            found.append(finding("success_after_failures", "high", [*burst, ok], detail, count=len(burst),
                                 ip=ok.get("ip"), country=ok.get("country")))
    return found


def novelty(events: list[Event], d: Detect, in_range: Callable[[Event], bool]) -> list[Finding]:
    """new_country (medium), new_ip (low), new_device (low) against a 90-day baseline.

    The baseline is the account's earlier *successful* sign-ins: an attacker's failed
    attempts from a place must not make that place look familiar."""
    found = []
    checks = (("new_country", "medium", "country"), ("new_ip", "low", "ip"), ("new_device", "low", "device_id"))
    lookback = timedelta(days=d.baseline_days)
    # A sliding window over the earlier successes (events are in time order), with a count
    # of each value in it: each sign-in is judged in constant time, not against a list.
    window: deque[Event] = deque()
    seen: dict[str, Counter[Any]] = {key: Counter() for _, _, key in checks}
    for e in events:
        if not succeeded(e):
            continue
        while window and e["occurred_at"] - window[0]["occurred_at"] > lookback:
            old = window.popleft()
            for _, _, key in checks:
                if old.get(key):
                    seen[key][old[key]] -= 1
                    if not seen[key][old[key]]:
                        del seen[key][old[key]]
        if in_range(e) and len(window) >= d.baseline_successes:
            for kind, severity, key in checks:
                value = e.get(key)
                if value and value not in seen[key]:
                    known = sorted(str(v) for v in seen[key])
                    shown = ", ".join(known[:5]) + (" ..." if len(known) > 5 else "")
                    detail = (f"Successful sign-in with {key.replace('_id', '')} {value}, not seen in the previous "
                              f"{d.baseline_days} days" + (f" (seen: {shown})." if shown else "."))
                    found.append(finding(kind, severity, [e], detail, ip=e.get("ip"), country=e.get("country")))
        window.append(e)
        for _, _, key in checks:
            if e.get(key):
                seen[key][e[key]] += 1
    return found


def impossible_travel(events: list[Event], d: Detect, in_range: Callable[[Event], bool]) -> list[Finding]:
    found = []
    successes = [e for e in events if succeeded(e)]
    for before, after in zip(successes, successes[1:], strict=False):
        if not in_range(after):
            continue
        hours = (after["occurred_at"] - before["occurred_at"]).total_seconds() / 3600
        km = _distance_km(before, after)
        if km is not None:
            speed = math.inf if hours == 0 else km / hours
            if km < 1 or speed <= d.travel_kmh:
                continue
            how = f"{km:,.0f} km apart in {_duration(hours)}" + ("" if hours == 0 else f" ({speed:,.0f} km/h)")
        elif before.get("country") and after.get("country") and before["country"] != after["country"] \
                and hours < d.travel_country_hours:
            how = f"different countries {_duration(hours)} apart"
        else:
            continue
        detail = f"Sign-in from {_place(after)} at {_at(after)} after {_place(before)} at {_at(before)}: {how}."
        found.append(finding("impossible_travel", "high", [before, after], detail, count=2,
                             ip=after.get("ip"), country=after.get("country")))
    return found


def password_spray(events: list[Event], d: Detect) -> list[Finding]:
    failures = [e for e in events if failed(e)]
    window = timedelta(minutes=d.spray_window_minutes)
    found = []
    for burst in _clusters(failures, window,
                           lambda span: len({(e.get("email") or "").lower() for e in span}) >= d.spray_accounts):
        accounts = {(e.get("email") or "").lower() for e in burst}
        ip = _most_common([e.get("ip") for e in burst])
        detail = f"{len(burst)} failed sign-ins against {len(accounts)} accounts from {ip}."
        found.append(finding("password_spray", "high", burst, detail, count=len(accounts), ip=ip,
                             country=_most_common([e.get("country") for e in burst])))
    return found


def _distance_km(a: Event, b: Event) -> float | None:
    if None in (a.get("lat"), a.get("lon"), b.get("lat"), b.get("lon")):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a["lat"], a["lon"], b["lat"], b["lon"]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def _place(e: Event) -> str:
    parts = [p for p in (e.get("city"), e.get("country")) if p]
    return ", ".join(parts) if parts else (e.get("ip") or "an unknown place")


def _at(e: Event) -> str:
    moment: datetime = e["occurred_at"]
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _duration(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
