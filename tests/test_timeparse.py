"""--since/--until/--around parsing: exact instants, whole days, zones, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fluentlog.errors import UsageError
from fluentlog.timeparse import EARLIEST, LATEST, parse_around, parse_duration, parse_range, shifted

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_date_only_until_includes_the_whole_day_in_the_zone() -> None:
    r = parse_range("2026-11-20", "2026-11-20", "America/New_York", NOW)
    assert (r.since, r.until) == (datetime(2026, 11, 20, 5, tzinfo=UTC), datetime(2026, 11, 21, 5, tzinfo=UTC))
    assert r.contains(datetime(2026, 11, 21, 4, 59, 59, tzinfo=UTC))
    assert not r.contains(datetime(2026, 11, 21, 5, tzinfo=UTC))


def test_zoneless_times_are_read_in_the_zone_and_offsets_are_exact() -> None:
    r = parse_range("2026-11-20T10:00", "2026-11-20T12:00Z", "Europe/Berlin", NOW)
    assert r.since == datetime(2026, 11, 20, 9, tzinfo=UTC)
    assert r.contains(datetime(2026, 11, 20, 12, tzinfo=UTC))  # an explicit --until time is included


@pytest.mark.parametrize("text, delta", [("30m", timedelta(minutes=30)), ("24h", timedelta(hours=24)),
                                         ("7d", timedelta(days=7)), ("2w", timedelta(weeks=2))])
def test_relative_durations(text: str, delta: timedelta) -> None:
    assert parse_range(text, None, "UTC", NOW).since == NOW - delta


def test_months_years_today_yesterday() -> None:
    assert parse_range("6mo", None, "UTC", NOW).since == datetime(2026, 5, 25, 12, tzinfo=UTC)
    assert parse_range("1y", None, "UTC", NOW).since == datetime(2025, 11, 25, 12, tzinfo=UTC)
    r = parse_range("yesterday", "yesterday", "UTC", NOW)
    assert (r.since, r.until) == (datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))
    assert parse_range("today", None, "Asia/Tokyo", NOW).since == datetime(2026, 11, 24, 15, tzinfo=UTC)


@pytest.mark.parametrize("text", ["last tuesday", "2026-02-30", "12/11/2026", "7 days ago", "5x"])
def test_unreadable_input_is_a_usage_error_with_an_example(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_range(text, None, "UTC", NOW)
    assert "--since" in info.value.message and "2026-11-20" in info.value.hint


def test_since_after_until_is_refused() -> None:
    with pytest.raises(UsageError, match="is not before"):
        parse_range("2026-11-21", "2026-11-20", "UTC", NOW)


def test_around_with_window_and_clock_time() -> None:
    r = parse_around("2026-11-17T14:00", "30m", "America/New_York", NOW)
    assert r.center == datetime(2026, 11, 17, 19, tzinfo=UTC)
    assert r.since == datetime(2026, 11, 17, 18, 30, tzinfo=UTC)
    assert r.contains(datetime(2026, 11, 17, 19, 30, tzinfo=UTC))
    assert not r.contains(datetime(2026, 11, 17, 19, 30, 1, tzinfo=UTC))
    assert parse_around("14:00", None, "UTC", NOW).since == datetime(2026, 11, 25, 12, tzinfo=UTC)
    with pytest.raises(UsageError):
        parse_around("25:00", None, "UTC", NOW)
    with pytest.raises(UsageError, match="--window"):
        parse_duration("soon")


@given(st.datetimes(min_value=datetime(1991, 1, 1), max_value=datetime(2099, 1, 1),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                                               timezone(timedelta(hours=-8))])))
def test_any_iso_instant_round_trips(moment: datetime) -> None:
    parsed = parse_range(moment.isoformat(), None, "America/New_York", NOW).since
    assert parsed == moment.replace(microsecond=moment.microsecond)


def test_zero_duration_is_refused() -> None:
    with pytest.raises(UsageError, match="--since: cannot read '0d' as a duration"):
        parse_range("0d", None, "UTC", NOW)


@pytest.mark.parametrize("since, until", [
    (None, "9999-12-31"), (None, "9999-12-31T23:59:59.999999Z"), ("0001-01-01T00:00+05:00", None),
    ("0001-01-01", None), (None, "10000-01-01"),
])
def test_times_past_the_ends_of_the_calendar_are_usage_errors(since: str | None, until: str | None) -> None:
    """Python's datetime ends at the years 1 and 9999: the arithmetic (a whole day, a zone) raised
    OverflowError or ValueError, which the CLI reported as an internal error (exit 70)."""
    with pytest.raises(UsageError) as info:
        parse_range(since, until, "America/New_York", NOW)
    assert ("--since" if since else "--until") in info.value.message
    assert "0001-01-02 00:00 to 9999-12-31 00:00 UTC" in info.value.message or "cannot read" in info.value.message


def test_the_ends_themselves_are_accepted() -> None:
    r = parse_range("0001-01-02", "9999-12-30", "UTC", NOW)
    assert (r.since, r.until) == (EARLIEST, LATEST)


@pytest.mark.parametrize("text", ["5000y", "1001y", "12013mo", "99999999999y", "1000000d", "9" * 5000 + "m",
                                  "600000000m"])
def test_durations_are_at_most_a_thousand_years(text: str) -> None:
    with pytest.raises(UsageError, match="--since: .* is longer than 1,000 years"):
        parse_range(text, None, "UTC", NOW)
    with pytest.raises(UsageError, match="--window: .* is longer than 1,000 years"):
        parse_around("2026-11-17T14:00", text, "UTC", NOW)
    with pytest.raises(UsageError) as info:
        parse_duration(text, "--keep")
    assert len(info.value.message) < 100  # a runaway value is cut short: the error stays one line


def test_a_thousand_years_is_accepted() -> None:
    assert parse_range("1000y", None, "UTC", NOW).since == datetime(1026, 11, 25, 12, tzinfo=UTC)
    assert parse_duration("12000mo") == parse_duration("1000y")


def test_around_near_the_start_of_the_calendar_names_the_window() -> None:
    with pytest.raises(UsageError, match="--window: '2h either side of 0001-01-02T01:00Z'"):
        parse_around("0001-01-02T01:00Z", "2h", "UTC", NOW)


def test_shifted_stays_inside_the_calendar() -> None:
    assert shifted(EARLIEST, -timedelta(days=90)) == EARLIEST
    assert shifted(datetime(9999, 12, 30, tzinfo=UTC), timedelta(days=365_000)) == LATEST
    assert shifted(NOW, -timedelta(days=1)) == NOW - timedelta(days=1)


_ISO = r"\d{4,5}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?"
_TEXTS = (st.text(max_size=40) | st.from_regex(r"\d{1,30} ?(m|min|h|d|w|mo|y)", fullmatch=True)
          | st.from_regex(_ISO, fullmatch=True))


@given(_TEXTS, st.sampled_from(["UTC", "Pacific/Kiritimati", "Etc/GMT+12"]))
def test_any_text_is_a_time_or_a_usage_error(text: str, zone: str) -> None:
    """Never an OverflowError or ValueError, which the CLI can only call an internal error."""
    for call in (lambda: parse_range(text, None, zone, NOW), lambda: parse_range(None, text, zone, NOW),
                 lambda: parse_around(text, "2h", zone, NOW),
                 lambda: parse_around("2026-11-17T14:00", text, zone, NOW)):
        try:
            r = call()
        except UsageError:
            continue
        assert all(t is None or EARLIEST <= t <= LATEST for t in (r.since, r.until))
