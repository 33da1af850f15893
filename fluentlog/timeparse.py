"""--since, --until, --around and --window: from what people type to exact UTC instants.

Pure functions (the current time is a parameter), property-tested. Zone-less input is
read in the given zone; results are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.parser import isoparse
from dateutil.relativedelta import relativedelta

from fluentlog.errors import UsageError

EXAMPLES = "e.g. 2026-11-20, 2026-11-20T14:05, 2026-11-20T14:05:00Z, 7d, 24h, 30m, 2w, 6mo, 1y, today, yesterday"
_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w|mo|y)\s*$", re.IGNORECASE)
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_UNITS = {
    "m": lambda n: relativedelta(minutes=n), "min": lambda n: relativedelta(minutes=n),
    "h": lambda n: relativedelta(hours=n), "d": lambda n: relativedelta(days=n),
    "w": lambda n: relativedelta(weeks=n), "mo": lambda n: relativedelta(months=n),
    "y": lambda n: relativedelta(years=n),
}


@dataclass(frozen=True)
class TimeRange:
    """[since, until): either end may be open (None)."""

    since: datetime | None = None
    until: datetime | None = None
    center: datetime | None = None  # --around: the time the user reported

    def contains(self, moment: datetime) -> bool:
        return (self.since is None or moment >= self.since) and (self.until is None or moment < self.until)


def parse_duration(text: str, option: str = "--window") -> relativedelta:
    match = _DURATION.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"{option}: cannot read {text!r} as a duration",
                         hint="use a number and a unit: 30m, 2h, 7d, 2w, 6mo or 1y")
    return _UNITS[match.group(2).lower()](int(match.group(1)))


def parse_range(since: str | None, until: str | None, zone: str, now: datetime) -> TimeRange:
    """A date-only or day-word --until includes that whole day."""
    start = _parse(since, "--since", zone, now, end_of_day=False) if since else None
    end = _parse(until, "--until", zone, now, end_of_day=True) if until else None
    if start is not None and end is not None and start >= end:
        raise UsageError(f"--since ({since}) is not before --until ({until})")
    return TimeRange(start, end)


def parse_around(around: str, window: str | None, zone: str, now: datetime) -> TimeRange:
    """[TIME - WINDOW, TIME + WINDOW]; TIME may also be a clock time today (14:00)."""
    clock = _CLOCK.match(around)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            raise UsageError(f"--around: {around!r} is not a time of day", hint="e.g. 14:00")
        today = now.astimezone(ZoneInfo(zone)).date()
        center = datetime.combine(today, time(hour, minute), ZoneInfo(zone)).astimezone(UTC)
    else:
        center = _parse(around, "--around", zone, now, end_of_day=False)
    span = parse_duration(window or "2h")
    return TimeRange(center - span, center + span + timedelta(microseconds=1), center)


def _parse(text: str, option: str, zone: str, now: datetime, end_of_day: bool) -> datetime:
    tz = ZoneInfo(zone)
    word = text.strip().lower()
    if word in ("today", "yesterday", "now"):
        if word == "now":
            return now.astimezone(UTC)
        day = now.astimezone(tz).date() - timedelta(days=1 if word == "yesterday" else 0)
        return _day_bound(day, tz, end_of_day)
    if _DURATION.match(word):
        return (now - parse_duration(word, option)).astimezone(UTC)
    try:
        parsed = isoparse(text.strip())
    except (ValueError, OverflowError):
        raise UsageError(f"{option}: cannot read {text!r} as a time", hint=EXAMPLES) from None
    if _is_date_only(text):
        return _day_bound(parsed.date(), tz, end_of_day)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    moment = parsed.astimezone(UTC)
    return moment + timedelta(microseconds=1) if end_of_day else moment


def _is_date_only(text: str) -> bool:
    return re.fullmatch(r"\s*\d{4}-?\d{2}-?\d{2}\s*", text) is not None


def _day_bound(day: date, tz: ZoneInfo, end_of_day: bool) -> datetime:
    if end_of_day:
        day += timedelta(days=1)
    return datetime.combine(day, time(0, 0), tz).astimezone(UTC)
