"""Changing a booking (reschedule, extend, shorten, re-room, retitle, end now), checking in and
releasing: every move the domain allows, and every one it refuses."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.domain import events
from bot.domain.errors import InvalidBooking, InvalidTransition, NotAllowed, RoomInactive
from bot.domain.model import Booking, BookingStatus, Room, WaitlistEntry, WaitlistStatus
from bot.domain.rules import BookingLimits
from tests.unit.test_domain import (
    ADMIN,
    BOOKER,
    DECIDED,
    ENDS,
    STARTS,
    STRANGER,
    WINDOW,
    board_room,
    booking_in,
)

PENDING = BookingStatus.PENDING
APPROVED = BookingStatus.APPROVED
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
FOCUS = Room("201", "Focus room", 2)


def change(
    booking: Booking,
    *,
    room: Room | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    title: str | None = None,
    by: str = BOOKER,
    at: datetime = DECIDED,
    is_admin: bool = False,
) -> bool:
    return booking.change(
        room=room or board_room(),
        starts_at=booking.starts_at if starts_at is None else starts_at,
        ends_at=booking.ends_at if ends_at is None else ends_at,
        title=booking.title if title is None else title,
        by=by,
        at=at,
        limits=BookingLimits(),
        is_admin=is_admin,
    )


def changed_event(booking: Booking) -> events.BookingChanged:
    [event] = booking.events
    assert isinstance(event, events.BookingChanged)
    return event


# --- what stays approved, what asks again -------------------------------------------------------


@pytest.mark.parametrize(
    ("what", "kwargs"),
    [
        ("shorter at the end", {"ends_at": ENDS - 30 * MINUTE}),
        ("shorter at the start", {"starts_at": STARTS + 30 * MINUTE}),
        ("only the title", {"title": "Renamed"}),
    ],
)
def test_an_approved_booking_that_only_shrinks_or_is_retitled_stays_approved(
    what: str, kwargs: dict[str, object]
) -> None:
    booking = booking_in(APPROVED)
    assert change(booking, **kwargs)  # type: ignore[arg-type]

    assert booking.status is APPROVED
    assert booking.decided_by == ADMIN
    event = changed_event(booking)
    assert not event.needs_approval
    assert event.was_approved
    assert booking.sequence == 1


@pytest.mark.parametrize(
    ("what", "kwargs"),
    [
        ("moved later", {"starts_at": STARTS + HOUR, "ends_at": ENDS + HOUR}),
        ("extended", {"ends_at": ENDS + 30 * MINUTE}),
        ("started earlier", {"starts_at": STARTS - 30 * MINUTE}),
        ("another room", {"room": FOCUS}),
    ],
)
def test_an_approved_booking_that_moves_grows_or_changes_room_asks_for_approval_again(
    what: str, kwargs: dict[str, object]
) -> None:
    booking = booking_in(APPROVED)
    assert change(booking, **kwargs)  # type: ignore[arg-type]

    assert booking.status is PENDING
    assert (booking.decided_by, booking.decided_at) == (None, None)
    event = changed_event(booking)
    assert event.needs_approval and event.was_approved
    assert booking.invited  # the earlier invite is still out there


def test_a_change_the_rooms_policy_would_approve_as_a_request_stays_approved() -> None:
    booking = booking_in(APPROVED)
    decided = booking.decided_by, booking.decided_at
    assert booking.change(
        room=board_room(),
        starts_at=STARTS + HOUR,
        ends_at=ENDS + 2 * HOUR,
        title=booking.title,
        by=BOOKER,
        at=DECIDED,
        limits=BookingLimits(),
        policy="room",
    )

    assert booking.status is APPROVED and (booking.decided_by, booking.decided_at) == decided
    event = changed_event(booking)
    assert not event.needs_approval and event.was_approved


def test_a_change_records_the_booking_as_it_was_and_as_it_is() -> None:
    booking = booking_in(APPROVED)
    change(booking, room=FOCUS, starts_at=STARTS + HOUR, ends_at=ENDS + 2 * HOUR, title=" New  t ")

    event = changed_event(booking)
    assert (event.room_id, event.starts_at, event.ends_at, event.title) == (
        "201",
        STARTS + HOUR,
        ENDS + 2 * HOUR,
        "New t",
    )
    assert (event.was_room_id, event.was_starts_at, event.was_ends_at, event.was_title) == (
        "102",
        STARTS,
        ENDS,
        "Quarterly planning",
    )
    assert (event.booking_id, event.actor, event.at, event.sequence) == (7, BOOKER, DECIDED, 1)
    assert (booking.room_id, booking.starts_at, booking.ends_at) == (
        "201",
        STARTS + HOUR,
        ENDS + 2 * HOUR,
    )


def test_a_pending_request_that_moves_stays_pending() -> None:
    booking = booking_in(PENDING)
    change(booking, starts_at=STARTS + HOUR, ends_at=ENDS + HOUR)

    assert booking.status is PENDING
    event = changed_event(booking)
    assert not event.needs_approval and not event.was_approved


def test_a_change_to_the_same_values_is_a_no_op() -> None:
    booking = booking_in(APPROVED)
    assert not change(booking, title="  Quarterly   planning ")
    assert booking.events == []
    assert booking.sequence == 0


def test_every_change_raises_the_calendar_sequence_and_a_later_approval_raises_it_again() -> None:
    booking = booking_in(APPROVED)
    change(booking, ends_at=ENDS - 15 * MINUTE)
    change(booking, starts_at=STARTS + HOUR, ends_at=ENDS + HOUR)
    assert booking.sequence == 2
    booking.approve(ADMIN, DECIDED + MINUTE)
    assert booking.sequence == 3  # the new invite replaces the tentative one
    booking.cancel(BOOKER, DECIDED + 2 * MINUTE)
    assert booking.sequence == 4


def test_moving_the_start_makes_the_reminder_due_again() -> None:
    booking = booking_in(APPROVED)
    booking.reminded_at = DECIDED
    change(booking, ends_at=ENDS - 15 * MINUTE)
    assert booking.reminded_at == DECIDED
    change(booking, starts_at=STARTS + HOUR, ends_at=ENDS + HOUR)
    assert booking.reminded_at is None


def test_a_denial_after_a_change_withdraws_the_earlier_invite() -> None:
    booking = booking_in(APPROVED)
    change(booking, starts_at=STARTS + HOUR, ends_at=ENDS + HOUR)
    booking.events.clear()
    booking.deny(ADMIN, DECIDED + MINUTE)

    [event] = booking.events
    assert isinstance(event, events.BookingDenied) and event.was_approved


def test_a_cancel_after_a_change_back_to_pending_withdraws_the_earlier_invite() -> None:
    booking = booking_in(APPROVED)
    change(booking, starts_at=STARTS + HOUR, ends_at=ENDS + HOUR)
    booking.events.clear()
    booking.cancel(BOOKER, DECIDED + MINUTE)

    [event] = booking.events
    assert isinstance(event, events.BookingCancelled) and event.was_approved


# --- who may change, and what is refused ---------------------------------------------------------


def test_an_admin_may_change_someone_elses_booking() -> None:
    booking = booking_in(APPROVED)
    assert change(booking, title="Board", by=ADMIN, is_admin=True)
    assert changed_event(booking).actor == ADMIN


def test_someone_else_cannot_change_a_booking() -> None:
    booking = booking_in(APPROVED)
    with pytest.raises(NotAllowed, match="Only the person who booked it"):
        change(booking, title="Mine now", by=STRANGER)
    assert booking.events == [] and booking.title == "Quarterly planning"


@pytest.mark.parametrize(
    "status",
    [BookingStatus.DENIED, BookingStatus.CANCELLED, BookingStatus.EXPIRED, BookingStatus.RELEASED],
)
def test_a_closed_booking_cannot_be_changed(status: BookingStatus) -> None:
    booking = booking_in(status)
    with pytest.raises(InvalidTransition, match="can no longer be changed"):
        change(booking, title="Again", at=STARTS - HOUR)
    assert booking.events == []


def test_a_past_booking_cannot_be_changed() -> None:
    booking = booking_in(APPROVED)
    with pytest.raises(InvalidTransition, match="has ended"):
        change(booking, title="Later", at=ENDS)


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"ends_at": STARTS}, "end", "end must be after the start"),
        ({"starts_at": DECIDED - HOUR, "ends_at": DECIDED}, "start", "in the past"),
        ({"ends_at": STARTS + 9 * HOUR}, "end", "at most 8 hours"),
        (
            {"starts_at": STARTS + timedelta(days=91), "ends_at": ENDS + timedelta(days=91)},
            "date",
            "90 days",
        ),
        ({"title": "x" * 151}, "title", "limit is 150"),
    ],
)
def test_an_invalid_change_names_the_field_and_leaves_the_booking_as_it_was(
    kwargs: dict[str, object], field: str, message: str
) -> None:
    booking = booking_in(APPROVED)
    with pytest.raises(InvalidBooking, match=message) as refused:
        change(booking, **kwargs)  # type: ignore[arg-type]
    assert refused.value.field == field
    assert (booking.starts_at, booking.ends_at, booking.status) == (STARTS, ENDS, APPROVED)
    assert booking.events == [] and booking.sequence == 0


def test_moving_to_an_inactive_room_is_refused() -> None:
    booking = booking_in(APPROVED)
    with pytest.raises(RoomInactive):
        change(booking, room=Room("201", "Focus room", 2, active=False))
    assert booking.room_id == "102"


def test_a_booking_in_a_room_deactivated_since_can_still_be_retitled() -> None:
    booking = booking_in(APPROVED)
    assert change(booking, room=board_room(active=False), title="Farewell")


# --- a booking in progress ------------------------------------------------------------------------

DURING = STARTS + 20 * MINUTE


def test_an_approved_booking_in_progress_cannot_grow() -> None:
    """Growing asks for approval again, and a pending booking that has started expires: the
    meeting under way would lose its room. The extra time is a request of its own."""
    booking = booking_in(APPROVED)
    with pytest.raises(InvalidBooking, match="has started") as refused:
        change(booking, ends_at=ENDS + 30 * MINUTE, at=DURING)
    assert (refused.value.field, refused.value.code) == ("end", "started_grows")
    assert (booking.ends_at, booking.status, booking.events) == (ENDS, APPROVED, [])


def test_a_booking_in_progress_can_end_earlier_and_stays_approved() -> None:
    booking = booking_in(APPROVED)
    assert change(booking, ends_at=ENDS - 10 * MINUTE, title="Shorter", at=DURING)
    assert (booking.status, booking.starts_at) == (APPROVED, STARTS)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"starts_at": DURING + HOUR, "ends_at": ENDS + HOUR}, "start"), ({"room": FOCUS}, "room")],
)
def test_a_booking_in_progress_keeps_its_start_and_room(
    kwargs: dict[str, object], field: str
) -> None:
    booking = booking_in(APPROVED)
    with pytest.raises(InvalidBooking, match="has started") as refused:
        change(booking, at=DURING, **kwargs)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_a_booking_in_progress_cannot_end_in_the_past() -> None:
    booking = booking_in(APPROVED)
    with pytest.raises(InvalidBooking, match="end is in the past"):
        change(booking, ends_at=DURING - MINUTE, at=DURING)


def test_end_now_frees_the_rest_from_the_next_minute_and_stays_approved() -> None:
    booking = booking_in(APPROVED)
    booking.end_now(BOOKER, DURING + timedelta(seconds=10))

    assert booking.ends_at == DURING + MINUTE
    assert booking.status is APPROVED
    event = changed_event(booking)
    assert event.ended_early and not event.needs_approval
    assert (event.was_ends_at, event.ends_at) == (ENDS, DURING + MINUTE)


def test_end_now_on_the_minute_ends_then() -> None:
    booking = booking_in(APPROVED)
    booking.end_now(BOOKER, DURING)
    assert booking.ends_at == DURING


def test_end_now_in_the_first_minute_keeps_one_minute() -> None:
    booking = booking_in(APPROVED)
    booking.end_now(BOOKER, STARTS)
    assert booking.ends_at == STARTS + MINUTE


def test_end_now_in_the_last_minute_changes_nothing() -> None:
    booking = booking_in(APPROVED)
    booking.end_now(BOOKER, ENDS - timedelta(seconds=30))
    assert booking.ends_at == ENDS and booking.events == []


@pytest.mark.parametrize(
    ("status", "at", "error", "message"),
    [
        (APPROVED, STARTS - MINUTE, InvalidTransition, "has not started"),
        (APPROVED, ENDS, InvalidTransition, "has ended"),
        (PENDING, DURING, InvalidTransition, "not approved yet"),
        (BookingStatus.CANCELLED, DURING, InvalidTransition, "can no longer be changed"),
    ],
)
def test_end_now_is_refused_outside_an_approved_booking_in_progress(
    status: BookingStatus, at: datetime, error: type[Exception], message: str
) -> None:
    booking = booking_in(status)
    with pytest.raises(error, match=message):
        booking.end_now(BOOKER, at)
    assert booking.events == []


def test_someone_else_cannot_end_a_booking() -> None:
    booking = booking_in(APPROVED)
    with pytest.raises(NotAllowed):
        booking.end_now(STRANGER, DURING)


# --- check-in and release -------------------------------------------------------------------------


def test_check_in_is_open_from_before_the_start_until_the_window_closes() -> None:
    for at in (STARTS - 15 * MINUTE, STARTS, STARTS + WINDOW - timedelta(seconds=1)):
        booking = booking_in(APPROVED)
        booking.check_in(BOOKER, at, window=WINDOW)
        assert booking.checked_in_at == at
        [event] = booking.events
        assert isinstance(event, events.BookingCheckedIn)


@pytest.mark.parametrize("at", [STARTS - 16 * MINUTE, STARTS + WINDOW])
def test_check_in_outside_the_window_is_refused(at: datetime) -> None:
    booking = booking_in(APPROVED)
    with pytest.raises(InvalidTransition, match="Check-in for booking 7 is open"):
        booking.check_in(BOOKER, at, window=WINDOW)
    assert booking.checked_in_at is None and booking.events == []


def test_checking_in_twice_records_one_event() -> None:
    booking = booking_in(APPROVED)
    booking.check_in(BOOKER, STARTS, window=WINDOW)
    booking.check_in(BOOKER, STARTS + MINUTE, window=WINDOW)
    assert booking.checked_in_at == STARTS and len(booking.events) == 1


def test_a_pending_booking_cannot_check_in() -> None:
    with pytest.raises(InvalidTransition, match="only an approved booking checks in"):
        booking_in(PENDING).check_in(BOOKER, STARTS, window=WINDOW)


def test_someone_else_cannot_check_in() -> None:
    with pytest.raises(NotAllowed):
        booking_in(APPROVED).check_in(STRANGER, STARTS, window=WINDOW)


def test_the_scheduler_releases_a_booking_nobody_checked_into() -> None:
    booking = booking_in(APPROVED)
    booking.release("system", STARTS + WINDOW, window=WINDOW)

    assert booking.status is BookingStatus.RELEASED and not booking.holds_slot
    [event] = booking.events
    assert isinstance(event, events.BookingReleased) and event.automatic
    assert booking.sequence == 1  # the withdrawal outranks the invite


def test_the_scheduler_does_not_release_while_the_window_is_open() -> None:
    booking = booking_in(APPROVED)
    with pytest.raises(InvalidTransition, match="still open"):
        booking.release("system", STARTS + WINDOW - MINUTE, window=WINDOW)


def test_a_checked_in_booking_is_not_released() -> None:
    booking = booking_in(APPROVED)
    booking.check_in(BOOKER, STARTS, window=WINDOW)
    booking.events.clear()
    with pytest.raises(InvalidTransition, match="checked in"):
        booking.release("system", STARTS + WINDOW, window=WINDOW)
    assert booking.status is APPROVED


def test_the_booker_may_release_before_the_start() -> None:
    booking = booking_in(APPROVED)
    booking.release(BOOKER, DECIDED)
    [event] = booking.events
    assert isinstance(event, events.BookingReleased) and not event.automatic


@pytest.mark.parametrize("status", [PENDING, BookingStatus.CANCELLED, BookingStatus.DENIED])
def test_only_an_approved_booking_is_released(status: BookingStatus) -> None:
    with pytest.raises(InvalidTransition, match="only an approved booking is released"):
        booking_in(status).release("system", STARTS + WINDOW, window=WINDOW)


def test_an_ended_booking_is_not_released() -> None:
    with pytest.raises(InvalidTransition, match="has ended"):
        booking_in(APPROVED).release("system", ENDS, window=WINDOW)


def test_someone_else_cannot_release_a_booking() -> None:
    with pytest.raises(NotAllowed):
        booking_in(APPROVED).release(STRANGER, DECIDED)


# --- waitlist entries -----------------------------------------------------------------------------

OFFER_FOR = timedelta(minutes=15)


def waiting_entry() -> WaitlistEntry:
    entry = WaitlistEntry("102", STARTS, ENDS, STRANGER, "Retro", DECIDED)
    entry.id = 3
    return entry


def test_a_waiting_entry_is_offered_once_and_records_the_offer() -> None:
    entry = waiting_entry()
    entry.offer(freed_by=7, at=DECIDED, lasts=OFFER_FOR)
    assert entry.status is WaitlistStatus.OFFERED
    assert entry.offer_expires_at == DECIDED + OFFER_FOR
    [event] = entry.events
    assert isinstance(event, events.WaitlistOffered)
    assert (event.booking_id, event.entry_id, event.user) == (7, 3, STRANGER)
    with pytest.raises(InvalidTransition):
        entry.offer(freed_by=8, at=DECIDED, lasts=OFFER_FOR)


def test_an_offer_is_claimed_by_its_person_while_open() -> None:
    entry = waiting_entry()
    with pytest.raises(InvalidTransition, match="no longer open"):
        entry.claim(STRANGER, DECIDED)  # nothing offered yet
    entry.offer(freed_by=7, at=DECIDED, lasts=OFFER_FOR)
    with pytest.raises(NotAllowed):
        entry.claim(BOOKER, DECIDED)
    with pytest.raises(InvalidTransition, match="lapsed"):
        entry.claim(STRANGER, DECIDED + OFFER_FOR)
    entry.claim(STRANGER, DECIDED + OFFER_FOR - MINUTE)
    assert entry.status is WaitlistStatus.BOOKED
    with pytest.raises(InvalidTransition, match="already"):
        entry.claim(STRANGER, DECIDED + MINUTE)


def test_an_offer_lapses_only_once_its_time_is_up() -> None:
    entry = waiting_entry()
    with pytest.raises(InvalidTransition, match="no open offer"):
        entry.lapse(DECIDED)
    entry.offer(freed_by=7, at=DECIDED, lasts=OFFER_FOR)
    entry.events.clear()
    with pytest.raises(InvalidTransition, match="still open"):
        entry.lapse(DECIDED + OFFER_FOR - MINUTE)
    entry.lapse(DECIDED + OFFER_FOR)
    assert entry.status is WaitlistStatus.LAPSED
    [event] = entry.events
    assert isinstance(event, events.WaitlistLapsed) and event.entry_id == 3
