"""Durations are real elapsed time; an end at midnight or before the start is the next day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.errors import InvalidBooking
from bot.domain.rules import BookingLimits, elapsed, validate_request
from bot.views import ids
from bot.views.booking_modal import end_day, read_booking, to_aware, wall_clock
from tests.e2e.slack_client import booking_values

BERLIN = ZoneInfo("Europe/Berlin")
LIMITS = BookingLimits(max_length=timedelta(hours=8))
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def berlin(day: date, hour: int, minute: int = 0) -> datetime:
    found = to_aware(day, time(hour, minute), BERLIN)
    assert found is not None
    return found


def check(starts_at: datetime, ends_at: datetime) -> None:
    validate_request(starts_at=starts_at, ends_at=ends_at, title="", now=NOW, limits=LIMITS)


def test_the_autumn_night_is_nine_real_hours_and_refused() -> None:
    night = date(2026, 10, 25)  # 03:00 CEST -> 02:00 CET
    start, end = berlin(night, 1), berlin(night, 9)
    assert end - start == timedelta(hours=8)  # what Python's wall-clock subtraction says
    assert elapsed(start, end) == timedelta(hours=9)
    with pytest.raises(InvalidBooking, match="at most 8 hours") as refused:
        check(start, end)
    assert refused.value.field == "end"


def test_the_spring_night_is_seven_and_a_half_real_hours_and_accepted() -> None:
    night = date(2026, 3, 29)  # 02:00 CET -> 03:00 CEST
    start, end = berlin(night, 1), berlin(night, 9, 30)
    assert elapsed(start, end) == timedelta(hours=7, minutes=30)
    check(start, end)


def test_midnight_and_24_00_end_the_day() -> None:
    assert wall_clock("24:00") == time(0) and wall_clock("00:00") == time(0)
    assert wall_clock("9:05") == time(9, 5)
    for bad in ("24:01", "25:00", "9", "²:00", "09:60", "", "0９:00"):
        assert wall_clock(bad) is None, bad
    day = date(2026, 12, 1)
    assert end_day(day, time(22), time(0)) == date(2026, 12, 2)
    assert end_day(day, time(22), time(1)) == date(2026, 12, 2)
    assert end_day(day, time(9), time(10)) == day
    assert end_day(date.max, time(22), time(1)) is None


def test_times_without_a_utc_moment_do_not_exist() -> None:
    assert to_aware(date(1, 1, 1), time(0, 30), ZoneInfo("Asia/Tokyo")) is None
    assert to_aware(date(9999, 12, 31), time(23), ZoneInfo("America/New_York")) is None
    assert to_aware(date(2026, 3, 29), time(2, 30), BERLIN) is None  # the spring gap


def _modal(start: str, end: str, day: str = "2026-12-01", meta: str = '{"tz": "Europe/Berlin"}'):
    view = {"private_metadata": meta, "state": {"values": booking_values("102", day, start, end)}}
    return read_booking(view)


def test_the_modal_reads_an_end_before_the_start_as_the_next_day() -> None:
    form, errors, tz = _modal("22:00", "01:00")
    assert errors == {} and form is not None and tz == BERLIN
    assert form.starts_at == berlin(date(2026, 12, 1), 22)
    assert form.ends_at == berlin(date(2026, 12, 2), 1)
    form, _, _ = _modal("23:00", "00:00")
    assert form is not None and form.ends_at == berlin(date(2026, 12, 2), 0)


def test_the_modal_says_the_rule_for_the_next_day() -> None:
    from bot.services.ports import RoomRow
    from bot.views.booking_modal import booking_modal

    view = booking_modal([RoomRow("102", "Small", 4, True)], BERLIN, NOW)
    assert "next day" in str(view["blocks"])


@pytest.mark.parametrize(
    "meta", ["not json", "[1]", '{"tz": "Mars/Olympus"}', '{"tz": "../../etc/passwd"}', "null"]
)
def test_tampered_metadata_is_a_field_error(meta: str) -> None:
    form, errors, _ = _modal("09:00", "10:00", meta=meta)
    assert form is None and "out of date" in errors[ids.DATE_BLOCK]


@pytest.mark.parametrize("day", ["2026-02-30", "²", "9999-12-31", "not a date"])
def test_impossible_days_are_field_errors(day: str) -> None:
    form, errors, _ = _modal("23:30", "00:30", day=day, meta='{"tz": "America/New_York"}')
    assert form is None and errors
