"""Repeat patterns: the RRULE they make and the occurrences it gives, on wall-clock time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.errors import InvalidBooking
from bot.domain.recurrence import Frequency, Repeat, expand, occurrences

SEOUL = ZoneInfo("Asia/Seoul")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
HORIZON = timedelta(days=90)


def test_weekly_on_chosen_weekdays_for_n_times() -> None:
    start = datetime(2026, 12, 7, 10, 0, tzinfo=SEOUL)  # a Monday
    repeat = Repeat(Frequency.WEEKLY, weekdays=(0, 2), count=4)
    rule, slots = occurrences(
        repeat, start, start + timedelta(hours=1), SEOUL, now=NOW, horizon=HORIZON
    )
    assert rule == "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4"
    assert [s.astimezone(SEOUL).strftime("%a %d %H:%M") for s, _ in slots] == [
        "Mon 07 10:00",
        "Wed 09 10:00",
        "Mon 14 10:00",
        "Wed 16 10:00",
    ]
    assert all(e - s == timedelta(hours=1) for s, e in slots)


def test_every_two_weeks_until_a_date_includes_that_day() -> None:
    start = datetime(2026, 12, 3, 9, 0, tzinfo=SEOUL)  # a Thursday
    repeat = Repeat(Frequency.WEEKLY, interval=2, until=date(2026, 12, 31))
    rule, slots = occurrences(
        repeat, start, start + timedelta(minutes=30), SEOUL, now=NOW, horizon=HORIZON
    )
    assert rule.startswith("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;UNTIL=20261231T")
    assert [s.astimezone(SEOUL).day for s, _ in slots] == [3, 17, 31]


def test_daily_keeps_the_wall_clock_across_a_clock_change() -> None:
    start = datetime(2027, 3, 26, 9, 0, tzinfo=BERLIN)  # summer time starts on the 28th
    slots = expand("FREQ=DAILY;COUNT=4", start, start + timedelta(hours=1), BERLIN)
    assert [s.astimezone(BERLIN).hour for s, _ in slots] == [9, 9, 9, 9]
    assert [s.hour for s, _ in slots] == [8, 8, 7, 7]


def test_patterns_that_cannot_be_booked_are_refused_on_their_field() -> None:
    start = datetime(2026, 12, 7, 10, 0, tzinfo=SEOUL)
    end = start + timedelta(hours=1)
    with pytest.raises(InvalidBooking) as beyond:
        occurrences(Repeat(Frequency.WEEKLY, count=30), start, end, SEOUL, now=NOW, horizon=HORIZON)
    assert beyond.value.code == "series_beyond_horizon"
    with pytest.raises(InvalidBooking) as single:
        occurrences(
            Repeat(Frequency.DAILY, until=date(2026, 12, 7)),
            start,
            end,
            SEOUL,
            now=NOW,
            horizon=HORIZON,
        )
    assert single.value.code == "single_occurrence"
    with pytest.raises(InvalidBooking) as neither:
        Repeat(Frequency.DAILY)
    assert neither.value.field == "repeat_end"
    with pytest.raises(InvalidBooking) as too_many:
        Repeat(Frequency.DAILY, count=53)
    assert too_many.value.code == "count_invalid"
    with pytest.raises(InvalidBooking):
        Repeat(Frequency.DAILY, weekdays=(1,), count=3)
