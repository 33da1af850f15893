"""--since, --until, --around and --window: from what people type to exact UTC instants.

Pure functions (the current time is a parameter), property-tested. Zone-less input is
read in the given zone; results are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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
# Python's datetime ends at the years 1 and 9999; a day inside each end leaves room to show
# any instant in any zone. Stored events lie between 1990 and 2100, so nothing real is lost.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)
LIMITS = "fluentlog handles: 0001-01-02 00:00 to 9999-12-31 00:00 UTC"
MAX_YEARS = 1000  # the longest duration: more than any retention law or investigation asks for
_ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TimeRange:
    """[since, until): either end may be open (None)."""

    since: datetime | None = None
    until: datetime | None = None
    center: datetime | None = None  # --around: the time the user reported

    def contains(self, moment: datetime) -> bool:
        return (self.since is None or moment >= self.since) and (self.until is None or moment < self.until)


def parse_duration(text: str, option: str = "--window") -> relativedelta:
    """At most MAX_YEARS long, so that subtracting it from now (or adding it to any stored
    event's time) stays inside the calendar."""
    problem = duration_problem(text)
    if problem == _UNREADABLE:
        raise UsageError(f"{option}: cannot read {text!r} as a duration",
                         hint="use a number and a unit: 30m, 2h, 7d, 2w, 6mo or 1y")
    if problem:
        raise UsageError(f"{option}: {_shown(text)} {problem}",
                         hint="use a shorter duration such as 30m, 2h, 7d, 2w, 6mo or 6y")
    match = _DURATION.match(text)
    assert match is not None
    return _UNITS[match.group(2).lower()](int(match.group(1)))


_UNREADABLE = "is not a duration"


def duration_problem(text: str) -> str | None:
    """Why `text` is not a duration parse_duration accepts ("is ..."), or None."""
    match = _DURATION.match(text or "")
    digits = match.group(1).lstrip("0") if match else ""
    if not digits:  # no match, or zero
        return _UNREADABLE
    too_long = f"is longer than {MAX_YEARS:,} years"
    if len(digits) > 12:  # also keeps int() clear of Python's 4,300-digit limit
        return too_long
    span = _UNITS[match.group(2).lower()](int(digits))
    return None if _at_most(span, relativedelta(years=MAX_YEARS)) else too_long


def _at_most(span: relativedelta, limit: relativedelta) -> bool:
    try:
        return _ANCHOR + span <= _ANCHOR + limit
    except (OverflowError, ValueError):  # past the year 9999: far over any limit
        return False


def parse_range(since: str | None, until: str | None, zone: str, now: datetime) -> TimeRange:
    """A date-only or day-word --until includes that whole day."""
    start = parse_time(since, "--since", zone, now) if since else None
    end = parse_time(until, "--until", zone, now, end_of_day=True) if until else None
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
        center = parse_time(around, "--around", zone, now)
    span = parse_duration(window or "2h")
    shown = f"{(window or '2h').strip()} either side of {around.strip()}"
    since = _within(lambda: center - span, "--window", shown)
    until = _within(lambda: center + span + timedelta(microseconds=1), "--window", shown)
    return TimeRange(since, until, center)


def parse_time(text: str, option: str, zone: str, now: datetime, end_of_day: bool = False) -> datetime:
    """One time as people type it (see EXAMPLES), as a UTC instant between EARLIEST and LATEST.
    With `end_of_day`, a date or day word means the end of that day."""
    return _within(lambda: _parse(text, option, zone, now, end_of_day), option, text)


def _within(compute: Callable[[], datetime], option: str, text: str) -> datetime:
    """The instant `compute` gives, refused (naming the option) when it falls outside the calendar
    fluentlog can handle: Python raises OverflowError or ValueError at its ends."""
    try:
        moment = compute()
    except (OverflowError, ValueError):
        moment = None
    if moment is None or not EARLIEST <= moment <= LATEST:
        raise UsageError(f"{option}: {_shown(text)} lies outside the times {LIMITS}",
                         hint=_OUTSIDE_HINTS.get(option, "give a time such as 2026-11-20T14:05 or 7d"))
    return moment


_OUTSIDE_HINTS = {"--since": "leave --since out to search the whole loaded history",
                  "--until": "leave --until out for no end (a date alone as --until includes that whole day)",
                  "--window": "use a shorter --window, or an --around time nearer today"}


def shifted(moment: datetime, delta: timedelta) -> datetime:
    """moment + delta, held between EARLIEST and LATEST: a look-back or window reaching past
    the calendar's ends covers everything on that side (no event lies there)."""
    try:
        return min(max(moment + delta, EARLIEST), LATEST)
    except OverflowError:
        return LATEST if delta > timedelta(0) else EARLIEST


def _shown(text: str) -> str:
    """What the user typed, for a one-line message: a runaway value cut short."""
    text = text.strip()
    return repr(text if len(text) <= 40 else text[:30] + "...")


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
