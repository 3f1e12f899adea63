"""The one-reminder and one-nudge rules of the Booking aggregate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import events
from bot.domain.model import Booking, BookingStatus

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def booking(status: BookingStatus) -> Booking:
    b = Booking(
        "102", NOW + timedelta(minutes=10), NOW + timedelta(hours=1), "UB", "", NOW, status=status
    )
    b.id = 7
    return b


def test_an_approved_booking_is_reminded_once() -> None:
    b = booking(BookingStatus.APPROVED)
    b.remind(NOW)
    b.remind(NOW + timedelta(minutes=1))
    [event] = b.events
    assert isinstance(event, events.BookingReminderDue)
    assert event.starts_in_minutes == 10 and event.booking_id == 7 and b.reminded_at == NOW


def test_only_approved_bookings_are_reminded_and_only_pending_ones_nudged() -> None:
    for status in BookingStatus:
        b = booking(status)
        b.remind(NOW)
        b.nudge(NOW + timedelta(hours=2))
        kinds = [type(e) for e in b.events]
        assert (events.BookingReminderDue in kinds) == (status == BookingStatus.APPROVED)
        assert (events.ApprovalOverdue in kinds) == (status == BookingStatus.PENDING)


def test_a_pending_request_is_nudged_once_with_its_waiting_time() -> None:
    b = booking(BookingStatus.PENDING)
    b.nudge(NOW + timedelta(hours=2, minutes=5))
    b.nudge(NOW + timedelta(hours=3))
    [event] = b.events
    assert isinstance(event, events.ApprovalOverdue) and event.waiting_minutes == 125
