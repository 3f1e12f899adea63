"""The .ics parts: an invite and the cancel withdrawing it, as calendar clients read them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from icalendar import Calendar

from bot.notifications import ics
from bot.notifications.notice import Notice

SEOUL = timezone(timedelta(hours=9))
STAMP = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
APPROVED = Notice(
    kind="approved",
    actor="UADMIN",
    at=STAMP,
    booking_id=42,
    room_id="102",
    room_name="Small room",
    # given in Seoul time: the calendar must say 00:00 UTC
    starts_at=datetime(2026, 12, 1, 9, tzinfo=SEOUL),
    ends_at=datetime(2026, 12, 1, 10, tzinfo=SEOUL),
    booker="UBOB",
    title="Weekly sync",
    sequence=0,
)
CANCELLED = dataclasses.replace(APPROVED, kind="cancelled", was_approved=True, sequence=1)


def parse(data: bytes) -> tuple[Calendar, Any]:
    calendar = Calendar.from_ical(data)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def test_invite_is_a_request_in_utc() -> None:
    uid = ics.uid(42, "a1b2c3", "example.com")
    calendar, event = parse(
        ics.calendar(APPROVED, "rooms@example.com", "bob@example.com", event_uid=uid)
    )
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == "booking-42-a1b2c3@example.com"
    assert int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTEND") == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert "DTSTART:20261201T000000Z" in event.to_ical().decode()
    assert event.decoded("DTSTAMP") == STAMP
    assert str(event["SUMMARY"]) == "Weekly sync"
    assert str(event["LOCATION"]) == "Small room"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["ORGANIZER"]) == "mailto:rooms@example.com"
    assert str(event["ATTENDEE"]) == "mailto:bob@example.com"


def test_cancel_withdraws_the_same_event_with_a_higher_sequence() -> None:
    _, invite = parse(ics.calendar(APPROVED))
    calendar, cancel = parse(ics.calendar(CANCELLED))
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(cancel["UID"]) == str(invite["UID"]) == "booking-42@roombot"
    assert int(cancel["SEQUENCE"]) > int(invite["SEQUENCE"])
    assert str(cancel["STATUS"]) == "CANCELLED"
    assert cancel.decoded("DTSTART") == invite.decoded("DTSTART")


def test_rows_written_without_a_sequence_still_order_invite_before_cancel() -> None:
    _, invite = parse(ics.calendar(dataclasses.replace(APPROVED, sequence=0)))
    _, cancel = parse(ics.calendar(dataclasses.replace(CANCELLED, sequence=0)))
    assert int(invite["SEQUENCE"]) < int(cancel["SEQUENCE"])


def test_the_same_notice_gives_the_same_bytes() -> None:
    """A retried email carries an identical attachment."""
    assert ics.calendar(APPROVED) == ics.calendar(APPROVED)


def test_an_untitled_booking_is_named_after_its_room() -> None:
    _, event = parse(ics.calendar(dataclasses.replace(APPROVED, title="")))
    assert str(event["SUMMARY"]) == "Room 102 (Small room)"
    _, plain = parse(ics.calendar(dataclasses.replace(APPROVED, title="", room_name="102")))
    assert str(plain["SUMMARY"]) == "Room 102"


def test_a_notice_that_changes_no_calendar_has_none() -> None:
    with pytest.raises(ValueError, match="changes no calendar"):
        ics.calendar(dataclasses.replace(APPROVED, kind="requested"))
