"""Validation of a booking request and the overlap rule of slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import events
from bot.domain.errors import InvalidBooking
from bot.domain.model import Booking, Room
from bot.domain.rules import BookingLimits, overlaps, validate_request

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
TOMORROW_9 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
SEOUL = ZoneInfo("Asia/Seoul")
ROOM = Room("102", "Board room", 10)


def request_fields(**changes: Any) -> dict[str, Any]:
    """A valid request (tomorrow 09:00-10:00), with ``changes`` applied."""
    fields: dict[str, Any] = {
        "starts_at": TOMORROW_9,
        "ends_at": TOMORROW_9 + timedelta(hours=1),
        "title": "Quarterly planning",
        "now": NOW,
        "limits": BookingLimits(),
    }
    fields.update(changes)
    return fields


def validate(**changes: Any) -> None:
    validate_request(**request_fields(**changes))


def request(**changes: Any) -> Booking:
    return Booking.request(room=ROOM, booker="UBOOKER", **request_fields(**changes))


def refusal(**changes: Any) -> InvalidBooking:
    """The error of ``validate_request``, checked to be the same as ``Booking.request``'s."""
    with pytest.raises(InvalidBooking) as by_rules:
        validate(**changes)
    with pytest.raises(InvalidBooking) as by_model:
        request(**changes)
    assert (by_model.value.field, by_model.value.message) == (
        by_rules.value.field,
        by_rules.value.message,
    )
    return by_rules.value


# --- a valid request ------------------------------------------------------------------------------


def test_a_valid_request_passes() -> None:
    validate()
    booking = request()
    assert (booking.starts_at, booking.ends_at) == (TOMORROW_9, TOMORROW_9 + timedelta(hours=1))


# --- time zones -----------------------------------------------------------------------------------


def test_a_naive_start_is_refused() -> None:
    error = refusal(starts_at=TOMORROW_9.replace(tzinfo=None))
    assert error.field == "start"
    assert error.message == "The start time has no time zone."


def test_a_naive_end_is_refused() -> None:
    error = refusal(ends_at=(TOMORROW_9 + timedelta(hours=1)).replace(tzinfo=None))
    assert error.field == "end"
    assert error.message == "The end time has no time zone."


def test_times_in_another_zone_are_stored_as_utc() -> None:
    starts = datetime(2026, 12, 2, 10, 0, tzinfo=SEOUL)  # 01:00 UTC
    booking = request(
        starts_at=starts,
        ends_at=starts + timedelta(minutes=90),
        now=NOW.astimezone(SEOUL),
    )

    assert booking.starts_at == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert booking.ends_at == datetime(2026, 12, 2, 2, 30, tzinfo=UTC)
    assert booking.requested_at == NOW
    for stored in (booking.starts_at, booking.ends_at, booking.requested_at):
        assert stored.tzinfo is UTC
    [event] = booking.events
    assert isinstance(event, events.BookingRequested)
    assert event.starts_at.tzinfo is UTC
    assert event.ends_at.tzinfo is UTC


def test_the_past_is_judged_across_time_zones() -> None:
    # 16:00 in Seoul on 1 December is 07:00 UTC, an hour before NOW.
    starts = datetime(2026, 12, 1, 16, 0, tzinfo=SEOUL)
    error = refusal(starts_at=starts, ends_at=starts + timedelta(hours=1))
    assert error.field == "start"
    assert error.message == "The start is in the past."


# --- start and end --------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [timedelta(0), -timedelta(minutes=1), -timedelta(hours=3)])
def test_the_end_must_be_after_the_start(length: timedelta) -> None:
    error = refusal(ends_at=TOMORROW_9 + length)
    assert error.field == "end"
    assert error.message == "The end must be after the start."


@pytest.mark.parametrize(
    "ago", [timedelta(microseconds=1), timedelta(minutes=1), timedelta(days=3)]
)
def test_the_start_cannot_be_in_the_past(ago: timedelta) -> None:
    starts = NOW - ago
    error = refusal(starts_at=starts, ends_at=starts + timedelta(hours=1))
    assert error.field == "start"
    assert error.message == "The start is in the past."


def test_a_booking_may_start_right_now() -> None:
    validate(starts_at=NOW, ends_at=NOW + timedelta(hours=1))


def test_the_clock_is_passed_in() -> None:
    later = TOMORROW_9 + timedelta(minutes=1)
    error = refusal(now=later)
    assert error.field == "start"
    validate(now=TOMORROW_9 - timedelta(minutes=1))


# --- length ---------------------------------------------------------------------------------------


def test_a_booking_is_at_most_8_hours_long_by_default() -> None:
    validate(ends_at=TOMORROW_9 + timedelta(hours=8))
    error = refusal(ends_at=TOMORROW_9 + timedelta(hours=8, minutes=1))
    assert error.field == "end"
    assert error.message == "A booking can be at most 8 hours long."


@pytest.mark.parametrize(
    ("limits", "allowed", "message"),
    [
        (
            BookingLimits(max_length=timedelta(hours=2)),
            timedelta(hours=2),
            "A booking can be at most 2 hours long.",
        ),
        (
            BookingLimits(max_length=timedelta(hours=1)),
            timedelta(hours=1),
            "A booking can be at most 1 hour long.",
        ),
        (
            BookingLimits.of(max_hours=1.5, horizon_days=90, max_title_length=150),
            timedelta(minutes=90),
            "A booking can be at most 1.5 hours long.",
        ),
    ],
)
def test_a_custom_maximum_length(limits: BookingLimits, allowed: timedelta, message: str) -> None:
    validate(ends_at=TOMORROW_9 + allowed, limits=limits)
    error = refusal(ends_at=TOMORROW_9 + allowed + timedelta(minutes=1), limits=limits)
    assert error.field == "end"
    assert error.message == message


