"""The .ics attachments: an invite and the cancel withdrawing it, as calendar clients read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from icalendar import Calendar

from bot.adapters import ics

BOOKING: dict[str, Any] = {
    "booking_id": 42,
    "room_id": "102",
    "room_name": "Small room",
    # given in Seoul time: the calendar must say 00:00 UTC
    "starts_at": "2026-12-01T09:00:00+09:00",
    "ends_at": "2026-12-01T10:00:00+09:00",
    "title": "Weekly sync",
}
STAMP = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def parse(data: bytes) -> tuple[Calendar, Any]:
    calendar = Calendar.from_ical(data)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def test_invite_is_a_request_in_utc_with_a_stable_uid() -> None:
    calendar, event = parse(
        ics.invite(BOOKING, 0, "rooms@example.com", "bob@example.com", stamp=STAMP)
    )
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == "booking-42@roombot"
    assert int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTEND") == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert "DTSTART:20261201T000000Z" in event.to_ical().decode()
    assert str(event["SUMMARY"]) == "Weekly sync"
    assert str(event["LOCATION"]) == "Small room"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["ORGANIZER"]) == "mailto:rooms@example.com"
    assert str(event["ATTENDEE"]) == "mailto:bob@example.com"


def test_cancel_withdraws_the_same_event_with_a_higher_sequence() -> None:
    _, invite = parse(ics.invite(BOOKING, ics.INVITE_SEQUENCE, stamp=STAMP))
    calendar, cancel = parse(ics.cancel(BOOKING, ics.CANCEL_SEQUENCE, stamp=STAMP))
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(cancel["UID"]) == str(invite["UID"])
    assert int(cancel["SEQUENCE"]) > int(invite["SEQUENCE"])
    assert str(cancel["STATUS"]) == "CANCELLED"
    assert cancel.decoded("DTSTART") == invite.decoded("DTSTART")


def test_the_same_input_gives_the_same_bytes() -> None:
    """A retried email carries an identical attachment."""
    assert ics.invite(BOOKING, stamp=STAMP) == ics.invite(BOOKING, stamp=STAMP)


def test_an_untitled_booking_is_named_after_its_room() -> None:
    _, event = parse(ics.invite({**BOOKING, "title": ""}, stamp=STAMP))
    assert str(event["SUMMARY"]) == "Room 102 (Small room)"
    _, plain = parse(ics.invite({**BOOKING, "title": "", "room_name": "102"}, stamp=STAMP))
    assert str(plain["SUMMARY"]) == "Room 102"


def test_datetimes_are_accepted_as_well_as_iso_strings() -> None:
    seoul = timezone(timedelta(hours=9))
    booking = {
        **BOOKING,
        "starts_at": datetime(2026, 12, 1, 9, tzinfo=seoul),
        "ends_at": datetime(2026, 12, 1, 10, tzinfo=seoul),
    }
    assert ics.invite(booking, stamp=STAMP) == ics.invite(BOOKING, stamp=STAMP)