# --- horizon --------------------------------------------------------------------------------------


def test_bookings_are_made_at_most_90_days_ahead_by_default() -> None:
    last = NOW + timedelta(days=90)
    validate(starts_at=last, ends_at=last + timedelta(hours=1))

    too_far = last + timedelta(minutes=1)
    error = refusal(starts_at=too_far, ends_at=too_far + timedelta(hours=1))
    assert error.field == "date"
    assert error.message == "Bookings can be made at most 90 days ahead."


def test_a_custom_horizon() -> None:
    limits = BookingLimits.of(max_hours=8, horizon_days=14, max_title_length=150)
    last = NOW + timedelta(days=14)
    validate(starts_at=last, ends_at=last + timedelta(hours=1), limits=limits)

    too_far = last + timedelta(days=1)
    error = refusal(starts_at=too_far, ends_at=too_far + timedelta(hours=1), limits=limits)
    assert error.field == "date"
    assert error.message == "Bookings can be made at most 14 days ahead."


# --- title ----------------------------------------------------------------------------------------


def test_a_title_of_exactly_150_characters_is_accepted() -> None:
    validate(title="t" * 150)
    assert request(title="t" * 150).title == "t" * 150


def test_a_title_over_150_characters_is_refused() -> None:
    error = refusal(title="t" * 151)
    assert error.field == "title"
    assert error.message == "The title is 151 characters long; the limit is 150."


def test_a_custom_title_limit() -> None:
    limits = BookingLimits(max_title_length=20)
    validate(title="t" * 20, limits=limits)
    error = refusal(title="t" * 21, limits=limits)
    assert error.field == "title"
    assert error.message == "The title is 21 characters long; the limit is 20."


def test_whitespace_in_a_title_is_collapsed() -> None:
    booking = request(title="  Weekly \t sync\n\nwith   the team ")
    assert booking.title == "Weekly sync with the team"
    [event] = booking.events
    assert isinstance(event, events.BookingRequested)
    assert event.title == "Weekly sync with the team"


def test_a_title_is_measured_after_collapsing_whitespace() -> None:
    padded = "a" * 75 + " " * 100 + "b" * 74  # 150 characters once collapsed
    assert request(title=padded).title == "a" * 75 + " " + "b" * 74


def test_an_empty_title_is_allowed() -> None:
    assert request(title="   ").title == ""


# --- which problem is reported first --------------------------------------------------------------


def test_problems_are_reported_in_the_order_a_user_fixes_them() -> None:
    starts = (NOW - timedelta(days=1)).replace(tzinfo=None)
    assert refusal(starts_at=starts, title="t" * 200).field == "start"  # naive before past
    assert refusal(ends_at=TOMORROW_9, title="t" * 200).field == "end"  # empty slot before title
    far = NOW + timedelta(days=200)
    assert refusal(starts_at=far, ends_at=far + timedelta(hours=9)).field == "end"  # length first


# --- overlaps: slots are [start, end) -------------------------------------------------------------


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 2, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((at(9), at(10)), (at(10), at(11)), False),  # touching: 10:00 is free again
        ((at(10), at(11)), (at(9), at(10)), False),
        ((at(9), at(10)), (at(11), at(12)), False),
        ((at(9), at(10)), (at(9, 59), at(11)), True),
        ((at(9), at(12)), (at(10), at(11)), True),  # containing
        ((at(9), at(10)), (at(9), at(10)), True),  # the same slot
        ((at(9), at(10)), (at(8), at(9, 1)), True),
    ],
)
def test_overlaps_of_half_open_slots(
    a: tuple[datetime, datetime], b: tuple[datetime, datetime], expected: bool
) -> None:
    assert overlaps(*a, *b) is expected


def test_a_booking_ending_at_ten_leaves_ten_free() -> None:
    booking = request(starts_at=at(9), ends_at=at(10))
    assert not booking.overlaps(at(10), at(11))
    assert not booking.overlaps(at(8), at(9))
    assert booking.overlaps(at(9, 30), at(9, 45))


def test_overlap_compares_instants_not_wall_clocks() -> None:
    seoul_10 = datetime(2026, 12, 2, 10, 0, tzinfo=SEOUL)  # 01:00 UTC
    assert overlaps(at(1), at(2), seoul_10, seoul_10 + timedelta(minutes=30))
    assert not overlaps(at(10), at(11), seoul_10, seoul_10 + timedelta(hours=1))


Interval = tuple[int, int]


@st.composite
def intervals(draw: st.DrawFn) -> Interval:
    """A non-empty slot of whole minutes within two hours."""
    start = draw(st.integers(min_value=0, max_value=120))
    length = draw(st.integers(min_value=1, max_value=60))
    return start, start + length


def as_times(interval: Interval) -> tuple[datetime, datetime]:
    start, end = interval
    return NOW + timedelta(minutes=start), NOW + timedelta(minutes=end)


@given(intervals(), intervals())
def test_overlap_is_symmetric_and_means_a_shared_minute(a: Interval, b: Interval) -> None:
    shared = set(range(*a)) & set(range(*b))

    assert overlaps(*as_times(a), *as_times(b)) is bool(shared)
    assert overlaps(*as_times(a), *as_times(b)) is overlaps(*as_times(b), *as_times(a))
